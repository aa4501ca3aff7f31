"""Text in pictures: the shared font and lines that never run past their width."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw

from components.images.text import ELLIPSIS, fit_line, fitting_font, font, is_bold, wrap_lines

DRAW = ImageDraw.Draw(Image.new("RGB", (8, 8)))
FACE = font(20)


def width(text: str) -> float:
    return DRAW.textlength(text, font=FACE)


def test_fonts_are_shared_and_never_tiny():
    assert font(20) is font(20)
    assert font(1).size == font(8).size == 8
    assert is_bold(font(20, True)) and not is_bold(font(20))


def test_a_line_that_fits_is_kept_with_its_spaces_collapsed():
    assert fit_line(DRAW, "  a   lighthouse\nat dusk ", FACE, 1000) == "a lighthouse at dusk"


def test_a_long_line_is_cut_with_an_ellipsis():
    line = fit_line(DRAW, "a lighthouse at dusk on a cliff", FACE, width("a lighthouse at"))
    assert line.endswith(ELLIPSIS) and width(line) <= width("a lighthouse at")
    assert line == "a lighthouse…"  # no space left before the ellipsis


def test_wrap_breaks_between_words():
    lines = wrap_lines(DRAW, "one two three four", FACE, width("one two three"), 3)
    assert lines == ["one two three", "four"]


def test_text_left_over_ends_the_last_line_after_a_whole_word():
    text = "one two three four five six seven"
    lines = wrap_lines(DRAW, text, FACE, width("one two three…"), 2)
    assert lines == ["one two three", "four five six…"]


def test_a_word_wider_than_the_line_is_cut():
    (line,) = wrap_lines(DRAW, "Supercalifragilisticexpialidocious", FACE, 120, 1)
    assert line.endswith(ELLIPSIS) and width(line) <= 120


def test_blank_text_has_no_lines():
    assert wrap_lines(DRAW, "  \n ", FACE, 100, 2) == []


def test_the_font_shrinks_until_the_text_fits():
    face = fitting_font(DRAW, "OFFLINE PREVIEW", 80, 200, bold=True)
    assert DRAW.textlength("OFFLINE PREVIEW", font=face) <= 200 and face.size < 80


@settings(max_examples=150, deadline=None)
@given(
    text=st.text(st.sampled_from("ab cdé—W "), max_size=60),
    limit=st.floats(30, 400),
    lines=st.integers(1, 4),
)
def test_no_line_runs_past_its_width(text: str, limit: float, lines: int):
    wrapped = wrap_lines(DRAW, text, FACE, limit, lines)
    assert len(wrapped) <= lines
    assert all(width(line) <= limit for line in wrapped)
    if wrapped and ELLIPSIS not in "".join(wrapped):
        assert " ".join(wrapped) == " ".join(text.split())  # nothing lost when nothing was cut


@pytest.mark.parametrize("limit", [30, 120, 400])
def test_fit_line_never_runs_past_its_width(limit: int):
    line = fit_line(DRAW, "the quick brown fox jumps over the lazy dog " * 3, FACE, limit)
    assert width(line) <= limit
