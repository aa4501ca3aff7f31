"""Compare plans: template expansion, axes, the grid of cells, labels and the cost guard."""

from __future__ import annotations

import json
import random

import pytest

from components.api.contract import GenerationRequest
from components.compare.plan import (
    CONFIRM_ABOVE,
    MAX_CELLS,
    CellLabel,
    PlanError,
    axis_for,
    expand_template,
    fill_template,
    grid_plan,
    label_text,
    parse_label,
    parse_seeds,
    prompt_axes,
    prompts_plan,
    seeds_plan,
    template_groups,
)

BASE = GenerationRequest("a car", aspect_ratio="3:2", safety_tolerance="4", output_format="png")


def test_template_expands_to_every_combination_first_group_slowest():
    variants = expand_template("a {red|blue|green} car at {dawn|night}")
    assert [v.prompt for v in variants] == [
        "a red car at dawn",
        "a red car at night",
        "a blue car at dawn",
        "a blue car at night",
        "a green car at dawn",
        "a green car at night",
    ]
    assert variants[3].label == "blue · night"


def test_template_edge_cases():
    assert [v.prompt for v in expand_template("plain {braces} stay")] == ["plain {braces} stay"]
    # An empty alternative leaves no double space behind.
    assert [v.prompt for v in expand_template("a {|very }big car")] == [
        "a big car",
        "a very big car",
    ]
    assert expand_template("a {|x} b")[0].label == "(none)"
    assert template_groups("{a|b} and {c|d|e}") == [("a", "b"), ("c", "d", "e")]
    assert fill_template("line one {a|b}\nline two", {0: "b"}) == "line one b\nline two"
    with pytest.raises(PlanError, match="expands to 64 prompts"):
        expand_template("{a|b} {c|d} {e|f} {g|h} {i|j} {k|l}")


def test_seed_lists_are_parsed_kindly_and_refused_clearly():
    assert parse_seeds("11, 42 42;7\n8") == [11, 42, 7, 8]
    with pytest.raises(PlanError, match="not: x, 0"):
        parse_seeds("1, x, 0")


def test_seeds_plan_one_prompt_many_seeds():
    plan = seeds_plan(BASE, [5, 6, 7, 8])
    assert plan.count == 4 and plan.x_labels == ("seed=5", "seed=6", "seed=7", "seed=8")
    assert {c.request.prompt for c in plan.cells} == {"a car"}
    assert [c.request.seed for c in plan.cells] == [5, 6, 7, 8]
    assert all(c.request.num_images == 1 for c in plan.cells)
    # Random seeds are drawn only when sending (an rng is given), and are all different.
    preview = seeds_plan(BASE, None, count=3)
    assert [c.request.seed for c in preview.cells] == [None, None, None]
    drawn = seeds_plan(BASE, None, count=6, rng=random.Random(3))
    seeds = [c.request.seed for c in drawn.cells]
    assert len(set(seeds)) == 6 and drawn.x_labels[0] == f"seed={seeds[0]}"
    with pytest.raises(PlanError):
        seeds_plan(BASE, [1])


def test_prompts_plan_shares_one_seed_and_skips_blank_boxes():
    plan = prompts_plan(BASE, ["a red car", "", "a blue car", "  "], rng=random.Random(1))
    assert plan.count == 2
    seeds = {c.request.seed for c in plan.cells}
    assert len(seeds) == 1 and None not in seeds
    assert plan.x_labels[0].startswith("prompt 1: a red car")
    with pytest.raises(PlanError, match="at least 2"):
        prompts_plan(BASE, ["only one", ""])


def test_grid_over_two_parameters_keeps_everything_else_equal():
    x = axis_for("aspect_ratio", ["1:1", "16:9", "9:16"])
    y = axis_for("raw", [False, True])
    plan = grid_plan("a car", BASE, x, y, rng=random.Random(2))
    assert plan.count == 6
    assert plan.x_labels == ("ratio=1:1", "ratio=16:9", "ratio=9:16")
    assert plan.y_labels == ("raw=off", "raw=on")
    cell = next(c for c in plan.cells if (c.row, c.col) == (1, 2))
    assert (cell.request.aspect_ratio, cell.request.raw) == ("9:16", True)
    assert cell.request.model == "flux-pro/v1.1-ultra-raw"
    assert {c.request.safety_tolerance for c in plan.cells} == {"4"}
    assert len({c.request.seed for c in plan.cells}) == 1  # one shared random seed
    assert plan.problems() == []


def test_grid_with_prompt_variants_on_one_or_both_axes():
    template = "a {red|blue|green} car at {dawn|night}"
    x = axis_for("prompt", template=template)
    plan = grid_plan(template, BASE, x, axis_for("seed", [1, 2]))
    assert plan.count == 12 and plan.x_labels[1] == "red · night"
    assert plan.cells[1].request.prompt == "a red car at night"
    both = grid_plan(template, BASE, *prompt_axes(template, split=True))
    assert both.x_labels == ("red", "blue", "green") and both.y_labels == ("dawn", "night")
    cell = next(c for c in both.cells if (c.row, c.col) == (1, 2))
    assert cell.request.prompt == "a green car at night"
    with pytest.raises(PlanError, match="two"):
        prompt_axes("a {red|blue} car", split=True)


def test_grid_refuses_what_cannot_be_meant():
    with pytest.raises(PlanError, match="alternatives"):
        grid_plan("a {red|blue} car", BASE, axis_for("seed", [1, 2]))
    with pytest.raises(PlanError, match="different"):
        grid_plan("a car", BASE, axis_for("seed", [1]), axis_for("seed", [2]))
    with pytest.raises(PlanError, match="at least one"):
        axis_for("aspect_ratio", [])
    with pytest.raises(PlanError, match="Unknown"):
        axis_for("aspect_ratio", ["5:4"])
    big = axis_for("seed", list(range(1, 13)))
    with pytest.raises(PlanError, match=f"at most {MAX_CELLS}"):
        grid_plan("a car", BASE, big, axis_for("safety_tolerance", list("12345")))


def test_cost_guard_and_validation_messages():
    small = seeds_plan(BASE, list(range(1, CONFIRM_ABOVE + 1)))
    big = seeds_plan(BASE, list(range(1, CONFIRM_ABOVE + 2)))
    assert not small.needs_confirmation and big.needs_confirmation
    assert big.cost_usd == pytest.approx(0.54)
    empty = seeds_plan(GenerationRequest(""), [1, 2])
    assert empty.problems() == ["Prompt is empty: describe the image you want. (every cell)"]


def test_jobs_carry_one_group_and_a_json_cell_label():
    plan = grid_plan("a car", BASE, axis_for("seed", [3, 4]), axis_for("output_format", ["jpeg"]))
    jobs = plan.jobs("g1")
    assert {j.group_id for j in jobs} == {"g1"}
    data = json.loads(jobs[1].label)
    assert data == {
        "v": 1,
        "mode": "grid",
        "x": "seed=4",
        "y": "format=jpeg",
        "r": 0,
        "c": 1,
        "w": 2,
        "h": 1,
    }
    parsed = parse_label(jobs[1].label)
    assert parsed == CellLabel("seed=4", "format=jpeg", 0, 1, "grid", 2, 1)
    assert label_text(jobs[1].label) == "seed=4 · format=jpeg"
    assert label_text("hand-written") == "hand-written" and parse_label("{not json") is None
    assert label_text(None) == ""


# --- templates too big to build, and seed lists that are not numbers -------------------------

_PROBE = r"""
import json, sys
from components.compare.plan import PlanError, axis_for, expand_template, grid_plan, prompt_axes
from components.api.contract import GenerationRequest

template = " ".join("{a|b}" for _ in range(int(sys.argv[1])))
calls = {
    "expand": lambda: expand_template(template),
    "axis": lambda: axis_for("prompt", template=template),
    "split": lambda: prompt_axes(template, split=True),
    "one group": lambda: axis_for("prompt", template=template, groups=[0]),
}
out = {}
for name, call in calls.items():
    try:
        result = call()
        out[name] = ["ok", len(result) if isinstance(result, list) else None]
    except PlanError as exc:
        out[name] = ["PlanError", str(exc)]
print(json.dumps(out))
"""


def _probe(groups: int) -> dict:
    """Run in a child process with 1 GB of memory: building every combination of 30 groups
    (a billion prompts) fails there with MemoryError instead of taking the test run down."""
    import resource
    import subprocess
    import sys
    from pathlib import Path

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))

    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, str(groups)],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=limit,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


@pytest.mark.parametrize("groups", [30, 60])
def test_huge_templates_are_refused_before_anything_is_built(groups):
    out = _probe(groups)
    assert out["expand"][0] == "PlanError"
    assert "expands to more than 1,000,000 prompts; the limit is 48" in out["expand"][1]
    for name in ("axis", "split"):
        assert out[name][0] == "PlanError", name
        assert "more than 1,000,000 values on one axis; the limit is 12" in out[name][1]
    assert out["one group"] == ["ok", None]  # one group of two is a fine axis


def test_template_counts_are_exact_when_small():
    with pytest.raises(PlanError, match="expands to 1,024 prompts"):
        expand_template(" ".join("{a|b}" for _ in range(10)))
    with pytest.raises(PlanError, match="give 16 values on one axis"):
        axis_for("prompt", template="{a|b} {c|d} {e|f} {g|h}")
    assert len(axis_for("prompt", template="{a|b|c} {d|e|f|g}").values) == 12
    # A huge template with prompt variants on one axis still titles its plan without counting.
    template = "x {a|b} " + " ".join("{c|d}" for _ in range(60))
    with pytest.raises(PlanError, match="more than 1,000,000"):
        grid_plan(template, BASE, axis_for("prompt", template=template))


@pytest.mark.parametrize(
    "text, shown",
    [
        ("1, ²", "²"),
        ("٣", "٣"),  # an Arabic-Indic three: a digit to Python, not to the API
        ("1 " + "9" * 5000, "9" * 19 + "…"),
        ("-5", "-5"),
        ("1.5", "1.5"),
        (str(2**53), str(2**53)),
        ("0", "0"),
    ],
)
def test_seed_lists_never_raise_anything_but_a_plan_error(text, shown):
    with pytest.raises(PlanError, match="whole numbers from 1 to 9007199254740991") as err:
        parse_seeds(text)
    assert f"not: {shown}" in str(err.value)
    assert len(str(err.value)) < 200


def test_seed_lists_take_ascii_digits_up_to_the_seed_limit():
    assert parse_seeds("+7, 007 " + "0" * 5000 + "9") == [7, 9]
    assert parse_seeds(str(2**53 - 1)) == [2**53 - 1]


def test_prompt_headers_name_only_what_changed_against_the_first():
    from components.compare.plan import prompt_labels

    labels = prompt_labels(
        [
            "a red vintage car on a coastal road at dawn, film photo",
            "a blue vintage car on a coastal road at dawn, film photo",
            "a red vintage car on a coastal road at night, film photo",
            "a red vintage car on a coastal road at dawn, film photo",
        ]
    )
    assert labels[0].startswith("prompt 1: a red vintage car")
    assert labels[1:] == [
        "prompt 2: +blue −red",
        "prompt 3: +night −dawn",
        "prompt 4: same as prompt 1",
    ]
