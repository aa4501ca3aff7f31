"""What changed between 2-4 requests, on screen: each prompt against the first, word by word
(additions green, removals struck through in red), and a table of only the parameters that
differ. Used by the Session log's selection and by Compare."""

from __future__ import annotations

import string
from collections.abc import Sequence
from typing import Any

import pandas as pd
import streamlit as st

from components.experiments.diff import Op, Piece, changed, parameter_diff, word_diff
from components.ui.safe import md_escape


def _mark(piece: Piece) -> str:
    text = md_escape(piece.text)
    if not piece.text.strip():
        return text  # blanks alone: nothing to colour
    if piece.op == Op.ADD:
        return f":green-background[{text}]"
    if piece.op == Op.DEL:
        return f":red-background[~~{text}~~]"
    return text


def diff_markdown(before: str, after: str) -> str:
    return "".join(_mark(p) for p in word_diff(before, after))


def what_changed(rows: Sequence[dict[str, Any]], *, key: str) -> None:
    """The diff of rows[1:] against rows[0] (labelled A, B, C, D)."""
    if len(rows) < 2:
        return
    letters = string.ascii_uppercase
    base = rows[0].get("prompt") or ""
    lines = [f"**A** {md_escape(base)}"]
    for n, row in enumerate(rows[1:], start=1):
        prompt = row.get("prompt") or ""
        pieces = word_diff(base, prompt)
        shown = "".join(_mark(p) for p in pieces) if changed(pieces) else "*same prompt as A*"
        lines.append(f"**{letters[n]}** {shown}")
    with st.container(border=True, key=f"{key}_diff"):
        st.markdown("**What changed** · each prompt against A")
        st.markdown("  \n".join(lines))
        table = parameter_diff(rows)
        if table:
            frame = pd.DataFrame(
                {label: values for label, values in table},
                index=[letters[i] for i in range(len(rows))],
            )
            st.dataframe(frame, width="stretch", key=f"{key}_params")
        else:
            st.caption("Every parameter is the same; only what is marked above differs.")
