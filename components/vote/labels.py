"""What each voted image was, in words: the parameters that differ between the vote's images
(the reveal's labels and the per-variant table's dimensions)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

DIMENSIONS = {
    "prompt": "prompt",
    "seed": "seed",
    "aspect_ratio": "aspect ratio",
    "raw": "raw",
    "output_format": "format",
    "safety_tolerance": "safety tolerance",
    "enable_safety_checker": "safety checker",
    "model": "model",
}
PROMPT_CUT = 80


def _text(name: str, value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool) or name in ("raw", "enable_safety_checker"):
        return "on" if bool(value) else "off"
    text = str(value)
    return text if len(text) <= PROMPT_CUT else text[: PROMPT_CUT - 1] + "…"


def dimensions(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    """Per row, the dimensions that differ across all rows, as text ({"seed": "42"})."""
    described = [{label: _text(k, r.get(k)) for k, label in DIMENSIONS.items()} for r in rows]
    varying = [label for label in DIMENSIONS.values() if len({d[label] for d in described}) > 1]
    return [{label: d[label] for label in varying} for d in described]


def label(described: Mapping[str, str], fallback: str) -> str:
    """'seed 42 · aspect ratio 16:9'; the prompt last, as it is the longest."""
    parts = [f"{k} {v}" for k, v in described.items() if k != "prompt"]
    if "prompt" in described:
        parts.append(f"“{described['prompt']}”")
    return " · ".join(parts) or fallback
