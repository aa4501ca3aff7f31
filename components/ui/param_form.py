"""The Generate form, and the parameter widgets Compare draws too: one place for each field of
the contract, read from the request model.

On Generate each widget is bound to the page URL (`bind="query-params"`), so the address bar is a
shareable link that pre-fills the form. The key is never a widget here, so it can never reach
the URL.
"""

from __future__ import annotations

import random
from dataclasses import replace
from typing import Any, Literal

import streamlit as st

from components.api.contract import (
    ASPECT_RATIOS,
    ASPECT_SIZES,
    NUM_IMAGES_MAX,
    NUM_IMAGES_MIN,
    OUTPUT_FORMATS,
    PROMPT_MAX_CHARS,
    RANDOM_SEED_MAX,
    SAFETY_TOLERANCES,
    SEED_MAX,
    SEED_MIN,
    GenerationRequest,
)
from components.ui.prompt_assist import prompt_assist
from components.ui.recent_prompts import recent_prompts
from components.ui.safe import md_escape

Bind = Literal["query-params"] | None
Persist = Literal["page", "session"] | None

ERRORS_STATE = "gen_errors"
DEFAULTS = GenerationRequest()

# Widget keys double as query parameter names, so they read well in a shared link.
K_PROMPT, K_RATIO, K_NUM, K_SEED = "prompt", "aspect_ratio", "num_images", "seed"
K_RAW, K_FORMAT, K_TOL, K_CHECKER = "raw", "output_format", "safety_tolerance", "safety_checker"
SUBMIT_KEY = "gen_submit"
PROMPT_PLACEHOLDER = "Describe the image: subject, setting, light, lens, mood…"

EXAMPLES = {
    "T-Rex on a beach": (
        "A T-Rex relaxing on a beach, lying on a sun lounger and wearing sunglasses."
    ),
    "Neon ramen bar": (
        "A tiny ramen bar on a rainy Tokyo side street at night, neon signs reflected in wet "
        "asphalt, steam rising from the bowls, cinematic 35mm photograph"
    ),
    "Product shot": (
        "Studio product photo of matte black wireless headphones on a white marble pedestal, "
        "soft rim light, shallow depth of field, clean grey background"
    ),
    "Alpine lake": (
        "Aerial photograph of a turquoise alpine lake at sunrise, low mist over pine forests, "
        "snow-capped peaks, ultra detailed"
    ),
    "Fisherman portrait": (
        "Close-up portrait of an old fisherman with weathered skin and a knitted wool cap, "
        "natural window light, film grain"
    ),
}


def errors() -> dict[str, str]:
    return st.session_state.get(ERRORS_STATE) or {}


def _field_error(name: str) -> None:
    message = errors().get(name)
    if message:
        label = name.replace("_", " ").capitalize()
        st.error(f"{md_escape(label)} {md_escape(message)}", icon=":material/error:")


def _use_example() -> None:
    choice = st.session_state.get("gen_example")
    if choice in EXAMPLES:
        st.session_state[K_PROMPT] = EXAMPLES[choice]
    st.session_state["gen_example"] = None


def _roll_seed() -> None:
    st.session_state[K_SEED] = random.randint(SEED_MIN, RANDOM_SEED_MAX)


def _clear_seed() -> None:
    st.session_state[K_SEED] = None


def ratio_label(ratio: str) -> str:
    width, height = ASPECT_SIZES[ratio]
    return f"{ratio} · {width}×{height}"


def _keeping(in_url: bool) -> tuple[Bind, Persist]:
    """Where a widget keeps its value: Generate's in the URL (the link pre-fills the form),
    Compare's for the browser session (nothing typed is lost on a page switch)."""
    return ("query-params", None) if in_url else (None, "session")


def prompt_box(
    label: str,
    key: str,
    *,
    in_url: bool,
    help: str | None = None,
    height: int = 130,
    submit_key: str | None = None,
) -> None:
    """A prompt text area with a live count. No `max_chars`: that would silently cut an
    over-long paste; the count turns red instead and validation names the limit."""
    bind, persist = _keeping(in_url)
    st.text_area(
        label,
        key=key,
        height=height,
        placeholder=PROMPT_PLACEHOLDER,
        help=help,
        bind=bind,
        persist_state=persist,
    )
    count = len(st.session_state.get(key) or "")
    prompt_assist(label, count, PROMPT_MAX_CHARS, key=f"{key}_assist", submit_key=submit_key)


def ratio_select(key: str, *, disabled: bool = False) -> None:
    # Never bound to the URL: the labels carry pixel sizes (see _ratio_from_url). The default
    # goes into the state, not `index=`: a value set by a link or a hand-off would otherwise
    # meet a default too (Streamlit warns, and the default could win).
    st.session_state.setdefault(key, DEFAULTS.aspect_ratio)
    st.selectbox(
        "Aspect ratio · output size",
        ASPECT_RATIOS,
        format_func=ratio_label,
        key=key,
        persist_state="session",
        disabled=disabled,
        help="FLUX 1.1 [pro] Ultra renders about 4 megapixels at every ratio.",
    )


def seed_input(
    key: str, *, in_url: bool, label: str = "Seed", placeholder: str = "Random", help: str
) -> None:
    bind, persist = _keeping(in_url)
    st.number_input(
        label,
        min_value=SEED_MIN,
        max_value=SEED_MAX,
        value=None,
        step=1,
        placeholder=placeholder,
        key=key,
        help=help,
        bind=bind,
        persist_state=persist,
    )


def raw_toggle(key: str, *, in_url: bool, disabled: bool = False) -> None:
    bind, persist = _keeping(in_url)
    st.toggle(
        "Raw mode",
        value=DEFAULTS.raw,
        key=key,
        help="Less processed, more natural-looking images (model flux-pro/v1.1-ultra-raw).",
        disabled=disabled,
        bind=bind,
        persist_state=persist,
    )


def format_picker(key: str, *, in_url: bool, disabled: bool = False) -> None:
    bind, persist = _keeping(in_url)
    st.segmented_control(
        "Output format",
        list(OUTPUT_FORMATS),
        default=DEFAULTS.output_format,
        required=True,
        key=key,
        disabled=disabled,
        bind=bind,
        persist_state=persist,
    )


def tolerance_slider(key: str, *, in_url: bool, disabled: bool = False) -> None:
    bind, persist = _keeping(in_url)
    st.select_slider(
        "Safety tolerance",
        list(SAFETY_TOLERANCES),
        value=DEFAULTS.safety_tolerance,
        key=key,
        help="1 strictest · 6 most permissive",
        disabled=disabled,
        bind=bind,
        persist_state=persist,
    )


def checker_toggle(key: str, *, in_url: bool) -> None:
    bind, persist = _keeping(in_url)
    st.toggle(
        "Safety checker",
        value=DEFAULTS.enable_safety_checker,
        key=key,
        help="Flags images the provider considers NSFW; flagged images stay hidden here "
        "until you reveal them.",
        bind=bind,
        persist_state=persist,
    )


def prompt_area() -> None:
    prompt_box(
        "Prompt",
        K_PROMPT,
        in_url=True,
        help=f"Up to {PROMPT_MAX_CHARS} characters. Ctrl/Cmd+Enter generates.",
        submit_key=SUBMIT_KEY,
    )
    _field_error("prompt")
    st.pills(
        "Start from an example",
        list(EXAMPLES),
        key="gen_example",
        on_change=_use_example,
        label_visibility="collapsed",
        wrap=True,
    )
    recent_prompts(K_PROMPT, "gen_recent")


def _ratio_from_url() -> None:
    """The ratio widget shows pixel sizes in its labels, so it syncs with the URL by hand
    (a bound widget would put the whole label in the link)."""
    if K_RATIO not in st.session_state:
        wanted = st.query_params.get(K_RATIO)
        st.session_state[K_RATIO] = wanted if wanted in ASPECT_RATIOS else DEFAULTS.aspect_ratio


def _ratio_to_url() -> None:
    value = st.session_state.get(K_RATIO)
    if value and value != DEFAULTS.aspect_ratio:
        st.query_params[K_RATIO] = value
    elif K_RATIO in st.query_params:
        del st.query_params[K_RATIO]


def parameters() -> None:
    """Every other field of the contract, defaults from the request model."""
    _ratio_from_url()
    cols = st.columns([1, 1], vertical_alignment="bottom")
    with cols[0]:
        ratio_select(K_RATIO)
        _ratio_to_url()
        _field_error("aspect_ratio")
    with cols[1]:
        st.segmented_control(
            "Images",
            list(range(NUM_IMAGES_MIN, NUM_IMAGES_MAX + 1)),
            default=DEFAULTS.num_images,
            required=True,
            key=K_NUM,
            width="stretch",
            bind="query-params",
        )
        _field_error("num_images")
    # A horizontal row, not columns: columns stack on a phone and each icon button became a
    # full-width bar; this row keeps the field and its two buttons side by side at any width.
    seed_row = st.container(horizontal=True, vertical_alignment="bottom", gap="small")
    with seed_row:
        seed_input(
            K_SEED,
            in_url=True,
            help="Empty means a new random seed each time. The same prompt and seed give the "
            "same image.",
        )
    seed_row.button(
        "",
        icon=":material/casino:",
        key="gen_roll",
        help="Roll a new seed",
        on_click=_roll_seed,
        width="content",
    )
    seed_row.button(
        "",
        icon=":material/close:",
        key="gen_clear_seed",
        help="Back to a random seed",
        on_click=_clear_seed,
        width="content",
    )
    _field_error("seed")
    raw_toggle(K_RAW, in_url=True)
    with st.expander("More settings", icon=":material/tune:"):
        more = st.columns(2)
        with more[0]:
            format_picker(K_FORMAT, in_url=True)
        with more[1]:
            checker_toggle(K_CHECKER, in_url=True)
        tolerance_slider(K_TOL, in_url=True)
        for name in ("output_format", "safety_tolerance", "enable_safety_checker", "raw"):
            _field_error(name)


def request_from_state(keys: dict[str, str]) -> GenerationRequest:
    """A request from widget values: `keys` maps request fields to widget keys; a field with no
    widget, or a widget still empty, keeps the request model's default."""
    state = st.session_state
    values: dict[str, Any] = {}
    for name, key in keys.items():
        value = state.get(key)
        if name == "prompt":
            values[name] = value or ""
        elif value is not None:
            values[name] = value
    request = GenerationRequest(**values)
    return replace(
        request,
        raw=bool(request.raw),
        safety_tolerance=str(request.safety_tolerance),
        enable_safety_checker=bool(request.enable_safety_checker),
    )


def current_request() -> GenerationRequest:
    """The request the form describes right now (not yet validated)."""
    return request_from_state(
        {
            "prompt": K_PROMPT,
            "aspect_ratio": K_RATIO,
            "num_images": K_NUM,
            "seed": K_SEED,
            "raw": K_RAW,
            "output_format": K_FORMAT,
            "safety_tolerance": K_TOL,
            "enable_safety_checker": K_CHECKER,
        }
    )


def load_request(request: GenerationRequest) -> None:
    """Pre-fill the form (re-run from the log, reuse parameters); call before widgets render."""
    state = st.session_state
    state[K_PROMPT] = request.prompt
    state[K_RATIO] = request.aspect_ratio
    state[K_NUM] = request.num_images
    state[K_SEED] = request.seed
    state[K_RAW] = bool(request.raw)
    state[K_FORMAT] = request.output_format
    state[K_TOL] = str(request.safety_tolerance)
    state[K_CHECKER] = bool(request.enable_safety_checker)
    state[ERRORS_STATE] = {}
