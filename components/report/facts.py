"""What a report says about each image, read from a log row's generation fields only.

An allow-list on purpose: ids, file paths, the browser session, who made it, request ids and
error messages never reach a report, so a file sent to a client tells how the image was made
and nothing about the studio it came from.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime, tzinfo
from typing import Any

from components.compare.plan import label_text
from components.log.rows import plain
from components.log.schema import RATING_MAX, BackendName

BACKENDS = {BackendName.OFFLINE.value: "offline demo", BackendName.AIMLAPI.value: "AI/ML API"}
OFFLINE_COST = "offline demo: no credits"
MISSING = "image file missing"
UNREADABLE = "image file could not be read"


def _text(value: Any) -> str | None:
    value = plain(value)
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _number(value: Any) -> float | None:
    value = plain(value)
    # plain() has already turned NaN and pd.NA into None.
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _yes_no(value: Any, yes: str = "yes", no: str = "no") -> str | None:
    value = plain(value)
    return None if value is None else (yes if bool(value) else no)


def when(value: Any, tz: tzinfo = UTC) -> str | None:
    """A row's created_at (datetime, Timestamp or ISO text) as '2026-11-29 14:03 UTC'."""
    value = plain(value)
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value or None
    if not isinstance(value, datetime):
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    local = value.astimezone(tz)
    return f"{local:%Y-%m-%d %H:%M} {local.tzname() or ''}".strip()


def stars(rating: Any) -> str | None:
    number = _number(rating)
    if number is None or number < 1:
        return None
    n = min(RATING_MAX, int(number))
    return "★" * n + "☆" * (RATING_MAX - n)


def image_paths(row: Mapping[str, Any]) -> list[str]:
    """The row's stored originals, in order (a JSON text is read too, as an import may hold)."""
    paths = plain(row.get("image_paths"))
    if isinstance(paths, str):
        try:
            paths = json.loads(paths)
        except ValueError:
            return []
    if not isinstance(paths, (list, tuple)):
        return []
    return [p for p in paths if isinstance(p, str) and p]


def seed_text(row: Mapping[str, Any]) -> str | None:
    seed = _number(row.get("seed"))
    if seed is not None:
        return str(int(seed))
    asked = _number(row.get("seed_requested"))
    return None if asked is None else f"{int(asked)} (requested)"


def heading(row: Mapping[str, Any], index: int, count: int) -> str:
    """'seed 42 · 16:9 · raw · image 2 of 4'."""
    seed = seed_text(row)
    parts = [f"seed {seed}" if seed else "no seed reported"]
    ratio = _text(row.get("aspect_ratio"))
    if ratio:
        parts.append(ratio)
    if plain(row.get("raw")):
        parts.append("raw")
    if count > 1:
        parts.append(f"image {index + 1} of {count}")
    return " · ".join(parts)


def cost(row: Mapping[str, Any]) -> str | None:
    if _text(row.get("backend")) == BackendName.OFFLINE.value:
        return OFFLINE_COST
    usd = _number(row.get("cost_usd"))
    if usd is None:
        return None
    text = f"${usd:.3f}"
    credits = _number(row.get("credits_used"))
    if credits is not None:
        text += f" ({credits:,.0f} credits)"
    images = _number(row.get("num_images"))
    if images is not None and images > 1:
        text += f" for {int(images)} images"
    return text


def facts(row: Mapping[str, Any], tz: tzinfo = UTC) -> list[tuple[str, str]]:
    """(label, text) pairs for one image's table; fields the row lacks are left out."""
    width, height = _number(row.get("width")), _number(row.get("height"))
    total = _number(row.get("total_s"))
    backend = _text(row.get("backend"))
    pairs: list[tuple[str, str | None]] = [
        ("Prompt", _text(row.get("prompt"))),
        ("Compared", label_text(plain(row.get("group_label"))) or None),
        ("Seed", seed_text(row)),
        ("Aspect ratio", _text(row.get("aspect_ratio"))),
        ("Size", f"{int(width)}×{int(height)} px" if width and height else None),
        ("Raw", _yes_no(row.get("raw"))),
        ("Format", _text(row.get("output_format"))),
        ("Safety tolerance", _text(row.get("safety_tolerance"))),
        ("Safety checker", _yes_no(row.get("enable_safety_checker"), "on", "off")),
        ("Flagged NSFW", "yes" if plain(row.get("nsfw")) is True else None),
        ("Model", _text(row.get("model"))),
        ("Time (total)", None if total is None else f"{total:.1f} s"),
        ("Cost (USD)", cost(row)),
        ("Rating", stars(row.get("rating"))),
        ("Note", _text(row.get("note"))),
        ("Created", when(row.get("created_at"), tz)),
        ("Backend", BACKENDS.get(backend, backend) if backend else None),
    ]
    return [(label, value) for label, value in pairs if value is not None]
