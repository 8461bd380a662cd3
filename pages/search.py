"""Search: one box over alerts, series, incidents and rules (``?q=`` fills it in, so a
search can be linked), with a time range; every hit links to the page that shows it."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import streamlit as st

from vigil.clock import utc_now
from vigil.engine import get_engine
from vigil.i18n import LANG_STATE_KEY, format_time, t
from vigil.markdown import escape_markdown as _md
from vigil.page_shell import ensure_shell
from vigil.search import (
    Hit,
    QueryError,
    SearchResults,
    knowledge_hits,
    knowledge_text,
    search,
)

ensure_shell("search")
engine = get_engine()
lang: str = st.session_state.get(LANG_STATE_KEY, engine.settings.language)
RANGES = {
    "24h": pd.Timedelta(hours=24),
    "7d": pd.Timedelta(days=7),
    "30d": pd.Timedelta(days=30),
    "all": None,
}


def _box() -> str:
    """The query, from the URL on arrival; kept in the URL so the search can be shared."""
    if "search_box" not in st.session_state:
        st.session_state["search_box"] = st.query_params.get("q", "")
    text = st.text_input(t("search.box", lang), key="search_box", help=t("search.help", lang),
                         placeholder=t("search.placeholder", lang))  # fmt: skip
    if text.strip():
        st.query_params["q"] = text
    elif "q" in st.query_params:
        del st.query_params["q"]
    return text


def _range() -> tuple[pd.Timestamp | None, pd.Timestamp]:
    choice = st.segmented_control(
        t("search.range", lang), list(RANGES), default="7d",
        format_func=lambda k: t(f"search.range.{k}", lang), key="search_range",
    ) or "7d"  # fmt: skip
    now = utc_now()
    span = RANGES[choice]
    return (None if span is None else now - span), now


def _hit(hit: Hit) -> None:
    title = _md(hit.title)
    # a link opens a new session: carry the language unless it is the default anyway
    link = hit.link or ""
    if link and lang != engine.settings.language:
        path, _, anchor = link.partition("#")
        link = f"{path}&lang={lang}" + (f"#{anchor}" if anchor else "")
    st.markdown(f"[{title}]({link})" if hit.link else f"**{title}**")
    details = [t(f"search.state.{hit.state}", lang) if hit.state else "", _md(hit.subtitle),
               format_time(hit.time, with_date=True) if hit.time is not None else ""]  # fmt: skip
    st.caption(" · ".join(part for part in details if part))


def _results(results: SearchResults) -> None:
    if not results.total:
        st.info(t("search.none", lang))
        return
    st.caption(t("search.summary", lang, n=results.total))
    for group in results.groups:
        if not group.total:
            continue
        st.subheader(t("search.group", lang, kind=t(f"search.kind.{group.kind}", lang),
                       n=group.total))  # fmt: skip
        if group.total > len(group.hits):
            st.caption(t("search.more", lang, shown=len(group.hits), n=group.total))
        for hit in group.hits:
            _hit(hit)


def main() -> None:
    st.title(t("nav.search", lang))
    text = _box()
    start, end = _range()
    try:
        results = search(engine.store, text, start, end)
        asked = knowledge_text(results.query)
        if asked:
            found = engine.knowledge.search(asked, k=10)
            results = replace(results, groups=(*results.groups, knowledge_hits(found)))
    except QueryError as err:
        said = {name: _md(str(value)) for name, value in err.values.items()}
        st.error(t("search.error", lang, error=t(f"search.error.{err.code}", lang, **said)))
        return
    if results.query.empty:
        st.caption(t("search.hint", lang))
        return
    _results(results)


main()
