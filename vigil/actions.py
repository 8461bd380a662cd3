"""Every change the app can make, done as the signed-in user: the role is checked first
(:func:`vigil.roles.require`), then the change is made and recorded under their name.

Pages call these and nothing below them, so hiding a button is a courtesy, not the
protection: a viewer's session that reaches ``Actions.save_rule`` is refused here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from vigil import alert_actions, incident_notes, notification_log, rule_versions, rules_store
from vigil.knowledge_actions import delete_document, upload_document
from vigil.roles import Principal, require
from vigil.silences_store import SilenceApi

if TYPE_CHECKING:
    from vigil.engine import Engine


class Actions:
    """The changes ``principal`` may try; each raises PermissionDenied when not allowed."""

    def __init__(self, engine: Engine, principal: Principal | None) -> None:
        self._engine = engine
        self.principal = principal

    def _as(self, action: str) -> str:
        return require(self.principal, action).name

    @property
    def _store(self) -> Any:
        return self._engine.store

    # alerts and silences
    def acknowledge(self, alert_id: str, comment: str = "") -> None:
        who = self._as("alerts.acknowledge")
        alert_actions.acknowledge_alert(self._store, alert_id, who, comment)

    def resolve(self, alert_id: str, comment: str = "") -> None:
        who = self._as("alerts.resolve")
        alert_actions.resolve_alert(self._store, alert_id, who, comment)

    def note(self, alert_id: str, cause: str, fix: str) -> str:
        who = self._as("alerts.note")
        return incident_notes.record_incident(self._store, alert_id, who, cause, fix)

    def silence(self, request: Mapping[str, Any]) -> dict[str, Any]:
        who = self._as("silences.add")
        return SilenceApi(self._store).add({**request, "created_by": who})

    def expire_silence(self, silence_id: str) -> dict[str, Any]:
        who = self._as("silences.expire")
        return SilenceApi(self._store).expire(silence_id, who)

    def requeue(self, notification_id: str) -> dict[str, Any]:
        who = self._as("notifications.requeue")
        return notification_log.requeue(self._store, notification_id, who)

    # rules
    def save_rule(self, text: str, group: str, editing: str | None) -> rule_versions.Saved:
        who = self._as("rules.edit")
        return rule_versions.save_rule(self._store, text, who, group=group, editing=editing)

    def set_enabled(self, enabled: bool, *, names: Sequence[str] = (),
                    group: str | None = None) -> list[str]:  # fmt: skip
        who = self._as("rules.enable")
        return rule_versions.set_enabled(self._store, enabled, who, names=list(names),
                                         group=group)  # fmt: skip

    def rollback_rule(self, name: str, version: int) -> rule_versions.Saved:
        who = self._as("rules.rollback")
        return rule_versions.rollback_rule(self._store, name, version, who)

    def import_rules(self, text: str) -> rules_store.ImportSummary:
        who = self._as("rules.import")
        return rules_store.import_rules(self._store, text, who)

    def install_pack(self, name: str) -> rules_store.ImportSummary:
        who = self._as("rules.install_pack")
        return rules_store.install_pack(self._store, name, who)

    # knowledge and models
    def upload(self, name: str, data: bytes) -> Any:
        who = self._as("knowledge.upload")
        return upload_document(self._engine.knowledge, self._store, who, name, data)

    def delete_document(self, source: str) -> int:
        who = self._as("knowledge.delete")
        return delete_document(self._engine.knowledge, self._store, who, source)

    def reindex(self, progress: Callable[[int, int], None] | None = None) -> Any:
        self._as("knowledge.reindex")
        return self._engine.knowledge.reindex(progress=progress)

    def refit(self, progress: Callable[[int, int], None] | None = None) -> Any:
        self._as("models.refit")
        return self._engine.refit_now(progress)
