"""Failures shown the same way everywhere: what happened, what to do, the request id."""

from __future__ import annotations

import streamlit as st

from components.api.errors import ErrorType
from components.ui.safe import md_escape

# Keyed by text: an error type read back from the log is a plain string.
TITLES: dict[str, str] = {
    ErrorType.VALIDATION: "Please fix the request",
    ErrorType.AUTHENTICATION: "The API key was not accepted (401)",
    ErrorType.PERMISSION: "Not allowed or out of credits (403)",
    ErrorType.BAD_REQUEST: "The provider rejected the request",
    ErrorType.NOT_FOUND: "Endpoint not found (404)",
    ErrorType.RATE_LIMIT: "Rate limited (429)",
    ErrorType.SERVER: "The provider failed (5xx)",
    ErrorType.TIMEOUT: "Timed out",
    ErrorType.CONNECTION: "Could not reach the API",
    ErrorType.MALFORMED_RESPONSE: "Unreadable answer from the provider",
    ErrorType.IMAGE_DOWNLOAD: "Image download failed",
    ErrorType.STORAGE: "Generated, but not saved to disk",
    ErrorType.LOST: "Lost: the app process that sent it stopped",
    ErrorType.INTERNAL: "Something went wrong in the app",
}


def error_box(error: object, *, compact: bool = False) -> None:
    """Every piece of text from the provider or the user is escaped: shown, never rendered."""
    kind = getattr(error, "error_type", ErrorType.ERROR)
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
