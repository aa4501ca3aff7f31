"""Text drawn into pictures: one font source, and lines cut or wrapped to a width in pixels.

The offline previews and the contact sheet both write into images, so they share the fonts (the
same face in every picture) and the rules for text that does not fit: it ends in an ellipsis,
never runs past its box.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from typing import TypeAlias

from PIL import ImageDraw, ImageFont

ELLIPSIS = "…"
MIN_SIZE = 8

Font: TypeAlias = ImageFont.FreeTypeFont | ImageFont.ImageFont

# Fonts are cached, so one FreeType face serves every thread, and FreeType faces may only be
# used from one thread at a time: draw text with a cached font while holding this lock.
FONT_LOCK = threading.Lock()

# Wide-coverage system fonts first (accents, dashes, Greek, Cyrillic), then Pillow's own.
_FONT_FILES = {False: ("DejaVuSans.ttf",), True: ("DejaVuSans-Bold.ttf",)}


@lru_cache(maxsize=32)
def font(size: int, bold: bool = False) -> Font:
    """A scalable font at ``size`` px: DejaVu Sans if installed, else Pillow's built-in one."""
    size = max(size, MIN_SIZE)
    for name in _FONT_FILES[bold]:
        try:
            return ImageFont.truetype(name, size)
        except OSError:
            continue
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError, ImportError):  # pragma: no cover - old Pillow / no FreeType
        return ImageFont.load_default()


def is_bold(face: Font) -> bool:
    """Whether the face is a bold one; Pillow's fallback font has no bold, so callers fake it."""
    if not isinstance(face, ImageFont.FreeTypeFont):
        return False
    return "bold" in " ".join(part for part in face.getname() if part).lower()


def fitting_font(
    draw: ImageDraw.ImageDraw,
    text: str,
    size: int,
    width: float,
    bold: bool = False,
    min_size: int = 12,
) -> Font:
    """The font at ``size`` px, shrunk until ``text`` fits ``width`` (or ``min_size`` is hit)."""
    face = font(size, bold)
    while size > min_size and draw.textlength(text, font=face) > width:
        size = int(size * 0.92)
        face = font(size, bold)
    return face


def _cut(draw: ImageDraw.ImageDraw, text: str, face: Font, width: float) -> str:
    """``text`` shortened from the end until it fits ``width`` with an ellipsis after it."""
    while text and draw.textlength(text + ELLIPSIS, font=face) > width:
        text = text[:-1]
    return text.rstrip() + ELLIPSIS


def fit_line(draw: ImageDraw.ImageDraw, text: str, face: Font, width: float) -> str:
    """One line: ``text`` with its whitespace collapsed, cut with an ellipsis if too wide."""
    text = " ".join(str(text).split())
    if draw.textlength(text, font=face) <= width:
        return text
    return _cut(draw, text, face, width)


def wrap_lines(
    draw: ImageDraw.ImageDraw, text: str, face: Font, width: float, max_lines: int
) -> list[str]:
    """Greedy word wrap by pixel width into at most ``max_lines`` lines (none for blank text).

    Text left over ends the last line with an ellipsis after its last whole word (cut further
    only if that does not fit); a single word wider than a line is cut with an ellipsis.
    """
    words = str(text).split()
    lines: list[str] = []
    while words and len(lines) < max_lines:
        line = words.pop(0)
        while words and draw.textlength(f"{line} {words[0]}", font=face) <= width:
            line = f"{line} {words.pop(0)}"
        lines.append(line)
    if words and lines:
        lines[-1] = _cut(draw, lines[-1], face, width)
    return [fit_line(draw, line, face, width) for line in lines]
