"""Compare inputs that used to raise: odd seed lists and huge templates (findings 3 and 4).

Each is typed into the form the way a person would; the page must say what to change, keep
what was typed, and never show a traceback, on this run and the ones after it.
"""

from __future__ import annotations

import resource
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "compare.py")
SEED_RULE = "Seeds must be whole numbers from 1 to 9007199254740991"


@contextmanager
def memory_headroom(extra: int = 2 << 30) -> Iterator[None]:
    """Cap this process's address space at its present size plus `extra` while the block runs:
    a regression that builds every combination then fails with MemoryError instead of taking
    the machine down (30 groups are a billion prompts)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    status = Path("/proc/self/status")
    sizes = [ln.split()[1] for ln in status.read_text().splitlines() if ln.startswith("VmSize:")]
    if not sizes:
        yield
        return
    cap = int(sizes[0]) * 1024 + extra
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def page() -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=30)
    at.run()
    assert not at.exception
    return at


def shown(at: AppTest) -> str:
    values = [m.value for m in at.markdown] + [c.value for c in at.caption]
    return " ".join(values + [e.value for e in at.error]).replace("\\", "")


@pytest.mark.parametrize(
    "typed, bad",
    [("1, ²", "²"), ("4, " + "9" * 5000, "9" * 19 + "…"), ("5 ٣", "٣")],
    ids=["superscript", "5000 digits", "arabic-indic"],
)
def test_a_seed_list_that_is_not_numbers_is_a_message_never_an_exception(data, typed, bad):
    at = page()
    at.text_area(key="cmp_prompt").input("a red car").run()
    at.segmented_control(key="cmp_mode").set_value("seeds").run()
    at.segmented_control(key="cmp_seed_source").set_value("list").run()
    at.text_input(key="cmp_seed_list").input(typed).run()
    for _ in range(2):  # the value stays in the session: the next run must not raise either
        assert not at.exception
        text = shown(at)
        assert f"Seed list: {SEED_RULE}" in text and f"not: {bad}" in text
        assert at.button(key="cmp_run").disabled
        assert at.text_input(key="cmp_seed_list").value == typed
        at.run()
    at.text_input(key="cmp_seed_list").input("1, 2").run()
    assert not at.exception and not at.button(key="cmp_run").disabled


def test_a_bad_axis_seed_names_its_axis(data):
    at = page()
    at.segmented_control(key="cmp_mode").set_value("grid").run()
    at.text_area(key="cmp_prompt").input("a red car").run()
    at.selectbox(key="cmp_x_param").set_value("seed").run()
    at.text_input(key="cmp_x_seeds").input("1, ²").run()
    assert not at.exception
    assert f"X seeds: {SEED_RULE}" in shown(at)
    assert at.button(key="cmp_run").disabled


@pytest.mark.parametrize("groups", [30, 60])
def test_a_template_with_too_many_alternatives_is_refused_at_once(data, groups):
    template = "a car " + " ".join("{red|blue}" for _ in range(groups))
    at = page()
    at.segmented_control(key="cmp_mode").set_value("grid").run()
    at.selectbox(key="cmp_x_param").set_value("prompt").run()
    with memory_headroom():
        at.text_area(key="cmp_prompt").input(template).run()
        for _ in range(2):  # variants on X, then split over both axes
            assert not at.exception
            text = shown(at)
            assert "The template expands to more than 1,000,000 prompts; the limit is 48" in text
            assert "more than 1,000,000 values on one axis; the limit is 12" in text
            assert at.button(key="cmp_run").disabled
            at.selectbox(key="cmp_y_param").set_value("prompt").run()
