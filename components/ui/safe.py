"""Show text from users or the provider as text: never as markdown, HTML or LaTeX that runs."""

from __future__ import annotations

import re

# Every ASCII punctuation character may be backslash-escaped in CommonMark; escaping all of them
# also defuses Streamlit's own extensions (:color[...], :material/icon:, $latex$).
_PUNCT = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:&\"'=^%@])")


def md_escape(text: object) -> str:
    """Literal text for any Streamlit element that renders markdown (st.error, captions, ...)."""
    escaped = _PUNCT.sub(r"\\\1", str(text))
    # Markdown collapses single newlines; keep the user's line breaks visible.
    return escaped.replace("\n", "  \n")


def shorten(text: str, limit: int = 80) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def usd_md(value: float) -> str:
    """An amount for markdown: a bare $ would start LaTeX."""
    return f"\\${value:,.2f}"
