"""Stored text shown through ``st.markdown``: escaped so that it shows as typed."""

from __future__ import annotations

import re

# Markdown, and Streamlit's :icon: and :color[...] syntax
_MARKDOWN = re.compile(r"([\\`*_\[\]{}()<>#+!|~$:])")


def escape_markdown(text: str) -> str:
    """``text`` with every character Markdown or Streamlit would interpret escaped."""
    return _MARKDOWN.sub(r"\\\1", text)
