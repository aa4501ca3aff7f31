"""Where an image came from: Refine and Vary from a Session log row record their parent, the
row's family shows in its detail, and the log can be narrowed to a row and its descendants;
2-4 selected rows show what changed between them."""

from __future__ import annotations

import pytest

from apptest_utils import button, new_app, run_until
from components.api.contract import GenerationRequest
from components.runner import Job

LOG_PAGE = "pages/session_log.py"


@pytest.fixture
def origin(made):
    """One image in the log, made on the offline backend."""
    log, (outcome,) = made([Job(GenerationRequest(prompt="a lighthouse at dusk", seed=42))])
    return log, outcome.job.id


def open_log():
    at = new_app()
    at.run()
    at.switch_page(LOG_PAGE).run()
    assert not at.exception
    return at


def select(at, positions: list[int]):
    table = next(d for d in at.dataframe if (d.key or "").startswith("log_table_"))
    at.session_state[table.key] = {"selection": {"rows": positions}}
    at.run()
    assert not at.exception
    return at


def test_refine_then_generate_records_the_parent(origin):
    log, origin_id = origin
    at = select(open_log(), [0])
    button(at, "Refine").click().run()
    assert not at.exception
    at.switch_page("pages/generate.py").run()  # AppTest returns to the first page after a switch
    assert at.text_area(key="prompt").value == "a lighthouse at dusk"
    assert at.number_input(key="seed").value == 42
    at.text_area(key="prompt").input("a lighthouse at dusk, in fog").run()
    button(at, "Generate").click().run()
    run_until(at, lambda a: log.count() == 2 and log.count(status="ok") == 2)
    newest = log.query(limit=1).iloc[0]
    assert newest["parent_id"] == origin_id and newest["lineage"] == "refine"
    assert newest["seed"] == 42


def test_vary_sends_new_seeds_as_children_in_compare(origin):
    log, origin_id = origin
    at = select(open_log(), [0])
    button(at, "Vary").click().run()
    assert not at.exception
    live = at.session_state["cmp_live"]
    assert live.run.wait(30)
    children = log.query(columns=["parent_id", "lineage", "seed", "prompt", "group_id"])
    children = children[children["parent_id"] == origin_id]
    assert len(children) == 4 and set(children["lineage"]) == {"vary"}
    assert children["seed"].nunique() == 4 and children["group_id"].nunique() == 1
    assert set(children["prompt"]) == {"a lighthouse at dusk"}


def test_the_family_shows_in_the_detail_and_narrows_the_log(origin):
    log, origin_id = origin
    child = log.append(
        {"prompt": "a lighthouse at dusk, in fog", "parent_id": origin_id, "lineage": "refine"}
    )
    log.append({"prompt": "a grandchild", "parent_id": child, "lineage": "seed"})
    log.append({"prompt": "unrelated"})
    at = open_log()
    position = list(log.query(columns=["id"])["id"]).index(origin_id)
    at = select(at, [position])
    family = next(e for e in at.expander if "Family" in e.label)
    assert "0 ancestor(s), 2 descendant(s)" in family.label
    button(at, "Show this row and its descendants").click().run()
    assert not at.exception
    assert any("its 2 descendant(s)" in c.value for c in at.caption)
    assert any("Rows 1–3 of 3" in c.value or "3" in c.value for c in at.caption)


def test_two_selected_rows_show_what_changed(origin):
    log, origin_id = origin
    log.append({"prompt": "a lighthouse at dawn", "seed": 43, "aspect_ratio": "16:9"})
    at = select(open_log(), [0, 1])
    text = " ".join(m.value for m in at.markdown)
    assert "What changed" in text
    assert ":green-background[dawn]" in text and ":red-background[~~dusk~~]" in text
