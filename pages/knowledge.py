"""Knowledge: the runbooks, uploads and past incidents the assistant cites.

Search the knowledge base (``?q=``), open one document at a section (``?doc=SOURCE#anchor``
is where every citation links), upload runbooks (Markdown, text, HTML, PDF), delete
uploads, and reindex the runbooks directory with a progress bar.
"""

from __future__ import annotations

from urllib.parse import unquote

import streamlit as st

from vigil.actions import Actions
from vigil.engine import get_engine
from vigil.errors import VigilError
from vigil.i18n import LANG_STATE_KEY, t
from vigil.knowledge_charts import documents_chart
from vigil.markdown import escape_markdown as _md
from vigil.page_shell import ensure_shell
from vigil.session import current_principal

ensure_shell("knowledge")
engine = get_engine()
lang: str = st.session_state.get(LANG_STATE_KEY, engine.settings.language)
actions = Actions(engine, current_principal())


def _search() -> None:
    if "knowledge_box" not in st.session_state:
        st.session_state["knowledge_box"] = st.query_params.get("q", "")
    text = st.text_input(t("knowledge.search", lang), key="knowledge_box",
                         placeholder=t("knowledge.placeholder", lang))  # fmt: skip
    if not text.strip():
        return
    st.query_params["q"] = text
    hits = engine.knowledge.search(text, k=8)
    if not hits:
        st.info(t("knowledge.none", lang))
    for hit in hits:
        st.markdown(f"[{_md(hit.section or hit.source)}]({hit.link.lstrip('/')})")
        st.caption(f"{_md(hit.source)} · {t(f'knowledge.kind.{hit.kind}', lang)}")
        st.text(hit.text[:600])


def _document(source: str) -> None:
    if st.button(t("knowledge.back", lang)):
        del st.query_params["doc"]
        st.rerun()
    passages = engine.knowledge.passages(source)
    if not passages:
        st.error(t("knowledge.missing", lang, doc=source))
        return
    st.subheader(source)
    section = None
    for passage in passages:
        if passage.section != section:
            section = passage.section
            anchor = unquote(passage.link.partition("#")[2]) or None
            st.subheader(section.split(" > ")[-1], anchor=anchor)
            st.caption(_md(section))
        st.markdown(passage.text)


def _upload() -> None:
    files = st.file_uploader(t("knowledge.upload", lang), accept_multiple_files=True,
                             type=["md", "markdown", "txt", "html", "htm", "pdf"],
                             help=t("knowledge.upload_help", lang))  # fmt: skip
    if not files or not st.button(t("knowledge.upload_button", lang)):
        return
    for file in files:
        try:
            report = actions.upload(file.name, file.getvalue())
        except VigilError as exc:
            st.error(f"{file.name}: {exc}")
        else:
            st.success(t("knowledge.uploaded", lang, doc=file.name,
                         n=report.chunks_embedded + report.chunks_kept))  # fmt: skip


def _reindex() -> None:
    if not st.button(t("knowledge.reindex", lang)):
        return
    bar = st.progress(0.0, text=t("knowledge.reindexing", lang, done=0, total="…"))

    def progress(done: int, total: int) -> None:
        bar.progress(done / max(total, 1),
                     text=t("knowledge.reindexing", lang, done=done, total=total))  # fmt: skip

    try:
        report = actions.reindex(progress)
    except VigilError as exc:
        bar.empty()
        st.error(str(exc))
        return
    bar.empty()
    st.success(t("knowledge.reindexed", lang, indexed=len(report.indexed),
                 unchanged=len(report.unchanged), removed=len(report.removed)))  # fmt: skip
    for error in report.errors:
        st.warning(error)


def _library() -> None:
    documents = engine.knowledge.documents()
    if not documents:
        st.info(t("knowledge.empty", lang))
        return
    st.plotly_chart(documents_chart(documents, lang), key="knowledge_documents")
    uploads = [d.source for d in documents if d.kind == "upload"]
    if uploads:
        doomed = st.selectbox(t("knowledge.delete_pick", lang), uploads, index=None)
        if doomed and st.button(t("knowledge.delete", lang, doc=doomed)):
            try:
                removed = actions.delete_document(doomed)
            except VigilError as exc:
                st.error(str(exc))
            else:
                st.success(t("knowledge.deleted", lang, doc=doomed, n=removed))


def main() -> None:
    st.title(t("knowledge.title", lang))
    wanted = st.query_params.get("doc")
    if wanted:
        _document(wanted)
        return
    st.caption(t("knowledge.caption", lang, path=engine.settings.runbooks_path))
    _search()
    left, right = st.columns([3, 1])
    with left:
        _upload()
    with right:
        _reindex()
    _library()  # after the actions, so it shows what they changed


main()
