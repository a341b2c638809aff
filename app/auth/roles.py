"""Roles of signed-in people: from a roles file keyed by e-mail, else from their groups."""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from app.services.access import ROLES, Role

_RANK = {role: i for i, role in enumerate(ROLES)}

OS_ACCOUNT_PREFIX = "os:"
"""Roles-file keys for the operating-system accounts the command line runs as (``app.auth.cli``)."""


class RolesFileError(ValueError):
    """The roles file cannot be read or names a role that does not exist."""


def read_roles_file(path: Path) -> dict[str, Role]:
    """``e-mail = "role"`` lines of a TOML file, keys lower-cased; ``"os:LOGIN" = "role"`` names the
    account the command line runs as (``app.auth.cli``). Raises RolesFileError."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise RolesFileError(f"the roles file {path} cannot be read: {e}") from e
    roles: dict[str, Role] = {}
    for email, role in data.items():
        if role not in ROLES:
            raise RolesFileError(f'{path}: {email} = "{role}" is not a role; use one of {", ".join(ROLES)}')
        roles[email.strip().lower()] = role
    return roles


@dataclass(frozen=True)
class RolePolicy:
    """How a signed-in person gets a role.

    ``by_email`` (the roles file) wins; else the highest role any of their groups maps to in
    ``by_group``; else ``unknown`` ("refuse" keeps them out).
    """

    by_group: Mapping[str, Role] = field(default_factory=dict)
    by_email: Mapping[str, Role] = field(default_factory=dict)
    unknown: Role | str = "engineer"

    def role_for(self, email: str | None, groups: Iterable[str] = ()) -> Role | None:
        """The role, or None when the person is to be refused."""
        # "os:" keys are command-line accounts, never something a sign-in's e-mail may match.
        if email and not email.strip().lower().startswith(OS_ACCOUNT_PREFIX) and email.strip().lower() in self.by_email:
            return self.by_email[email.strip().lower()]
        mapped = [self.by_group[g] for g in groups if g in self.by_group]
        if mapped:
            return max(mapped, key=_RANK.__getitem__)
        return self.unknown if self.unknown in ROLES else None
