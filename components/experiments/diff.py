"""What changed between 2-4 requests: the prompt word by word (additions and removals, not two
walls of text) and only the parameters that differ."""

from __future__ import annotations

import difflib
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

ZWJ = "\u200d"

PARAMETERS = {
    "model": "model",
    "seed": "seed",
    "aspect_ratio": "aspect ratio",
    "raw": "raw",
    "num_images": "images",
    "output_format": "format",
    "safety_tolerance": "safety tolerance",
    "enable_safety_checker": "safety checker",
}


class Op(StrEnum):
    SAME = "same"
    ADD = "add"
    DEL = "del"


@dataclass(frozen=True)
class Piece:
    op: Op
    text: str


def _letter(ch: str) -> bool:
    """Part of a word: letters and digits of any script, their combining marks (a Hindi vowel
    sign, an accent typed after its letter), and the underscore."""
    return ch == "_" or unicodedata.category(ch)[0] in "LNM"


def _clings(ch: str) -> bool:
    """Belongs to the character before it: combining marks, variation selectors, emoji skin
    tones and the zero-width joiner of an emoji sequence."""
    return (
        unicodedata.category(ch)[0] == "M"
        or ch == ZWJ
        or "\ufe00" <= ch <= "\ufe0f"
        or "\U0001f3fb" <= ch <= "\U0001f3ff"
    )


def tokens(text: str) -> list[str]:
    """Words (any script, with their marks), single punctuation marks or emoji (with what
    clings to them: a family emoji is one token), and runs of blanks. A changed comma shows as
    a changed comma, and a reordered word as one removal and one addition."""
    text = text or ""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch, j = text[i], i + 1
        if ch.isspace():
            while j < n and text[j].isspace():
                j += 1
        elif _letter(ch):
            while j < n and (_letter(text[j]) or _clings(text[j])):
                j += 1
        else:
            while j < n and _clings(text[j]):
                j += 2 if text[j] == ZWJ and j + 1 < n else 1  # a ZWJ takes the next glyph
        out.append(text[i:j])
        i = j
    return out


def word_diff(before: str, after: str) -> list[Piece]:
    """`after` against `before`, as runs of kept, added and removed text."""
    a, b = tokens(before), tokens(after)
    out: list[Piece] = []
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            out.append(Piece(Op.SAME, "".join(a[i1:i2])))
            continue
        if tag in ("delete", "replace"):
            out.append(Piece(Op.DEL, "".join(a[i1:i2])))
        if tag in ("insert", "replace"):
            out.append(Piece(Op.ADD, "".join(b[j1:j2])))
    return _merge([p for p in out if p.text])


def _merge(pieces: list[Piece]) -> list[Piece]:
    merged: list[Piece] = []
    for piece in pieces:
        if merged and merged[-1].op == piece.op:
            merged[-1] = Piece(piece.op, merged[-1].text + piece.text)
        else:
            merged.append(piece)
    return merged


def changed(pieces: Sequence[Piece]) -> bool:
    return any(p.op != Op.SAME for p in pieces)


def _shown(name: str, value: Any) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "—"
    if name in ("raw", "enable_safety_checker"):
        return "on" if bool(value) else "off"
    return str(value)


def _value(row: Mapping[str, Any], name: str) -> Any:
    if name == "seed" and row.get("seed") is None:
        return row.get("seed_requested")
    return row.get(name)


def parameter_diff(rows: Sequence[Mapping[str, Any]]) -> list[tuple[str, list[str]]]:
    """(label, one value per row) for each parameter that is not the same in every row. The
    seed is the one used (what reproduces the image), else the one asked for."""
    table = []
    for name, label in PARAMETERS.items():
        values = [
            _shown(
                name, row.get("seed") if row.get("seed") is not None else row.get("seed_requested")
            )
            if name == "seed"
            else _shown(name, row.get(name))
            for row in rows
        ]
        if len(set(values)) > 1:
            table.append((label, values))
    return table
