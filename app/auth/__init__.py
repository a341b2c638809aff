"""Sign-in: who is using a browser session, and with which role.

``RAGBOT_AUTH=none`` is the single-user laptop (the identity comes from settings); ``oidc`` signs
people in with Streamlit's ``st.login`` against any OpenID Connect provider; ``proxy`` trusts a
reverse proxy that has already authenticated them (an AWS ALB, whose signed header is verified,
or oauth2-proxy and the like). Roles come from the roles file, else the groups claim mapped by
``RAGBOT_ROLE_MAP``, else ``RAGBOT_UNKNOWN_USERS``. What each role may do is decided in
``app.services.access``, never here.
"""

from app.auth.identify import NotSignedIn, SignInRefused, identify_proxy, identity_from_claims
from app.auth.roles import RolePolicy

__all__ = ["NotSignedIn", "RolePolicy", "SignInRefused", "identify_proxy", "identity_from_claims"]
