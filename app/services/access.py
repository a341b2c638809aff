"""Who may do what: the one place roles are checked.

Pages and CLI commands never compare roles themselves; every service function that does
something only some roles may do calls ``authorize(identity, action)`` first, so hiding a
button is a convenience and never the protection.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field

Role = Literal["engineer", "sme", "admin"]
ROLES: tuple[Role, ...] = ("engineer", "sme", "admin")


class Action(StrEnum):
    """Everything the product lets someone do that not everyone may do."""

    ASK = "ask questions"
    RATE = "rate answers"  # one's own
    SEE_OWN = "see their own conversations and feedback"
    SEE_ALL = "see everyone's answers"
    REVIEW = "review answers"
    JUDGE = "score answers with the AI judge"
    SEE_DASHBOARD = "see the feedback dashboard"
    INGEST = "ingest documents"
    EXPORT = "export feedback"
    IMPORT = "import feedback"
    MANAGE_STORE = "manage the feedback store"  # flush the outbox, create the table
    SEE_AUDIT = "see the audit log"
    TRAIN = "build training data"
    SERVE_MODEL = "change the served model"  # promote or roll back a trained model


_ENGINEER = {Action.ASK, Action.RATE, Action.SEE_OWN}
_SME = _ENGINEER | {Action.SEE_ALL, Action.REVIEW, Action.JUDGE}
PERMISSIONS: dict[Role, frozenset[Action]] = {
    "engineer": frozenset(_ENGINEER),
    "sme": frozenset(_SME),
    "admin": frozenset(Action),
}


class Forbidden(Exception):
    """The signed-in user's role does not allow the action. The message names both."""

    def __init__(self, identity: Identity, action: Action, detail: str | None = None):
        needs = " or ".join(r for r in ROLES if action in PERMISSIONS[r])
        message = f"{identity.user} has the {identity.role} role; only the {needs} role may {action}"
        super().__init__(f"{message} ({detail})" if detail else message)
        self.identity = identity
        self.action = action


class Identity(BaseModel, frozen=True):
    """The person behind a request: a stable user id (e-mail or login) and a role."""

    user: str = Field(min_length=1, max_length=320)
    role: Role
    name: str | None = None
    how: str = Field(
        default="settings",
        description="How they were identified: settings (RAGBOT_AUTH=none), oidc, proxy, or os-account "
        "(the command line with sign-in on: the OS account and the roles file, app.auth.cli).",
    )

    def may(self, action: Action) -> bool:
        return action in PERMISSIONS[self.role]


def authorize(identity: Identity, action: Action) -> None:
    """Return if ``identity`` may do ``action``; raise ``Forbidden`` otherwise."""
    if not identity.may(action):
        raise Forbidden(identity, action)
