"""What a comparison will send: prompt templates, axes, the grid of cells, labels and cost.

Plain Python (no Streamlit), so the page, the tests and a notebook build the same plan.

A plan is a list of cells; each cell becomes one runner Job with ``num_images=1``, one shared
``group_id`` per run, and a ``label`` that the log keeps in ``group_label``. That label is a
small JSON object (see ``CellLabel``) holding the cell's row and column and the header texts of
both, so a comparison reopened from the log is laid out exactly as it was, without guessing
from the parameters. ``label_text`` turns it back into "seed=42 · ratio=1:1" for display.
"""

from __future__ import annotations

import itertools
import json
import random
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from components.api.contract import (
    ASPECT_RATIOS,
    OUTPUT_FORMATS,
    RANDOM_SEED_MAX,
    SAFETY_TOLERANCES,
    SEED_MAX,
    SEED_MIN,
    GenerationRequest,
    estimate_cost_usd,
)
from components.api.errors import ValidationError
from components.experiments.diff import Op, word_diff
from components.runner import Job

# Comparisons bigger than this need an explicit "yes" before anything is sent.
CONFIRM_ABOVE = 8
MAX_CELLS = 48
MAX_AXIS_VALUES = 12
MAX_PROMPTS = 4
MIN_PROMPTS = 2
LABEL_VERSION = 1

# Parameters a grid axis may vary, with the short names used in headers ("ratio=1:1").
AXIS_PARAMS: dict[str, str] = {
    "prompt": "prompt variant",
    "seed": "seed",
    "aspect_ratio": "aspect ratio",
    "raw": "raw mode",
    "safety_tolerance": "safety tolerance",
    "output_format": "output format",
}
SHORT_NAMES = {
    "seed": "seed",
    "aspect_ratio": "ratio",
    "raw": "raw",
    "safety_tolerance": "tolerance",
    "output_format": "format",
    "prompt": "prompt",
}
# Every value of the parameters with a closed set of them (the grid offers these).
AXIS_CHOICES: dict[str, tuple[Any, ...]] = {
    "aspect_ratio": ASPECT_RATIOS,
    "raw": (False, True),
    "safety_tolerance": SAFETY_TOLERANCES,
    "output_format": OUTPUT_FORMATS,
}

# A template group: {a|b|c}. Braces without a "|" are ordinary text.
_GROUP = re.compile(r"\{([^{}]*\|[^{}]*)\}")
_SPACES = re.compile(r"[ \t]{2,}")


class CompareMode(StrEnum):
    """How a comparison was made; labels in the log store the value."""

    SEEDS = "seeds"
    PROMPTS = "prompts"
    GRID = "grid"
    LOG = "log"  # past generations picked from the log, not a new run


class PlanError(ValueError):
    """A comparison that cannot be built as asked; the message says what to change."""


def template_groups(template: str) -> list[tuple[str, ...]]:
    """The alternatives of each {a|b} group, in order of appearance."""
    return [tuple(m.group(1).split("|")) for m in _GROUP.finditer(template or "")]


def fill_template(template: str, choices: dict[int, str]) -> str:
    """The prompt with group i replaced by choices[i] (groups not chosen keep their first)."""
    counter = itertools.count()

    def pick(match: re.Match[str]) -> str:
        index = next(counter)
        return choices.get(index, match.group(1).split("|")[0])

    filled = _GROUP.sub(pick, template)
    # An empty alternative ("a {|very }big car") must not leave a double space behind.
    return "\n".join(_SPACES.sub(" ", line).strip() for line in filled.split("\n")).strip()


def choice_label(choice: str) -> str:
    return choice.strip() or "(none)"


@dataclass(frozen=True)
class Variant:
    """One expansion of a template: the prompt and the alternative picked in each group."""

    prompt: str
    choices: tuple[str, ...]

    @property
    def label(self) -> str:
        return " · ".join(choice_label(c) for c in self.choices) or self.prompt


# Counting stops above this: the exact number of a 60-group template helps nobody (and past
# 4,300 digits Python will not even print it).
_COUNT_CEILING = 1_000_000


def combinations(sizes: Iterable[int]) -> int:
    """How many combinations groups of these sizes give, counted without building any; a count
    above a million is reported as a million and one (`count_text` says "more than")."""
    total = 1
    for size in sizes:
        total *= size
        if total > _COUNT_CEILING:
            return _COUNT_CEILING + 1
    return total


def count_text(count: int) -> str:
    return f"more than {_COUNT_CEILING:,}" if count > _COUNT_CEILING else f"{count:,}"


def variant_count(template: str) -> int:
    """How many prompts a template expands to (see `combinations`)."""
    return combinations(len(g) for g in template_groups(template))


def expand_template(template: str, limit: int = MAX_CELLS) -> list[Variant]:
    """Every combination: `a {red|blue} car at {dawn|night}` gives four prompts, the first
    group varying slowest. A template without groups expands to itself. The count is checked
    before anything is built, and the expansion is lazy and capped at `limit`."""
    groups = template_groups(template)
    total = combinations(len(g) for g in groups)
    if total > limit:
        raise PlanError(
            f"The template expands to {count_text(total)} prompts; the limit is {limit}. "
            "Remove some alternatives."
        )
    return [
        Variant(fill_template(template, dict(enumerate(combo))), tuple(combo))
        for combo in itertools.islice(itertools.product(*groups), limit)
    ]


_SEED_DIGITS = len(str(SEED_MAX))
_SHOWN_CHARS = 20  # a seed has at most 16 digits


def _seed_value(item: str) -> int | None:
    """A typed seed as a number, or None. ASCII digits only ("²" and "٣" are digits to
    Python, not seeds); length checked before converting, so a 5,000-digit paste is simply
    out of range rather than a ValueError from int()."""
    digits = item[1:] if item.startswith("+") else item
    if not (digits.isascii() and digits.isdigit()):
        return None
    significant = digits.lstrip("0") or "0"
    if len(significant) > _SEED_DIGITS:
        return None
    value = int(significant)
    return value if SEED_MIN <= value <= SEED_MAX else None


def _shown(item: str) -> str:
    return item if len(item) <= _SHOWN_CHARS else item[: _SHOWN_CHARS - 1] + "…"


def parse_seeds(text: str) -> list[int]:
    """Seeds typed as "1, 2 3;4": whole numbers in range, duplicates dropped, order kept.
    Anything else is a PlanError naming the bad items (shortened), never another error."""
    items = [item for item in re.split(r"[\s,;]+", text or "") if item]
    seeds: dict[int, None] = {}
    bad: list[str] = []
    for item in items:
        value = _seed_value(item)
        if value is None:
            bad.append(item)
        else:
            seeds.setdefault(value, None)
    if bad:
        shown = ", ".join(_shown(b) for b in bad[:5]) + (" …" if len(bad) > 5 else "")
        raise PlanError(
            f"Seeds must be whole numbers from {SEED_MIN} to {SEED_MAX} (digits 0-9 only); "
            f"not: {shown}."
        )
    return list(seeds)


def random_seeds(count: int, rng: random.Random | None = None) -> list[int]:
    rng = rng or random.Random()
    seeds: list[int] = []
    while len(seeds) < count:
        seed = rng.randint(SEED_MIN, RANDOM_SEED_MAX)
        if seed not in seeds:
            seeds.append(seed)
    return seeds


def value_label(param: str, value: Any) -> str:
    """The header text naming one value: seed=42, ratio=1:1, raw=on, tolerance=3, format=png."""
    if param == "raw":
        return f"raw={'on' if value else 'off'}"
    return f"{SHORT_NAMES.get(param, param)}={value}"


@dataclass(frozen=True)
class AxisValue:
    """One position on an axis: its header text, the fields it sets, the template choices."""

    label: str
    changes: tuple[tuple[str, Any], ...] = ()
    choices: tuple[tuple[int, str], ...] = ()


@dataclass(frozen=True)
class Axis:
    param: str
    values: tuple[AxisValue, ...]

    @property
    def title(self) -> str:
        return AXIS_PARAMS.get(self.param, self.param)


@dataclass(frozen=True)
class CellLabel:
    """What the log's group_label holds for a comparison cell (JSON, version 1):
    {"v":1,"mode":"grid","x":"ratio=1:1","y":"raw=on","r":1,"c":0,"w":3,"h":2}
    x, y: the column and row header texts; r, c: the cell's place; w, h: the grid's size,
    so cells that were cancelled (never sent, so never logged) still show as gaps."""

    x: str
    y: str | None
    row: int
    col: int
    mode: str  # a CompareMode value, kept as text: a label may come from another version
    cols: int = 0  # 0: unknown
    rows: int = 0

    def to_json(self) -> str:
        data = {"v": LABEL_VERSION, "mode": self.mode, "x": self.x, "y": self.y}
        data.update(r=self.row, c=self.col, w=self.cols, h=self.rows)
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"))

    @property
    def text(self) -> str:
        return f"{self.x} · {self.y}" if self.y else self.x


def parse_label(text: Any) -> CellLabel | None:
    """A CellLabel from a group_label, or None when it is not one of ours (free text)."""
    if not isinstance(text, str) or not text.startswith("{"):
        return None
    try:
        data = json.loads(text)
        row, col = data["r"], data["c"]
        if not (isinstance(row, int) and isinstance(col, int) and row >= 0 and col >= 0):
            return None
        y = data.get("y")
        size = [data.get(k, 0) for k in ("w", "h")]
        cols, rows = (v if isinstance(v, int) and 0 <= v <= 1000 else 0 for v in size)
        y_text = None if y is None else str(y)
        return CellLabel(str(data["x"]), y_text, row, col, str(data["mode"]), cols, rows)
    except (ValueError, KeyError, TypeError):
        return None


def label_text(group_label: Any) -> str:
    """Readable text for any group_label, for the log and exports."""
    parsed = parse_label(group_label)
    if parsed is not None:
        return parsed.text
    return "" if group_label is None else str(group_label)


@dataclass(frozen=True)
class Cell:
    row: int
    col: int
    request: GenerationRequest
    x: str
    y: str | None = None


@dataclass(frozen=True)
class Plan:
    mode: CompareMode
    title: str
    x_title: str
    x_labels: tuple[str, ...]
    cells: tuple[Cell, ...]
    y_title: str | None = None
    y_labels: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=())

    @property
    def count(self) -> int:
        return len(self.cells)

    @property
    def cost_usd(self) -> float:
        return estimate_cost_usd(self.count)

    @property
    def needs_confirmation(self) -> bool:
        return self.count > CONFIRM_ABOVE

    def problems(self) -> list[str]:
        """Every validation problem, once, naming the cells it affects."""
        found: dict[str, list[str]] = {}
        for cell in self.cells:
            try:
                cell.request.validated()
            except ValidationError as exc:
                for name, message in exc.problems.items():
                    text = f"{name.replace('_', ' ').capitalize()} {message}"
                    found.setdefault(text, []).append(label_of(cell))
        out = []
        for text, where in found.items():
            scope = "every cell" if len(where) == self.count else ", ".join(where[:4])
            out.append(f"{text} ({scope})")
        return out

    def jobs(self, group_id: str) -> list[Job]:
        """One job per cell, validated; raises ValidationError for the first bad cell."""
        return [
            Job(
                c.request.validated(),
                group_id=group_id,
                label=CellLabel(
                    c.x, c.y, c.row, c.col, self.mode, len(self.x_labels), len(self.y_labels) or 1
                ).to_json(),
            )
            for c in self.cells
        ]


def label_of(cell: Cell) -> str:
    return f"{cell.x} · {cell.y}" if cell.y else cell.x


def _check_size(count: int) -> None:
    if count > MAX_CELLS:
        raise PlanError(f"That is {count} images; a comparison holds at most {MAX_CELLS}.")


def _shared_seed(base: GenerationRequest, rng: random.Random | None) -> GenerationRequest:
    """Everything but the compared value stays equal, the seed included: with no seed given,
    one random seed is drawn (at send time) for every cell."""
    if base.seed is None and rng is not None:
        return replace(base, seed=random_seeds(1, rng)[0])
    return base


def seeds_plan(
    base: GenerationRequest,
    seeds: Sequence[int] | None = None,
    count: int = 4,
    rng: random.Random | None = None,
) -> Plan:
    """One prompt, several seeds: the typed ones, or `count` random ones drawn with rng
    (without rng they stay unknown: a preview for counting and validating)."""
    if seeds is not None:
        chosen: list[int | None] = list(seeds)
    else:
        chosen = list(random_seeds(count, rng)) if rng is not None else [None] * count
    if len(chosen) < 2:
        raise PlanError("Give at least two seeds to compare.")
    if len(chosen) > MAX_AXIS_VALUES:
        raise PlanError(f"Compare at most {MAX_AXIS_VALUES} seeds at once.")
    labels = [
        value_label("seed", s) if s is not None else f"seed=random #{i + 1}"
        for i, s in enumerate(chosen)
    ]
    cells = tuple(
        Cell(0, i, replace(base, seed=s, num_images=1), labels[i]) for i, s in enumerate(chosen)
    )
    return Plan(CompareMode.SEEDS, base.prompt, "seed", tuple(labels), cells)


def prompt_label(index: int, prompt: str, width: int = 48) -> str:
    text = " ".join(str(prompt).split())
    text = text if len(text) <= width else text[: width - 1].rstrip() + "…"
    return f"prompt {index + 1}: {text}"


def prompt_labels(prompts: Sequence[str], width: int = 48) -> list[str]:
    """Headers for prompts that differ: the first in full (cut to `width`), each other one as
    only the words that changed against it ("prompt 2: +red −blue"), not the same long prompt
    over and over."""
    labels = [prompt_label(0, prompts[0], width)] if prompts else []
    for index, prompt in enumerate(prompts[1:], start=1):
        pieces = word_diff(prompts[0], prompt)
        added = " ".join(p.text.strip() for p in pieces if p.op == Op.ADD and p.text.strip())
        gone = " ".join(p.text.strip() for p in pieces if p.op == Op.DEL and p.text.strip())
        change = " ".join(filter(None, (f"+{added}" if added else "", f"−{gone}" if gone else "")))
        text = change or "same as prompt 1"
        text = text if len(text) <= width else text[: width - 1].rstrip() + "…"
        labels.append(f"prompt {index + 1}: {text}")
    return labels


def prompts_plan(
    base: GenerationRequest, prompts: Sequence[str], rng: random.Random | None = None
) -> Plan:
    """2-4 prompts with one seed and the same parameters (blank boxes are skipped)."""
    filled = [p for p in prompts if p and p.strip()]
    if len(filled) < MIN_PROMPTS:
        raise PlanError(f"Write at least {MIN_PROMPTS} prompts to compare.")
    if len(filled) > MAX_PROMPTS:
        raise PlanError(f"Compare at most {MAX_PROMPTS} prompts at once.")
    base = replace(_shared_seed(base, rng), num_images=1)
    labels = prompt_labels(filled)
    if len(set(labels)) < len(labels):  # the same change twice: the prompts, not the changes
        labels = [prompt_label(i, p) for i, p in enumerate(filled)]
    cells = tuple(Cell(0, i, replace(base, prompt=p), labels[i]) for i, p in enumerate(filled))
    return Plan(CompareMode.PROMPTS, f"{len(filled)} prompts", "prompt", tuple(labels), cells)


def axis_for(
    param: str,
    values: Sequence[Any] = (),
    template: str = "",
    groups: Sequence[int] | None = None,
) -> Axis:
    """An axis over one parameter. For "prompt" the values come from the template: every
    combination of the given groups (all groups when None)."""
    if param not in AXIS_PARAMS:
        raise PlanError(f"Unknown parameter {param!r} for an axis.")
    if param == "prompt":
        all_groups = template_groups(template)
        if not all_groups:
            raise PlanError(
                "To compare prompt variants, write alternatives in the prompt, e.g. "
                "a {red|blue} car."
            )
        indices = list(range(len(all_groups))) if groups is None else list(groups)
        if any(not 0 <= i < len(all_groups) for i in indices):
            raise PlanError("The prompt has fewer {…|…} groups than the axis names.")
        chosen = [all_groups[i] for i in indices]
        count = combinations(len(g) for g in chosen)
        if count > MAX_AXIS_VALUES:
            raise PlanError(
                f"The prompt variants give {count_text(count)} values on one axis; the limit "
                f"is {MAX_AXIS_VALUES}. Remove some alternatives."
            )
        items = []
        for combo in itertools.islice(itertools.product(*chosen), MAX_AXIS_VALUES):
            label = " · ".join(choice_label(c) for c in combo)
            items.append(AxisValue(label, choices=tuple(zip(indices, combo, strict=True))))
        return Axis(param, tuple(items))
    values = list(dict.fromkeys(values))  # a value twice would be the same picture twice
    if not values:
        raise PlanError(f"Pick at least one {AXIS_PARAMS[param]} for the axis.")
    if len(values) > MAX_AXIS_VALUES:
        raise PlanError(f"Use at most {MAX_AXIS_VALUES} values on one axis.")
    allowed = AXIS_CHOICES.get(param)
    if allowed is not None and any(v not in allowed for v in values):
        raise PlanError(
            f"Unknown {AXIS_PARAMS[param]}: choose from {', '.join(map(str, allowed))}."
        )
    return Axis(param, tuple(AxisValue(value_label(param, v), ((param, v),)) for v in values))


def grid_plan(
    template: str,
    base: GenerationRequest,
    x: Axis,
    y: Axis | None = None,
    rng: random.Random | None = None,
) -> Plan:
    """An X/Y plot: every combination of the two axes, everything else as in `base`."""
    if y is not None and x.param == y.param and x.param != "prompt":
        raise PlanError("X and Y must vary different parameters.")
    uses_prompt = x.param == "prompt" or (y is not None and y.param == "prompt")
    groups = template_groups(template)
    if not uses_prompt and groups:
        raise PlanError(
            "The prompt has {…|…} alternatives: choose “prompt variant” for an axis to "
            "compare them, or remove the braces."
        )
    count = len(x.values) * (len(y.values) if y else 1)
    _check_size(count)
    uses_seed = x.param == "seed" or (y is not None and y.param == "seed")
    base = replace(base, prompt=template, num_images=1)
    if not uses_seed:
        base = _shared_seed(base, rng)
    rows = y.values if y is not None else (AxisValue(""),)
    cells = []
    for r, y_value in enumerate(rows):
        for c, x_value in enumerate(x.values):
            changes = dict(x_value.changes) | dict(y_value.changes)
            request = replace(base, **changes)
            if uses_prompt:
                choices = dict(x_value.choices) | dict(y_value.choices)
                request = replace(request, prompt=fill_template(template, choices))
            cells.append(Cell(r, c, request, x_value.label, y_value.label if y else None))
    title = (
        template if not uses_prompt else f"{count_text(variant_count(template))} prompt variants"
    )
    return Plan(
        CompareMode.GRID,
        title,
        x.title,
        tuple(v.label for v in x.values),
        tuple(cells),
        y.title if y else None,
        tuple(v.label for v in y.values) if y else (),
    )


def prompt_axes(template: str, split: bool) -> tuple[Axis, Axis | None]:
    """Prompt variants on X (and, when split, the first group on X, the rest on Y)."""
    groups = template_groups(template)
    if not split:
        return axis_for("prompt", template=template), None
    if len(groups) < 2:
        raise PlanError(
            "Prompt variants on both axes need at least two {…|…} groups, "
            "e.g. a {red|blue} car at {dawn|night}."
        )
    x = axis_for("prompt", template=template, groups=[0])
    y = axis_for("prompt", template=template, groups=list(range(1, len(groups))))
    return x, y
