"""The Present page: what each source puts on the slides, read through the session's view."""

from __future__ import annotations

import pytest

from apptest_utils import new_app
from components.api.contract import GenerationRequest
from components.runner import Job
from components.ui.present import sources


@pytest.fixture
def group(made):
    jobs = [
        Job(GenerationRequest(prompt=f"a kite, take {n}", seed=n), group_id="kites")
        for n in (1, 2, 3)
    ]
    log, _ = made(jobs)
    log.update(jobs[1].id, rating=5)
    return log, jobs


def present():
    at = new_app()
    at.run()
    at.switch_page("pages/present.py").run()
    assert not at.exception
    return at


def captions(at) -> str:
    return " ".join(c.value for c in at.caption)


def test_a_comparison_is_presented_in_the_order_it_was_made(group):
    at = present()
    assert "3 image(s)" in captions(at)
    pictures = sources.from_group("kites")
    assert [p.caption for p in pictures] == [f"a kite, take {n}" for n in (1, 2, 3)]
    assert pictures[0].facts.startswith("seed 1 · 16:9")


def test_starred_shows_only_the_well_rated(group):
    at = present()
    at.button_group(key="present_source").set_value("starred").run()
    assert not at.exception
    assert "1 image(s)" in captions(at)


def test_rows_handed_over_keep_their_order(group):
    _, jobs = group
    at = present()
    at.session_state["handoff_present_rows"] = [jobs[2].id, jobs[0].id]
    at.run()
    assert not at.exception
    assert at.button_group(key="present_source").value == "rows"
    assert "2 image(s)" in captions(at)
    assert [p.caption for p in sources.from_rows([jobs[2].id, jobs[0].id])] == [
        "a kite, take 3",
        "a kite, take 1",
    ]
