"""What every audited service holds: the backends it acts on, the identity it acts for, and the
audit log it writes what it did to."""

from __future__ import annotations

from app.services.access import Identity
from app.services.audit import AuditService
from app.wiring.backends import Backends


class AuditedService:
    """A set of actions on behalf of one identity; each checks ``authorize`` itself."""

    def __init__(self, backends: Backends, identity: Identity, audit: AuditService):
        self.backends = backends
        self.identity = identity
        self.audit = audit
