"""One HTML file for a comparison, a vote or picked log rows: opens in any browser from disk with
no server and no network, and prints to PDF with no picture split across pages.

Everything is inline (styles, JPEGs as data: URIs) and a Content-Security-Policy forbids any
fetch, so a report cannot call home, and every user text goes through html.escape, so a
prompt is shown, never run. The print rules keep each card on one page: a picture is at most
PRINT_IMAGE_MM tall on an A4 or Letter page with PAGE_MARGIN_MM margins, and a card may not
break inside.
"""

from __future__ import annotations

import base64
import html
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any, Protocol

from components.report import facts as row_facts
from components.report.pictures import MAX_IMAGES, MAX_SIDE, REPORT_BYTES, embed_picture

__all__ = [
    "MAX_IMAGES",
    "MAX_SIDE",
    "Report",
    "ReportItem",
    "VoteSection",
    "build_report",
    "report_items",
]

# No page size: the reader's paper (A4 or Letter) decides, and a card fits on either.
PAGE_MARGIN_MM = 12
# Letter is the shorter page (279.4 mm): 279.4 - 2 * 12 = 255 mm to hold a card. A picture of
# 120 mm leaves room for the card's padding and heading; its facts sit beside it in print.
PRINT_IMAGE_MM = 120
CSP = (
    "default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
    "base-uri 'none'; form-action 'none'"
)
APP_NAME = "FLUX Ultra Studio"


class ImageSource(Protocol):
    """The one read a report needs (ImageStore provides it)."""

    def read_bytes(self, rel: str) -> bytes | None: ...


@dataclass(frozen=True)
class ReportItem:
    """One image of a report: the embedded JPEG (None when the file is gone) and what it was."""

    jpeg: bytes | None
    width: int  # of the embedded JPEG (0 without one)
    height: int
    heading: str
    facts: list[tuple[str, str]] = field(default_factory=list)
    problem: str = ""  # said in place of the picture when jpeg is None


@dataclass(frozen=True)
class VoteSection:
    """A vote's outcome. ranking: (letter, what it was, win rate or None, score, low, high),
    best first; low and high bound the score's interval."""

    title: str
    question: str
    voters: int
    answers: int
    agreement: float | None = None
    ranking: Sequence[tuple[str, str, float | None, float, float, float]] = ()


@dataclass(frozen=True)
class Report:
    title: str
    subtitle: str = ""
    items: Sequence[ReportItem] = ()
    left_out: int = 0  # images not included (the cap)
    vote: VoteSection | None = None
    generated_at: datetime | None = None  # None: now


def _item(
    row: Mapping[str, Any], path: str, index: int, count: int, images: ImageSource, tz: tzinfo
) -> ReportItem:
    heading = row_facts.heading(row, index, count)
    pairs = row_facts.facts(row, tz)
    data = images.read_bytes(path)
    if data is None:
        return ReportItem(None, 0, 0, heading, pairs, row_facts.MISSING)
    try:
        picture = embed_picture(data)
    except Exception:  # a file from disk or an import: Pillow raises many kinds for bad bytes
        return ReportItem(None, 0, 0, heading, pairs, row_facts.UNREADABLE)
    return ReportItem(picture.jpeg, picture.width, picture.height, heading, pairs)


def report_items(
    rows: Iterable[Mapping[str, Any]],
    images: ImageSource,
    limit: int = MAX_IMAGES,
    *,
    tz: tzinfo = UTC,
) -> tuple[list[ReportItem], int]:
    """One item per stored image of the rows, in order, at most `limit`; and how many images
    were left out. Rows without images (failures, requests still out) are skipped. Images past
    the limit are counted, never decoded."""
    items: list[ReportItem] = []
    left_out = 0
    for row in rows:
        paths = row_facts.image_paths(row)
        for index, path in enumerate(paths):
            if len(items) >= max(0, limit):
                left_out += 1
                continue
            items.append(_item(row, path, index, len(paths), images, tz))
    return items, left_out


STYLE = f"""
:root {{
  color-scheme: light;
  --ink: #1c1e23; --muted: #5b6070; --line: #dfe2e8; --paper: #f4f5f7; --card: #fff;
  --accent: #b35f00; --warn: #fff3dc; --warn-line: #eec27a;
}}
* {{ box-sizing: border-box; }}
html {{ -webkit-text-size-adjust: 100%; text-size-adjust: 100%; }}
body {{
  margin: 0; color: var(--ink); background: var(--paper);
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
    sans-serif;
}}
header, main, footer {{ max-width: 1440px; margin: 0 auto; padding: 16px 20px; }}
header {{ padding-top: 24px; }}
h1 {{ font-size: 1.7rem; line-height: 1.2; margin: 0 0 6px; overflow-wrap: anywhere; }}
h2 {{ font-size: 1.2rem; margin: 0 0 8px; overflow-wrap: anywhere; }}
h3 {{ font-size: 1rem; margin: 0 0 6px; overflow-wrap: anywhere; }}
.subtitle {{ margin: 0 0 4px; font-size: 1.05rem; overflow-wrap: anywhere; }}
.meta {{ margin: 0; color: var(--muted); font-size: .9rem; }}
.notice {{
  background: var(--warn); border: 1px solid var(--warn-line); border-radius: 8px;
  padding: 8px 12px; margin: 0 0 16px;
}}
.vote {{
  background: var(--card); border: 1px solid var(--line); border-radius: 10px;
  padding: 14px 16px; margin: 0 0 16px; overflow-x: auto;
}}
.vote p {{ margin: 0 0 8px; }}
table {{ border-collapse: collapse; }}
.ranking {{ width: 100%; max-width: 860px; font-size: .92rem; }}
.ranking th, .ranking td {{
  text-align: left; padding: 4px 10px 4px 0; border-bottom: 1px solid var(--line);
  vertical-align: top;
}}
.ranking td.num, .ranking th.num {{ text-align: right; white-space: nowrap; }}
.ranking td.what {{ overflow-wrap: anywhere; }}
.cards {{
  display: grid; gap: 16px;
  grid-template-columns: repeat(auto-fill, minmax(min(100%, 420px), 1fr));
}}
.card {{
  background: var(--card); border: 1px solid var(--line); border-radius: 10px;
  overflow: hidden; break-inside: avoid; page-break-inside: avoid;
}}
.card figure {{
  margin: 0; background: #111318; display: flex; align-items: center;
  justify-content: center;
}}
.card img {{
  display: block; width: auto; height: auto; max-width: 100%; max-height: 75vh;
  break-inside: avoid; page-break-inside: avoid;
}}
.missing {{
  margin: 0; padding: 48px 16px; width: 100%; text-align: center; color: #f3c27a;
  font-weight: 600;
}}
.about {{ padding: 12px 14px 14px; }}
.facts {{ width: 100%; font-size: .9rem; }}
.facts th {{
  text-align: left; vertical-align: top; font-weight: 500; color: var(--muted);
  padding: 3px 12px 3px 0; width: 9.5em; white-space: nowrap;
}}
.facts td {{ padding: 3px 0; overflow-wrap: anywhere; white-space: pre-line; }}
.stars {{ color: var(--accent); letter-spacing: 1px; }}
.empty {{ color: var(--muted); }}
footer {{ color: var(--muted); font-size: .85rem; padding-bottom: 28px; }}
@page {{ margin: {PAGE_MARGIN_MM}mm; }}
@media print {{
  :root {{ --paper: #fff; }}
  body {{ background: #fff; font-size: 10pt; }}
  header, main, footer {{ max-width: none; padding: 0; margin: 0 0 5mm; }}
  .notice, .vote {{ break-inside: avoid; page-break-inside: avoid; }}
  .cards {{ display: block; }}
  .card {{
    display: grid; grid-template-columns: minmax(0, 3fr) minmax(0, 2fr); gap: 4mm;
    align-items: start; margin: 0 0 5mm; padding: 3mm; border-radius: 2mm;
    break-inside: avoid; page-break-inside: avoid;
  }}
  .card figure {{ background: none; }}
  .card img {{ max-height: {PRINT_IMAGE_MM}mm; }}
  .missing {{ color: #8a4b00; border: 0.3mm dashed #caa36b; padding: 20mm 4mm; }}
  .about {{ padding: 0; }}
  .facts {{ font-size: 8.5pt; }}
  .facts th {{ width: 7.5em; }}
}}
"""


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _signed(value: float) -> str:
    if not math.isfinite(value):
        return "–"
    return f"{value:+.2f}".replace("-", "−")


def _fact_row(label: str, value: str) -> str:
    cell = _e(value)
    if label == "Rating" and value and set(value) <= {"★", "☆"}:
        cell = f'<span class="stars" aria-label="{value.count("★")} of 5 stars">{cell}</span>'
    return f"<tr><th scope=row>{_e(label)}</th><td>{cell}</td></tr>"


def _card(item: ReportItem) -> str:
    if item.jpeg is not None:
        data = base64.b64encode(item.jpeg).decode("ascii")
        picture = (
            f'<img src="data:image/jpeg;base64,{data}" width="{int(item.width)}" '
            f'height="{int(item.height)}" alt="{_e(item.heading)}">'
        )
    else:
        picture = f'<p class="missing">{_e(item.problem or row_facts.MISSING)}</p>'
    rows = "".join(_fact_row(label, value) for label, value in item.facts)
    table = f'<table class="facts">{rows}</table>' if rows else ""
    return (
        f'<article class="card"><figure>{picture}</figure>'
        f'<div class="about"><h3>{_e(item.heading)}</h3>{table}</div></article>'
    )


def _vote(vote: VoteSection) -> str:
    agreement = (
        f"agreement {vote.agreement:.0%}"
        if vote.agreement is not None
        else "too few answers to measure agreement"
    )
    voters = f"{vote.voters} voter" + ("" if vote.voters == 1 else "s")
    answers = f"{vote.answers} answer" + ("" if vote.answers == 1 else "s")
    rows = []
    for rank, (letter, what, win, score, low, high) in enumerate(vote.ranking, start=1):
        win_text = "–" if win is None else f"{win:.0%}"
        rows.append(
            f"<tr><td class=num>{rank}</td><td>{_e(letter)}</td><td class=what>{_e(what)}</td>"
            f"<td class=num>{_e(win_text)}</td><td class=num>{_signed(score)}</td>"
            f"<td class=num>{_signed(low)} to {_signed(high)}</td></tr>"
        )
    table = (
        '<table class="ranking"><thead><tr><th class=num>#</th><th>Image</th><th>What it was</th>'
        "<th class=num>Win rate</th><th class=num>Score</th><th class=num>Interval</th></tr>"
        f"</thead><tbody>{''.join(rows)}</tbody></table>"
        if rows
        else '<p class="empty">No answers yet.</p>'
    )
    return (
        f'<section class="vote"><h2>Vote · {_e(vote.title)}</h2>'
        f"<p>{_e(vote.question)}</p>"
        f'<p class="meta">{_e(voters)} · {_e(answers)} · {_e(agreement)}</p>{table}</section>'
    )


def _notices(report: Report) -> str:
    out = []
    shown = len(report.items)
    if report.left_out > 0:
        total = shown + report.left_out
        out.append(
            f"{shown} of {total} images included; the report is capped at {shown} "
            f"to stay under about {REPORT_BYTES // 1_000_000} MB."
        )
    missing = sum(1 for item in report.items if item.jpeg is None)
    if missing:
        files = "image file" if missing == 1 else "image files"
        out.append(f"{missing} of {shown} {files} could not be read; their cards say so.")
    return "".join(f'<p class="notice">{_e(text)}</p>' for text in out)


def _generated(moment: datetime | None) -> str:
    moment = moment or datetime.now(UTC)
    zone = f" {moment.tzname()}" if moment.tzinfo is not None and moment.tzname() else ""
    return f"{moment:%d %b %Y, %H:%M}{zone}"


def build_report(report: Report) -> bytes:
    """The report as UTF-8 HTML bytes."""
    subtitle = f'<p class="subtitle">{_e(report.subtitle)}</p>' if report.subtitle else ""
    cards = "".join(_card(item) for item in report.items)
    body = (
        f'<section class="cards">{cards}</section>'
        if cards
        else '<p class="empty">No images in this report.</p>'
    )
    vote = _vote(report.vote) if report.vote is not None else ""
    page = (
        "<!doctype html>\n"
        '<html lang="en"><head><meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{_e(CSP)}">\n'
        '<meta name="referrer" content="no-referrer">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<meta name="generator" content="{_e(APP_NAME)}">\n'
        f"<title>{_e(report.title)}</title>\n<style>{STYLE}</style></head>\n<body>\n"
        f"<header><h1>{_e(report.title)}</h1>{subtitle}"
        f'<p class="meta">Generated {_e(_generated(report.generated_at))} · '
        f"made with {_e(APP_NAME)}</p></header>\n"
        f"<main>{_notices(report)}{vote}{body}</main>\n"
        f"<footer>Made with {_e(APP_NAME)}. Everything in this file is inside it: it needs no "
        "server and no network.</footer>\n</body></html>\n"
    )
    return page.encode("utf-8")
