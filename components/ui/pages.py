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
    presenter_only: bool = False  # not listed for viewers; the page checks again itself


GENERATE = PageInfo("pages/generate.py", "Generate", ":material/auto_awesome:", default=True)
COMPARE = PageInfo("pages/compare.py", "Compare", ":material/compare:")
SESSION_LOG = PageInfo("pages/session_log.py", "Session log", ":material/table_view:")
SETTINGS = PageInfo("pages/settings.py", "Settings", ":material/tune:", presenter_only=True)
SHARING = PageInfo("pages/sharing.py", "Sharing", ":material/group:", presenter_only=True)
VOTES = PageInfo("pages/votes.py", "Votes", ":material/how_to_vote:", presenter_only=True)
PRESENT = PageInfo("pages/present.py", "Present", ":material/slideshow:")
ALL = (GENERATE, COMPARE, SESSION_LOG, PRESENT, VOTES, SETTINGS, SHARING)


def for_role(presenter: bool) -> tuple[PageInfo, ...]:
    return tuple(p for p in ALL if presenter or not p.presenter_only)
