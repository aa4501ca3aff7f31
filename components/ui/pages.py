"""The app's pages, defined once: app.py builds the navigation from them, and links and
hand-offs name them through these constants, never by typing a path."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PageInfo:
    path: str  # the url path stays the file name: see components/ui/frame_guard.py
    title: str
    icon: str
    default: bool = False


GENERATE = PageInfo("pages/generate.py", "Generate", ":material/auto_awesome:", default=True)
COMPARE = PageInfo("pages/compare.py", "Compare", ":material/compare:")
SESSION_LOG = PageInfo("pages/session_log.py", "Session log", ":material/table_view:")
SETTINGS = PageInfo("pages/settings.py", "Settings", ":material/tune:")
ALL = (GENERATE, COMPARE, SESSION_LOG, SETTINGS)
