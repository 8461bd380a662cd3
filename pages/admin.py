"""Admin: users and their roles, wall tokens for TVs, and the audit log (filter, chart,
export). Every change here goes through :mod:`vigil.auth` as the signed-in admin."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from vigil import auth
from vigil.audit_log import audit_chart, audit_entries
from vigil.clock import utc_now
from vigil.engine import get_engine
from vigil.errors import PermissionDenied, VigilError
from vigil.i18n import LANG_STATE_KEY, t
from vigil.page_shell import ensure_shell
from vigil.roles import ROLES, require
from vigil.session import current_principal

ensure_shell("admin")
engine = get_engine()
store = engine.store
lang: str = st.session_state.get(LANG_STATE_KEY, engine.settings.language)
SPANS = {"24h": pd.Timedelta(hours=24), "7d": pd.Timedelta(days=7),
         "30d": pd.Timedelta(days=30), "all": None}  # fmt: skip


def _done(action: object) -> None:
    try:
        action()
    except VigilError as exc:
        st.error(str(exc))
    else:
        st.success(t("admin.done", lang))


def _users(admin: str) -> None:
    st.subheader(t("admin.users", lang))
    users = auth.list_users(store)
    if users:
        st.dataframe(pd.DataFrame(users), hide_index=True)
    with st.form("admin_add_user", clear_on_submit=True):
        name = st.text_input(t("admin.user", lang), key="admin_new_user")
        role = st.selectbox(t("admin.role", lang), ROLES, key="admin_new_role")
        password = st.text_input(t("admin.password", lang), type="password", key="admin_new_pw")
        if st.form_submit_button(t("admin.add_user", lang)):
            _done(lambda: auth.add_user(store, name, password, role, admin))
    names = [u["username"] for u in users]
    if not names:
        return
    with st.form("admin_change_user"):
        who = st.selectbox(t("admin.user", lang), names, key="admin_pick_user")
        role = st.selectbox(t("admin.role", lang), ("—", *ROLES), key="admin_pick_role")
        password = st.text_input(t("admin.new_password", lang), type="password",
                                 key="admin_pick_pw")  # fmt: skip
        state = st.selectbox(t("admin.state", lang), ("—", "enable", "disable"),
                             format_func=lambda s: t(f"admin.state.{s}", lang),
                             key="admin_pick_state")  # fmt: skip
        if st.form_submit_button(t("admin.change_user", lang)):
            _done(lambda: auth.change_user(
                store, who, admin, role=None if role == "—" else role,
                password=password or None,
                disabled=None if state == "—" else state == "disable"))  # fmt: skip


def _tokens(admin: str) -> None:
    st.subheader(t("admin.tokens", lang))
    tokens = auth.list_wall_tokens(store)
    if tokens:
        st.dataframe(pd.DataFrame(tokens), hide_index=True)
    label = st.text_input(t("admin.token_label", lang), key="admin_token_label")
    if st.button(t("admin.issue_token", lang), key="admin_issue"):
        try:
            token_id, token = auth.issue_wall_token(store, label, admin)
        except VigilError as exc:
            st.error(str(exc))
        else:  # shown this once: only its hash is kept
            st.success(t("admin.token_issued", lang, id=token_id))
            st.code(f"{engine.settings.external_url or ''}/wall?kiosk=1&token={token}")
    active = [r["token_id"] for r in tokens if r["revoked_at"] is None or pd.isna(r["revoked_at"])]
    if active:
        doomed = st.selectbox(t("admin.revoke_pick", lang), active, index=None,
                              key="admin_revoke_pick")  # fmt: skip
        if doomed and st.button(t("admin.revoke", lang), key="admin_revoke"):
            _done(lambda: auth.revoke_wall_token(store, doomed, admin))


def _audit() -> None:
    st.subheader(t("admin.audit", lang))
    left, mid, right, far = st.columns(4)
    span = left.selectbox(t("admin.span", lang), list(SPANS), index=1, key="audit_span",
                          format_func=lambda k: t(f"search.range.{k}", lang))  # fmt: skip
    actor = mid.text_input(t("admin.actor", lang), key="audit_actor")
    action = right.text_input(t("admin.action", lang), key="audit_action",
                              placeholder="rule. / login / silence.")  # fmt: skip
    text = far.text_input(t("admin.text", lang), key="audit_text")
    start = None if SPANS[span] is None else utc_now() - SPANS[span]
    entries = audit_entries(store, start, actor, action, text)
    st.plotly_chart(audit_chart(entries, lang), key="audit_chart")
    st.dataframe(entries, hide_index=True)
    st.download_button(t("admin.export", lang), entries.to_csv(index=False).encode(),
                       file_name="vigil-audit.csv", mime="text/csv")  # fmt: skip


def main() -> None:
    st.title(t("nav.admin", lang))
    try:
        admin = require(current_principal(), "users.manage").name
    except PermissionDenied as exc:
        st.error(str(exc))
        return
    _users(admin)
    _tokens(admin)
    _audit()


main()
