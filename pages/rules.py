"""Rules: every rule with its health, editing with a backtest before saving, versions and
rollback, rule files in and out, and the shipped packs. ``?rule=NAME`` opens a rule in
the editor.

The backtest runs the draft exactly as evaluation would (``jobs.backtest``) over the
stored history and draws where it fires, so an edit is judged before it is saved.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from analytics.rules import RuleValidationError
from jobs.backtest import backtest_draft
from vigil.actions import Actions
from vigil.clock import utc_now
from vigil.engine import get_engine
from vigil.errors import VigilError
from vigil.i18n import LANG_STATE_KEY, t
from vigil.page_shell import ensure_shell
from vigil.rule_charts import backtest_chart, firings_per_day_chart
from vigil.rule_form import FIELDS, SEVERITIES, field_errors, form_values, form_yaml
from vigil.rule_versions import (
    list_rules,
    rule_history,
    rule_text,
)
from vigil.rules_store import export_rules, packs
from vigil.session import current_principal

ensure_shell("rules")
engine = get_engine()
store = engine.store
lang: str = st.session_state.get(LANG_STATE_KEY, engine.settings.language)
actions = Actions(engine, current_principal())
NEW = "__new__"
COLUMNS = ("group", "name", "kind", "enabled", "version", "updated_by", "health")
DRAFT = "alert: NewRule\nexpr: up == 0\nfor: 5m\nlabels:\n  severity: warning\n"


def _health(rule: dict) -> str:
    if rule["last_eval_at"] is None:
        return t("rules.health.never", lang)
    return rule["last_error"] or t("rules.health.ok", lang)


def _overview(rules: list[dict]) -> None:
    frame = pd.DataFrame(rules, columns=[*COLUMNS[:-1], "last_eval_at", "last_error"])
    frame["health"] = [_health(r) for r in rules]
    failing = sum(bool(r["last_error"]) for r in rules)
    st.caption(t("rules.summary", lang, rules=len(rules), groups=frame["group"].nunique(),
                 enabled=int(frame["enabled"].sum()), failing=failing))  # fmt: skip
    named = {c: t(f"rules.col.{'by' if c == 'updated_by' else c}", lang) for c in COLUMNS}
    st.dataframe(frame[list(COLUMNS)].rename(columns=named), hide_index=True, key="rules_list")
    groups = sorted(frame["group"].unique())
    if not groups:
        return
    left, on, off = st.columns([3, 1, 1], vertical_alignment="bottom")
    group = left.selectbox(t("rules.group_actions", lang), groups, key="rules_group")
    for column, enabled, label in ((on, True, "rules.enable_group"),
                                   (off, False, "rules.disable_group")):  # fmt: skip
        if column.button(t(label, lang), key=f"rules_switch_{enabled}"):
            try:
                changed = actions.set_enabled(enabled, group=group)
            except VigilError as err:
                st.error(t("rules.invalid", lang, error=err))
            else:
                st.success(t("rules.switched", lang, count=len(changed),
                             names=", ".join(changed)))  # fmt: skip


def _preview(text: str, group: str, days: int) -> None:
    try:
        interval = engine.settings.evaluate_interval_seconds
        _, result = backtest_draft(store, text, group, days, interval, utc_now())
    except (RuleValidationError, ValueError) as err:
        st.error(t("rules.invalid", lang, error=err))
        return
    if result.fired.empty:
        st.info(t("rules.preview_none", lang, days=days, matched=result.series))
        return
    st.info(t("rules.preview_result", lang, days=days, episodes=len(result.fired),
              series=len(result.per_series), matched=result.series,
              evaluations=result.evaluations))  # fmt: skip
    st.plotly_chart(backtest_chart(result.curves, result.fired, lang, result.threshold),
                    key="rules_preview_chart")  # fmt: skip
    st.plotly_chart(firings_per_day_chart(result.per_day, lang), key="rules_per_day_chart")


def _save(text: str, group: str, editing: str | None) -> None:
    try:
        saved = actions.save_rule(text, group, editing)
    except (RuleValidationError, VigilError) as err:
        st.error(t("rules.invalid", lang, error=err))
        return
    key = "rules.saved" if saved.changed else "rules.unchanged"
    st.success(t(key, lang, name=saved.name, version=saved.version))


def _history(name: str) -> None:
    with st.expander(t("rules.history", lang)):
        for version in rule_history(store, name):
            st.markdown(t("rules.version_line", lang, version=version["version"],
                          time=version["created_at"], author=version["author"]))  # fmt: skip
            if version["diff"]:
                st.code(version["diff"], language="diff")
            if st.button(t("rules.rollback", lang), key=f"rules_rollback_{version['version']}"):
                try:
                    back = actions.rollback_rule(name, version["version"])
                    st.success(t("rules.rolled_back", lang, name=name, version=back.version,
                                 old=version["version"]))  # fmt: skip
                except VigilError as err:
                    st.error(t("rules.invalid", lang, error=err))


def _draft(picked: str, stored: str, group: str) -> str:
    """The rule's text as edited, in the form or as YAML; switching carries the draft over."""
    mode = st.segmented_control(t("rules.edit_as", lang), ("yaml", "form"), default="yaml",
                                format_func=lambda m: t(f"rules.mode.{m}", lang),
                                key="rules_mode") or "yaml"  # fmt: skip
    draft_key, yaml_key = f"rules_draft_{picked}", f"rules_yaml_{picked}"
    draft = st.session_state.get(draft_key, stored)
    switched = st.session_state.get("rules_mode_shown") != (mode, picked)
    st.session_state["rules_mode_shown"] = (mode, picked)
    if mode == "yaml":
        if switched:
            st.session_state[yaml_key] = draft
        text = st.text_area(t("rules.yaml", lang), height=260, key=yaml_key)
    else:
        text = _form(picked, draft, group, switched)
    st.session_state[draft_key] = text
    return text


def _form(picked: str, draft: str, group: str, switched: bool) -> str:
    """The common fields as inputs, each with its own validation message under it."""
    keys = {field: f"rules_form_{field}_{picked}" for field in FIELDS}
    if switched:
        for field, value in form_values(draft).items():
            st.session_state[keys[field]] = value
    slots = {}
    for field in FIELDS:
        label = t(f"rules.field.{field}", lang)
        if field == "severity":
            options = list(SEVERITIES)
            if st.session_state.get(keys[field]) not in options:
                st.session_state[keys[field]] = "warning"
            st.selectbox(label, options, key=keys[field])
        elif field == "expr":
            st.text_area(label, key=keys[field], height=90)
        else:
            st.text_input(label, key=keys[field])
        slots[field] = st.empty()
    text = form_yaml(draft, {f: st.session_state[k] for f, k in keys.items()})
    errors = field_errors(text, group)
    for field, message in errors.items():
        (slots.get(field) or st).error(message)
    with st.expander(t("rules.form_yaml", lang)):
        st.code(text, language="yaml")
    return text


def _editor(rules: list[dict]) -> None:
    names = [NEW] + [r["name"] for r in rules]
    label = t("rules.new", lang)
    linked = st.query_params.get("rule")  # ?rule=NAME opens that rule in the editor
    picked = st.selectbox(t("rules.pick", lang), names, key="rules_pick",
                          index=names.index(linked) if linked in names else 0,
                          format_func=lambda n: label if n == NEW else n)  # fmt: skip
    group, text = ("vigil", DRAFT) if picked == NEW else rule_text(store, picked)
    group = st.text_input(t("rules.group", lang), group, key=f"rules_group_{picked}")
    text = _draft(picked, text, group)
    days = st.select_slider(t("rules.days", lang), [1, 3, 7, 14], value=7, key="rules_days")
    preview, save = st.columns(2)
    if preview.button(t("rules.preview", lang), key="rules_preview", type="primary"):
        _preview(text, group, days)
    if save.button(t("rules.save", lang), key="rules_save"):
        _save(text, group, None if picked == NEW else picked)
    if picked != NEW:
        _history(picked)


def _files() -> None:
    upload = st.file_uploader(t("rules.import", lang), type=["yml", "yaml"], key="rules_upload")
    if upload is not None and st.button(t("rules.import", lang), key="rules_import"):
        try:
            done = actions.import_rules(upload.getvalue().decode("utf-8"))
        except (RuleValidationError, UnicodeDecodeError, VigilError) as err:
            st.error(t("rules.invalid", lang, error=err))
        else:
            st.success(t("rules.imported", lang, added=len(done.added), skipped=len(done.skipped),
                         updated=len(done.updated), unchanged=len(done.unchanged)))  # fmt: skip
            for s in done.skipped:
                st.warning(t("rules.not_imported", lang, name=s.name, line=s.line, reason=s.reason))
    try:
        exported = export_rules(store)
    except RuleValidationError as err:  # a stored rule that no longer loads
        st.error(t("rules.invalid", lang, error=err))
    else:
        st.download_button(t("rules.export", lang), exported, "vigil.rules.yml",
                           key="rules_export")  # fmt: skip
    pack = st.selectbox(t("rules.packs", lang), packs(), key="rules_pack")
    if st.button(t("rules.install", lang), key="rules_install"):
        try:
            done = actions.install_pack(pack)
            st.success(t("rules.imported", lang, added=len(done.added), skipped=0,
                         updated=len(done.updated), unchanged=len(done.unchanged)))  # fmt: skip
        except VigilError as err:
            st.error(t("rules.invalid", lang, error=err))


st.title(t("rules.title", lang))
overview, edit, files = st.tabs([t(k, lang) for k in ("nav.rules", "rules.edit", "rules.files")])
with overview:
    _overview(list_rules(store))
with edit:
    _editor(list_rules(store))
with files:
    _files()
