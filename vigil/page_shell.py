"""Deep links that reach a page before ``app.py`` has run in this process.

Streamlit treats ``pages/`` as its legacy multipage folder until ``st.navigation`` has
been called once, so a first visit to ``/explore?lang=zh&kiosk=1`` would run the page
alone. Such a page hands the request, query parameters included, back to ``app.py``,
which sets up the shell and forwards to the page that was asked for.
"""

from __future__ import annotations

import streamlit as st

SHELL_KEY = "vigil_shell"  # set by app.py on every run
WANTED_PAGE_KEY = "vigil_wanted_page"
WANTED_QUERY_KEY = "vigil_wanted_query"


def ensure_shell(page: str) -> None:
    """Bounce to ``app.py`` (keeping the query parameters) unless it is already set up."""
    if SHELL_KEY not in st.session_state:
        st.session_state[WANTED_PAGE_KEY] = page
        st.session_state[WANTED_QUERY_KEY] = st.query_params.to_dict()
        st.switch_page("app.py", query_params=st.query_params.to_dict())


def restore_query() -> dict[str, str]:
    """The query parameters a bounced deep link carried (applied to the URL again)."""
    saved = st.session_state.pop(WANTED_QUERY_KEY, None) or {}
    for key, value in saved.items():
        st.query_params[key] = value
    return saved
