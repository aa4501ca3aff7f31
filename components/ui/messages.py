"""Failures shown the same way everywhere: what happened, what to do, the request id."""

from __future__ import annotations

import streamlit as st

from components.ui.safe import md_escape

TITLES = {
    "validation": "Please fix the request",
    "authentication": "The API key was not accepted (401)",
    "permission": "Not allowed or out of credits (403)",
    "bad_request": "The provider rejected the request",
    "not_found": "Endpoint not found (404)",
    "rate_limit": "Rate limited (429)",
    "server": "The provider failed (5xx)",
    "timeout": "Timed out",
    "connection": "Could not reach the API",
    "malformed_response": "Unreadable answer from the provider",
    "image_download": "Image download failed",
    "storage": "Generated, but not saved to disk",
    "internal": "Something went wrong in the app",
}


def error_box(error: object, *, compact: bool = False) -> None:
    """Every piece of text from the provider or the user is escaped: shown, never rendered."""
    kind = getattr(error, "error_type", "error")
    title = TITLES.get(kind, "The request failed")
    lines = [f"**{title}**", md_escape(getattr(error, "message", None) or str(error))]
    hint = getattr(error, "hint", None)
    if hint and not compact:
        lines.append(md_escape(hint))
    rid = getattr(error, "request_id", None)
    attempts = getattr(error, "attempts", None)
    meta = []
    if rid:
        meta.append(f"request id {md_escape(rid)}")
    if attempts and attempts > 1:
        meta.append(f"{attempts} attempts")
    if meta:
        lines.append(" · ".join(meta))
    st.error("  \n".join(lines), icon=":material/error:")
