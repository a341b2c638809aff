"""Who the command line acts for.

``RAGBOT_AUTH=none`` (one user on a laptop): the user and role of settings, ``RAGBOT_USER`` and
``RAGBOT_ROLE`` (default: the login name, admin), as before.

With sign-in on (``oidc``, ``proxy``) the environment is the caller's to choose, so nothing in it
names the command line's user: it acts as the operating-system account that runs it, read from
the kernel (the effective uid; not ``LOGNAME``/``USER``), with the role the roles file gives that
account under the key ``"os:LOGIN"`` (``"os:ragbot-ops" = "admin"``); the server's owner decides
who that is. An account the roles file does not name gets ``RAGBOT_UNKNOWN_USERS`` (engineer, or
refused): never admin by default. ``RAGBOT_USER``/``RAGBOT_ROLE`` set while sign-in is on are
refused with a message rather than quietly ignored, so a script that relied on them learns why.
The identity's ``how`` ("os-account") goes into every audit event.
"""

from __future__ import annotations

import os

from app.auth.identify import SignInRefused
from app.auth.roles import OS_ACCOUNT_PREFIX, read_roles_file
from app.services.access import Identity


def os_login() -> str:
    """The login name of the effective uid, from the password database (``uidN`` when it has none)."""
    import pwd

    uid = os.geteuid()
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid{uid}"


def cli_identity(settings, login: str | None = None) -> Identity:
    """The identity the command line acts as (see the module docstring).

    Args:
        settings: the ``Settings``.
        login: the OS account (default: ``os_login()``); tests pass one.

    Raises:
        SignInRefused: sign-in is on and RAGBOT_USER/RAGBOT_ROLE are set, or the account has no
            role and unknown users are refused.
        RolesFileError: the roles file cannot be read.
    """
    if settings.auth == "none":
        return Identity(user=settings.user, role=settings.role, how="settings")
    declared = [f"RAGBOT_{name.upper()}" for name in ("user", "role") if name in settings.model_fields_set]
    account = OS_ACCOUNT_PREFIX + (login or os_login()).lower()
    where = str(settings.roles_file) if settings.roles_file else "a roles file (RAGBOT_ROLES_FILE)"
    if declared:
        raise SignInRefused(
            f"with sign-in on (RAGBOT_AUTH={settings.auth}) the command line acts as the account that runs it "
            f"({account}), with the role {where} gives it; {' and '.join(declared)} (anyone may set "
            "them) are not believed: unset them"
        )
    roles = read_roles_file(settings.roles_file) if settings.roles_file else {}
    role = roles.get(account)
    if role is None:
        if settings.unknown_users == "refuse":
            raise SignInRefused(
                f"{account} has no ragbot role: the server's owner may add a line "
                f'"{account}" = "engineer" (or "sme", "admin") to {where}'
            )
        role = "engineer"
    return Identity(user=account, role=role, how="os-account")
