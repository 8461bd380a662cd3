"""Vigil's web UI: starts the process's engine, picks the language and routes to the pages.

``?lang=zh`` chooses the language (the sidebar selector changes it later);
``?kiosk=1`` is for a wall TV: no sidebar, header, toolbar or footer, and no navigation.

Pages live in ``pages/``, which Streamlit also knows as its legacy multipage folder: until
this script has called ``st.navigation`` once in a process, a deep link such as
``/explore`` runs the page on its own. Pages then bounce here (see ``SHELL_KEY``) and this
script forwards to the page that was asked for.
"""

from __future__ import annotations

import streamlit as st

from vigil.engine import get_engine
from vigil.errors import VigilError
from vigil.i18n import LANG_STATE_KEY, LANGUAGE_NAMES, LANGUAGES, normalise_language, t
from vigil.page_shell import SHELL_KEY, WANTED_PAGE_KEY, restore_query
from vigil.roles import WALL, Principal
from vigil.session import login_form, logout_button, resolve_principal, write_pending_cookie

KIOSK_CSS = """
<style>
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"],
[data-testid="stHeader"], [data-testid="stToolbar"], [data-testid="stDecoration"],
[data-testid="stStatusWidget"], #MainMenu, footer { display: none !important; }
[data-testid="stMainBlockContainer"], .block-container {
    padding-top: 1rem !important; padding-bottom: 0.5rem !important; max-width: 100% !important;
}
</style>
"""


def _init_language(default: str) -> str:
    """The query parameter wins on first load; later the session keeps the user's choice."""
    wanted = st.query_params.get("lang")
    if LANG_STATE_KEY not in st.session_state or (
        wanted and normalise_language(wanted, "") != st.session_state.get("_lang_param")
    ):
        st.session_state[LANG_STATE_KEY] = normalise_language(wanted, default)
        st.session_state["_lang_param"] = normalise_language(wanted, "")
    return st.session_state[LANG_STATE_KEY]


def _remember_language() -> None:
    """Keep the choice in the URL too, so a reload or a bookmark stays in that language."""
    chosen = st.session_state["_lang_select"]
    st.session_state[LANG_STATE_KEY] = chosen
    st.session_state["_lang_param"] = chosen
    st.query_params["lang"] = chosen


def _language_selector(lang: str) -> None:
    st.session_state["_lang_select"] = lang
    st.sidebar.selectbox(
        t("sidebar.language", lang),
        LANGUAGES,
        format_func=LANGUAGE_NAMES.__getitem__,
        key="_lang_select",
        on_change=_remember_language,
    )


PAGES = (("wall", "tv"), ("explore", "query_stats"), ("alerts", "notifications"),
         ("rules", "rule"), ("search", "search"), ("assistant", "chat"),
         ("knowledge", "menu_book"), ("models", "model_training"), ("jobs", "schedule"),
         ("settings", "settings"), ("admin", "shield_person"))  # fmt: skip
ADMIN_PAGES = {"settings": "settings.view", "admin": "users.manage"}


def _may_open(principal: Principal, page: str) -> bool:
    """A wall token opens the wall alone; settings and users are for admins."""
    if principal.role == WALL:
        return page == "wall"
    return page not in ADMIN_PAGES or principal.may(ADMIN_PAGES[page])


def main() -> None:
    st.set_page_config(layout="wide", page_title="Vigil", page_icon=":material/monitoring:")
    try:
        engine = get_engine()
    except VigilError as exc:
        st.error(str(exc))
        st.stop()
    restore_query()
    lang = _init_language(engine.settings.language)
    kiosk = st.query_params.get("kiosk") in ("1", "true", "yes")
    if kiosk:
        st.markdown(KIOSK_CSS, unsafe_allow_html=True)
    else:
        _language_selector(lang)
    principal = resolve_principal(engine, kiosk)
    write_pending_cookie()
    if principal is None:  # nothing opens unprotected: the login (or first-user) page only
        st.session_state[SHELL_KEY] = True
        st.navigation([st.Page(lambda: login_form(engine, lang), title=t("login.title", lang),
                               url_path="login")], position="hidden").run()  # fmt: skip
        return
    logout_button(engine, lang)
    pages = [
        st.Page(f"pages/{name}.py", title=t(f"nav.{name}", lang), icon=f":material/{icon}:",
                default=name == "wall")
        for name, icon in PAGES if _may_open(principal, name)
    ]  # fmt: skip
    st.session_state[SHELL_KEY] = True
    navigation = st.navigation(pages, position="hidden" if kiosk else "sidebar")
    wanted = st.session_state.pop(WANTED_PAGE_KEY, None)
    target = next((p for p in pages if p.url_path == wanted), None)
    if target is not None:
        st.switch_page(target, query_params=st.query_params.to_dict())
    navigation.run()


main()
