"""What changed between requests: the prompt word by word and only the parameters that differ.
Hand-made cases, each with the exact pieces a reader should see."""

from __future__ import annotations

import math

import pytest

from components.experiments.diff import Op, Piece, changed, parameter_diff, tokens, word_diff

SAME, ADD, DEL = Op.SAME, Op.ADD, Op.DEL


def pieces(*pairs: tuple[Op, str]) -> list[Piece]:
    return [Piece(op, text) for op, text in pairs]


def rebuilt(parts: list[Piece]) -> tuple[str, str]:
    """The two prompts a diff describes: kept + removed is before, kept + added is after."""
    before = "".join(p.text for p in parts if p.op != ADD)
    after = "".join(p.text for p in parts if p.op != DEL)
    return before, after


# --- tokens -----------------------------------------------------------------------------------


def test_tokens_are_words_single_marks_and_runs_of_blanks():
    assert tokens("a red cat, at dusk!!") == [
        "a", " ", "red", " ", "cat", ",", " ", "at", " ", "dusk", "!", "!",
    ]  # fmt: skip
    assert tokens("two  blanks\tand\n line") == [
        "two", "  ", "blanks", "\t", "and", "\n ", "line",
    ]  # fmt: skip
    assert tokens("") == [] and tokens(None) == []  # type: ignore[arg-type]


def test_tokens_keep_words_of_any_script_whole():
    assert tokens("café naïve Привет Ελληνικά 東京タワー 한국어") == [
        "café", " ", "naïve", " ", "Привет", " ", "Ελληνικά", " ", "東京タワー", " ", "한국어",
    ]  # fmt: skip
    assert tokens("a 🐱 and 🐶") == ["a", " ", "🐱", " ", "and", " ", "🐶"]


# --- word_diff --------------------------------------------------------------------------------


def test_a_changed_word_is_one_removal_and_one_addition():
    parts = word_diff("a red cat on a mat", "a blue cat on a mat")
    assert parts == pieces((SAME, "a "), (DEL, "red"), (ADD, "blue"), (SAME, " cat on a mat"))
    assert changed(parts)


def test_an_added_phrase_is_one_addition():
    parts = word_diff("a cat", "a cat on a mat, at dusk")
    assert parts == pieces((SAME, "a cat"), (ADD, " on a mat, at dusk"))


def test_a_phrase_added_in_the_middle():
    parts = word_diff("a cat at dusk", "a black cat at dusk")
    assert [p.op for p in parts] == [SAME, ADD, SAME]
    assert parts[1].text.strip() == "black"  # with one of its blanks, whichever side
    assert rebuilt(parts) == ("a cat at dusk", "a black cat at dusk")


def test_a_removed_word_is_one_removal():
    parts = word_diff("a big red cat", "a red cat")
    assert parts == pieces((SAME, "a"), (DEL, " big"), (SAME, " red cat"))


def test_everything_added_or_everything_removed():
    assert word_diff("", "a lighthouse") == pieces((ADD, "a lighthouse"))
    assert word_diff("a lighthouse", "") == pieces((DEL, "a lighthouse"))


def test_reordered_words_show_as_a_removal_and_an_addition():
    parts = word_diff("red big cat", "big red cat")
    ops = [p.op for p in parts]
    assert ops.count(ADD) == 1 and ops.count(DEL) == 1
    moved = {p.op: p.text.strip() for p in parts if p.op != SAME}
    assert moved[ADD] == moved[DEL]  # the same word, gone from one place and back in another
    assert moved[ADD] in ("big", "red")
    assert rebuilt(parts) == ("red big cat", "big red cat")


def test_a_removed_comma_is_the_comma_alone():
    parts = word_diff("a cat, a dog", "a cat a dog")
    assert parts == pieces((SAME, "a cat"), (DEL, ","), (SAME, " a dog"))


def test_an_added_comma_and_a_changed_mark():
    assert word_diff("a cat a dog", "a cat, a dog") == pieces(
        (SAME, "a cat"), (ADD, ","), (SAME, " a dog")
    )
    assert word_diff("sunset.", "sunset!") == pieces((SAME, "sunset"), (DEL, "."), (ADD, "!"))


def test_accented_words_are_whole_and_compared_by_their_letters():
    parts = word_diff("un café noir", "un cafe noir")
    assert parts == pieces((SAME, "un "), (DEL, "café"), (ADD, "cafe"), (SAME, " noir"))
    assert not changed(word_diff("naïve café", "naïve café"))


def test_cjk_words_are_whole_and_compared():
    parts = word_diff("夜の 東京 タワー", "夜の 大阪 タワー")
    assert parts == pieces((SAME, "夜の "), (DEL, "東京"), (ADD, "大阪"), (SAME, " タワー"))
    assert word_diff("한국어 문장", "한국어 문장") == pieces((SAME, "한국어 문장"))


def test_emoji_are_whole_and_compared():
    parts = word_diff("a 🐱 on a mat", "a 🐶 on a mat")
    assert parts == pieces((SAME, "a "), (DEL, "🐱"), (ADD, "🐶"), (SAME, " on a mat"))
    assert word_diff("cat", "cat 🐱") == pieces((SAME, "cat"), (ADD, " 🐱"))


@pytest.mark.parametrize(
    ("before", "after", "old", "new"),
    [
        ("नमस्ते दुनिया", "नमस्कार दुनिया", "नमस्ते", "नमस्कार"),  # Hindi
        ("வணக்கம் உலகம்", "நன்றி உலகம்", "வணக்கம்", "நன்றி"),  # Tamil
        ("สวัสดี ครับ", "สวัสดิ์ ครับ", "สวัสดี", "สวัสดิ์"),  # Thai
        ("cafe\u0301 noir", "cafe\u0300 noir", "cafe\u0301", "cafe\u0300"),  # NFD accents
    ],
    ids=["hindi", "tamil", "thai", "decomposed-latin"],
)
def test_words_with_combining_marks_are_whole(before, after, old, new):
    assert tokens(old) == [old] and tokens(new) == [new]
    assert word_diff(before, after) == pieces((DEL, old), (ADD, new), (SAME, before[len(old) :]))


def test_emoji_sequences_are_whole():
    thumbs_up = "\U0001f44d\U0001f3fd"  # thumbs up, medium skin tone
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
    assert tokens(thumbs_up) == [thumbs_up] and tokens(family) == [family]
    other = "\U0001f44d\U0001f3ff"
    assert word_diff(f"ok {thumbs_up}", f"ok {other}") == pieces(
        (SAME, "ok "), (DEL, thumbs_up), (ADD, other)
    )


def test_a_blanks_only_difference_is_a_change_of_blanks():
    parts = word_diff("a  cat", "a cat")
    assert parts == pieces((SAME, "a"), (DEL, "  "), (ADD, " "), (SAME, "cat"))
    assert changed(parts)
    assert all(not p.text.strip() for p in parts if p.op != SAME)
    added_newline = word_diff("a cat", "a cat\n")
    assert added_newline == pieces((SAME, "a cat"), (ADD, "\n"))


def test_identical_prompts_are_not_a_change():
    prompt = "A lighthouse in a storm, oil painting — 灯台 🌊"
    parts = word_diff(prompt, prompt)
    assert parts == pieces((SAME, prompt))
    assert not changed(parts)
    assert word_diff("", "") == [] and not changed([])


def test_adjacent_pieces_of_one_kind_are_merged():
    # Three added tokens in a row (word, comma, blank, word...) are one addition.
    parts = word_diff("a cat", "a cat, black and white")
    assert parts == pieces((SAME, "a cat"), (ADD, ", black and white"))
    # A replaced run of several words: one removal then one addition, never interleaved.
    parts = word_diff("a red cat at dusk", "a small grey dog at dusk")
    for first, second in zip(parts, parts[1:], strict=False):
        assert first.op != second.op, parts
    assert rebuilt(parts) == ("a red cat at dusk", "a small grey dog at dusk")
    assert [p.op for p in parts][0] == SAME and parts[-1] == Piece(SAME, " at dusk")


def test_pieces_always_rebuild_both_prompts_and_are_never_empty():
    cases = [
        ("a red cat", "a blue dog"),
        ("Photo, 35mm, f/1.8", "Photo 50mm f/2.8, film"),
        ("東京 の 夜 🌃", "夜 の 東京"),
        ("  leading blanks", "leading blanks  "),
        ("x", "y"),
    ]
    for before, after in cases:
        parts = word_diff(before, after)
        assert rebuilt(parts) == (before, after)
        assert all(p.text for p in parts)
        for first, second in zip(parts, parts[1:], strict=False):
            assert first.op != second.op


# --- parameter_diff ---------------------------------------------------------------------------


def row(**overrides) -> dict:
    base = {
        "prompt": "a cat",
        "model": "flux-pro/v1.1-ultra",
        "seed": 7,
        "seed_requested": 7,
        "aspect_ratio": "16:9",
        "raw": False,
        "num_images": 1,
        "output_format": "jpeg",
        "safety_tolerance": "2",
        "enable_safety_checker": True,
    }
    return {**base, **overrides}


def test_nothing_differs_gives_no_table():
    assert parameter_diff([row(), row()]) == []
    assert parameter_diff([row(), row(), row(), row()]) == []
    # The prompt is the word diff's business, not the table's.
    assert parameter_diff([row(prompt="a cat"), row(prompt="a dog")]) == []


def test_only_the_parameters_that_differ_one_value_per_row():
    table = parameter_diff([row(), row(aspect_ratio="1:1"), row(aspect_ratio="9:21")])
    assert table == [("aspect ratio", ["16:9", "1:1", "9:21"])]
    table = parameter_diff([row(), row(num_images=3, output_format="png")])
    assert table == [("images", ["1", "3"]), ("format", ["jpeg", "png"])]


def test_the_seed_is_the_one_used_else_the_one_asked_for():
    # Asked for none, got 7: the same seed as a row that asked for 7.
    assert parameter_diff([row(seed=7, seed_requested=None), row(seed=7, seed_requested=7)]) == []
    # A row not yet answered shows the seed it asked for.
    assert parameter_diff([row(seed=None, seed_requested=7), row()]) == []
    assert parameter_diff([row(seed=None, seed_requested=8), row()]) == [("seed", ["8", "7"])]
    # The used seed wins over the requested one when both are there.
    assert parameter_diff([row(seed=9, seed_requested=7), row(seed=7, seed_requested=7)]) == [
        ("seed", ["9", "7"])
    ]
    # Neither: shown as missing.
    assert parameter_diff([row(seed=None, seed_requested=None), row()]) == [("seed", ["—", "7"])]


def test_raw_and_the_safety_checker_show_on_and_off():
    table = parameter_diff([row(), row(raw=True, model="flux-pro/v1.1-ultra-raw")])
    assert ("raw", ["off", "on"]) in table
    assert ("model", ["flux-pro/v1.1-ultra", "flux-pro/v1.1-ultra-raw"]) in table
    assert [label for label, _ in table] == ["model", "raw"]  # in the table's fixed order
    table = parameter_diff([row(enable_safety_checker=False), row()])
    assert table == [("safety checker", ["off", "on"])]
    # Truthy values other than bools still read as on/off, never True/1.
    assert parameter_diff([row(raw=1), row(raw=True)]) == []


def test_missing_values_show_as_a_dash():
    missing = row()
    del missing["safety_tolerance"]
    table = parameter_diff([row(), missing, row(safety_tolerance=math.nan)])
    assert table == [("safety tolerance", ["2", "—", "—"])]
    # A missing raw flag is missing, not "off".
    assert parameter_diff([row(raw=None), row()]) == [("raw", ["—", "off"])]
    # Missing in every row: the same in every row, so not shown.
    assert parameter_diff([{"prompt": "a"}, {"prompt": "b"}]) == []


def test_two_to_four_rows_each_get_a_value():
    rows = [row(seed=s) for s in (1, 2, 3, 4)]
    assert parameter_diff(rows) == [("seed", ["1", "2", "3", "4"])]
