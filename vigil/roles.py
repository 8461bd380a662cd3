"""Who may do what: four roles, each allowed everything the one before it may.

viewer reads everything but settings; operator also acknowledges, resolves and silences;
editor also changes rules and the knowledge base and refits models; admin also sees and
tests settings and manages users and wall tokens. The check lives here and is called by
the services that change things (``vigil.guarded``), so a page that forgot to hide a
button still cannot make the change.
"""

from __future__ import annotations

from dataclasses import dataclass

from vigil.errors import PermissionDenied

ROLES = ("viewer", "operator", "editor", "admin")
WALL = "wall"  # a TV holding a wall token: the wall's views and nothing else

# action -> the least role that may do it
ACTIONS: dict[str, str] = {
    "settings.view": "admin",
    "settings.test": "admin",
    "users.manage": "admin",
    "tokens.manage": "admin",
    "audit.view": "admin",
    "alerts.acknowledge": "operator",
    "alerts.resolve": "operator",
    "alerts.note": "operator",
    "silences.add": "operator",
    "silences.expire": "operator",
    "notifications.requeue": "operator",
    "rules.edit": "editor",
    "rules.enable": "editor",
    "rules.rollback": "editor",
    "rules.import": "editor",
    "rules.install_pack": "editor",
    "knowledge.upload": "editor",
    "knowledge.delete": "editor",
    "knowledge.reindex": "editor",
    "models.refit": "editor",
}


@dataclass(frozen=True)
class Principal:
    """Who is asking: a signed-in user with a role, or a wall token (role ``wall``)."""

    name: str
    role: str

    def may(self, action: str) -> bool:
        if action not in ACTIONS:
            raise ValueError(f"unknown action {action!r}")
        if self.role not in ROLES:
            return False
        return ROLES.index(self.role) >= ROLES.index(ACTIONS[action])


def require(principal: Principal | None, action: str) -> Principal:
    """``principal`` when it may do ``action``; PermissionDenied naming the role needed."""
    if principal is None:
        raise PermissionDenied("sign in first")
    if not principal.may(action):
        need = ACTIONS[action]
        raise PermissionDenied(f"{principal.name} is {principal.role}; {action} needs "
                               f"{need} or above")  # fmt: skip
    return principal


def check_role(role: str) -> str:
    role = role.strip().lower()
    if role not in ROLES:
        raise PermissionDenied(f"unknown role {role!r}; use one of {', '.join(ROLES)}")
    return role
