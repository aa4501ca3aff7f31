"""Helpers for streamlit.testing AppTest: a fresh app per test, and everything it rendered."""

from __future__ import annotations

import time
from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parent.parent / "app.py")


def new_app(**query: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=30)
    for key, value in query.items():
        at.query_params[key] = value
    return at


def rendered(at: AppTest) -> str:
    """Every element's protobuf as text: what the browser would be sent for this run."""
    out: list[str] = []

    def walk(node) -> None:
        proto = getattr(node, "proto", None)
        if proto is not None:
            out.append(str(proto))
        children = getattr(node, "children", None)
        if isinstance(children, dict):
            for child in children.values():
                walk(child)

    walk(at._tree)
    return "\n".join(out)


def button(at: AppTest, label: str):
    matches = [b for b in at.button if b.label == label]
    assert matches, f"no button {label!r}; have {[b.label for b in at.button]}"
    return matches[0]


def run_until(at: AppTest, predicate, timeout: float = 20.0) -> AppTest:
    """Rerun until the page shows what we wait for (work happens in runner threads)."""
    deadline = time.monotonic() + timeout
    while True:
        at.run()
        if predicate(at) or time.monotonic() > deadline:
            return at
        time.sleep(0.1)
