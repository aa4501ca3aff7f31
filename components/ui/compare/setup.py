"""The Compare forms: mode, prompt(s), seeds, axes and the shared parameters.

Every widget has a `cmp_` key and `persist_state="session"`, so nothing typed is lost on a
rerun or a page switch; `build_plan` reads those keys, so the Run callback and the preview
see exactly what is on screen.
"""

from __future__ import annotations

import random
from collections.abc import Collection
from dataclasses import replace
from typing import Final

import streamlit as st

from components.api.contract import (
    ASPECT_RATIOS,
    OUTPUT_FORMATS,
    SAFETY_TOLERANCES,
    GenerationRequest,
)
from components.compare.plan import (
    AXIS_PARAMS,
    MAX_AXIS_VALUES,
    MAX_PROMPTS,
    MIN_PROMPTS,
    Axis,
    CompareMode,
    Plan,
    PlanError,
    axis_for,
    expand_template,
    grid_plan,
    parse_seeds,
    prompt_axes,
    prompts_plan,
    random_seeds,
    seeds_plan,
    template_groups,
)
from components.compare.sheet import MODE_TITLES
from components.experiments.presets import Preset, SeedPolicy
from components.ui import param_form
from components.ui.param_form import request_from_state
from components.ui.recent_prompts import recent_prompts
from components.ui.safe import md_escape

K_MODE = "cmp_mode"
K_PROMPT = "cmp_prompt"
K_SEED_SOURCE, K_SEED_COUNT, K_SEED_LIST = "cmp_seed_source", "cmp_seed_count", "cmp_seed_list"
K_SEED = "cmp_seed"
K_RATIO, K_RAW, K_FORMAT = "cmp_ratio", "cmp_raw", "cmp_format"
K_TOL, K_CHECKER = "cmp_tol", "cmp_checker"
K_X, K_Y = "cmp_x_param", "cmp_y_param"
PROMPT_KEYS = tuple(f"cmp_p{i}" for i in range(1, MAX_PROMPTS + 1))
NO_Y = "none"
KEEP: Final = "session"  # persist_state: values survive reruns and page switches
SEED_SOURCES = {"random": "Random", "list": "My list"}
EXAMPLE_TEMPLATE = "a {red|blue|green} vintage car on a coastal road at {dawn|night}, film photo"


def mode_picker() -> CompareMode:
    # No `default=`: a hand-off from the Session log sets this key before the widget exists.
    st.session_state.setdefault(K_MODE, CompareMode.SEEDS)
    mode = st.segmented_control(
        "Mode",
        list(CompareMode),
        format_func=lambda m: MODE_TITLES.get(m, m),
        required=True,
        key=K_MODE,
        persist_state=KEEP,
        help="Seeds: one prompt, several seeds · Prompts: 2-4 prompts, one seed · Grid: an "
        "X/Y plot over any parameter · From the log: past images side by side, no new request.",
    )
    return CompareMode(mode) if mode else CompareMode.SEEDS


def _prompt(label: str, help_text: str) -> None:
    param_form.prompt_box(label, K_PROMPT, in_url=False, help=help_text, height=100)
    recent_prompts(K_PROMPT, "cmp_recent")


def _shared_seed() -> None:
    param_form.seed_input(
        K_SEED,
        in_url=False,
        label="Seed for every cell",
        placeholder="Random (one seed shared by all cells)",
        help="Cells share one seed so that only the compared value differs.",
    )


def shared_parameters(varying: Collection[str] = frozenset()) -> None:
    """The parameters every cell shares; one that varies on an axis is disabled here."""
    cols = st.columns([3, 2, 2, 3, 2], vertical_alignment="bottom")
    with cols[0]:
        param_form.ratio_select(K_RATIO, disabled="aspect_ratio" in varying)
    with cols[1]:
        param_form.raw_toggle(K_RAW, in_url=False, disabled="raw" in varying)
    with cols[2]:
        param_form.format_picker(K_FORMAT, in_url=False, disabled="output_format" in varying)
    with cols[3]:
        param_form.tolerance_slider(K_TOL, in_url=False, disabled="safety_tolerance" in varying)
    with cols[4]:
        param_form.checker_toggle(K_CHECKER, in_url=False)


def load_for_seeds(request: GenerationRequest, count: int, seeds: list[int] | None = None) -> None:
    """Pre-fill "Seeds" mode with a request's prompt and settings and `count` new random
    seeds, or these seeds (before the widgets render: a Vary, or a preset's seed list)."""
    state = st.session_state
    state[K_MODE] = CompareMode.SEEDS
    state[K_PROMPT] = request.prompt
    state[K_SEED_SOURCE] = "list" if seeds else "random"
    state[K_SEED_LIST] = ", ".join(map(str, seeds or []))
    state[K_SEED_COUNT] = count
    state[K_SEED] = None
    state[K_RATIO] = request.aspect_ratio
    state[K_RAW] = bool(request.raw)
    state[K_FORMAT] = request.output_format
    state[K_TOL] = str(request.safety_tolerance)
    state[K_CHECKER] = bool(request.enable_safety_checker)


def preset_from_form(name: str) -> Preset:
    """The Seeds form as a preset: its prompt and settings, and its seeds (the typed list, or
    a new random seed each time)."""
    state = st.session_state
    preset = Preset.from_request(name, replace(base_request(), seed=None))
    if state.get(K_SEED_SOURCE) == "list":
        seeds = tuple(_seeds_from(K_SEED_LIST, "Seed list"))
        preset = replace(preset, seed_policy=SeedPolicy.LIST, seeds=seeds).checked()
    return preset


def base_request() -> GenerationRequest:
    """The shared parameters as on screen (not validated)."""
    return request_from_state(
        {
            "prompt": K_PROMPT,
            "aspect_ratio": K_RATIO,
            "seed": K_SEED,
            "raw": K_RAW,
            "output_format": K_FORMAT,
            "safety_tolerance": K_TOL,
            "enable_safety_checker": K_CHECKER,
        }
    )


def seeds_form() -> None:
    _prompt("Prompt", "One prompt, rendered with each seed.")
    cols = st.columns([2, 2, 5], vertical_alignment="bottom")
    source = cols[0].segmented_control(
        "Seeds",
        list(SEED_SOURCES),
        format_func=lambda source: SEED_SOURCES[source],
        default="random",
        required=True,
        key=K_SEED_SOURCE,
        persist_state=KEEP,
    )
    if source == "list":
        cols[2].text_input(
            "Seed list",
            key=K_SEED_LIST,
            placeholder="e.g. 11, 42, 1234",
            persist_state=KEEP,
            help="Whole numbers separated by commas or spaces.",
        )
    else:
        cols[1].number_input(
            "How many",
            min_value=2,
            max_value=MAX_AXIS_VALUES,
            value=4,
            key=K_SEED_COUNT,
            persist_state=KEEP,
        )
    shared_parameters()


def prompts_form() -> None:
    cols = st.columns(2)
    for index, key in enumerate(PROMPT_KEYS):
        with cols[index % 2]:
            label = f"Prompt {index + 1}" + ("" if index < MIN_PROMPTS else " (optional)")
            param_form.prompt_box(label, key, in_url=False, height=90)
    _shared_seed()
    shared_parameters()


def _roll_axis_seeds(key: str) -> None:
    st.session_state[key] = ", ".join(map(str, random_seeds(4)))


def _axis_values(axis: str, param: str) -> None:
    """The widget for one axis's values (prompt, raw and format need none)."""
    if param == "seed":
        key = f"cmp_{axis}_seeds"
        cols = st.columns([4, 1], vertical_alignment="bottom")
        cols[0].text_input(
            f"{axis.upper()} seeds",
            key=key,
            placeholder="e.g. 11, 42, 1234",
            persist_state=KEEP,
        )
        cols[1].button(
            "",
            icon=":material/casino:",
            key=f"cmp_{axis}_roll",
            help="Four random seeds",
            on_click=_roll_axis_seeds,
            args=(key,),
        )
    elif param == "aspect_ratio":
        st.multiselect(
            f"{axis.upper()} aspect ratios",
            ASPECT_RATIOS,
            default=["1:1", "16:9"],
            key=f"cmp_{axis}_ratios",
            persist_state=KEEP,
        )
    elif param == "safety_tolerance":
        st.multiselect(
            f"{axis.upper()} safety tolerances",
            SAFETY_TOLERANCES,
            default=["2", "6"],
            key=f"cmp_{axis}_tols",
            persist_state=KEEP,
        )
    elif param == "prompt":
        st.caption("Values: the prompt's {…|…} alternatives.")
    else:
        st.caption(
            f"Values: every {AXIS_PARAMS[param]} ({'off, on' if param == 'raw' else 'jpeg, png'})."
        )


def grid_form() -> None:
    _prompt(
        "Prompt (a template)",
        "Alternatives in braces become prompt variants: "
        "`a {red|blue} car at {dawn|night}` gives four prompts.",
    )
    template = st.session_state.get(K_PROMPT) or ""
    if template_groups(template):
        try:
            variants = expand_template(template)
            shown = ", ".join(v.label for v in variants[:6]) + (" …" if len(variants) > 6 else "")
            st.caption(md_escape(f"Expands to {len(variants)} prompts: {shown}"))
        except PlanError as exc:
            st.caption(md_escape(str(exc)))
    else:
        st.caption(md_escape(f"Tip: try a template such as “{EXAMPLE_TEMPLATE}”."))
    cols = st.columns(2)
    names = list(AXIS_PARAMS)
    with cols[0]:
        x = st.selectbox(
            "X axis (columns)",
            names,
            index=names.index("aspect_ratio"),
            format_func=lambda p: AXIS_PARAMS[p],
            key=K_X,
            persist_state=KEEP,
        )
        _axis_values("x", x)
    with cols[1]:
        y = st.selectbox(
            "Y axis (rows)",
            [NO_Y, *names],
            format_func=lambda p: "None" if p == NO_Y else AXIS_PARAMS[p],
            key=K_Y,
            persist_state=KEEP,
        )
        if y != NO_Y:
            _axis_values("y", y)
    varying = {x, y}
    if "seed" not in varying:
        _shared_seed()
    shared_parameters(varying)


FORMS = {
    CompareMode.SEEDS: seeds_form,
    CompareMode.PROMPTS: prompts_form,
    CompareMode.GRID: grid_form,
}


def _seeds_from(key: str, field: str) -> list[int]:
    """The seeds typed in one field; a bad one is a PlanError naming that field (shown by the
    Run controls on every rerun until it is fixed), never another exception."""
    try:
        return parse_seeds(str(st.session_state.get(key) or ""))
    except PlanError as exc:
        raise PlanError(f"{field}: {exc}") from None


def _axis_from_state(axis: str, param: str) -> Axis:
    state = st.session_state
    if param == "seed":
        return axis_for("seed", _seeds_from(f"cmp_{axis}_seeds", f"{axis.upper()} seeds"))
    if param == "aspect_ratio":
        return axis_for(param, state.get(f"cmp_{axis}_ratios") or [])
    if param == "safety_tolerance":
        return axis_for(param, sorted(state.get(f"cmp_{axis}_tols") or [], key=int))
    if param == "raw":
        return axis_for(param, [False, True])
    if param == "output_format":
        return axis_for(param, list(OUTPUT_FORMATS))
    return axis_for("prompt", template=state.get(K_PROMPT) or "")


def build_plan(mode: CompareMode, rng: random.Random | None = None) -> Plan:
    """The plan the form describes; PlanError says what to change. With rng=None random seeds
    stay undrawn (a preview); the Run button passes one so they are drawn once, at send time."""
    state = st.session_state
    base = base_request()
    if mode == CompareMode.SEEDS:
        if state.get(K_SEED_SOURCE) == "list":
            return seeds_plan(base, _seeds_from(K_SEED_LIST, "Seed list"))
        return seeds_plan(base, None, int(state.get(K_SEED_COUNT) or 4), rng)
    if mode == CompareMode.PROMPTS:
        return prompts_plan(base, [state.get(k) or "" for k in PROMPT_KEYS], rng)
    if mode == CompareMode.GRID:
        x_param = state.get(K_X) or "seed"
        y_param = state.get(K_Y) or NO_Y
        template = state.get(K_PROMPT) or ""
        if x_param == "prompt" and y_param == "prompt":
            x, y = prompt_axes(template, split=True)
        else:
            x = _axis_from_state("x", x_param)
            y = None if y_param == NO_Y else _axis_from_state("y", y_param)
        return grid_plan(template, base, x, y, rng)
    raise PlanError(f"Unknown mode {mode!r}.")
