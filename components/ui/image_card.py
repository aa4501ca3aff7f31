"""One generated image as a card: thumbnail, facts, and the actions a user reaches for."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import streamlit as st

from components.api.contract import GenerationRequest
from components.log.rows import row_dict
from components.log.schema import WITH_IMAGES
from components.ui import handoff, param_form, resources, reveal, state
from components.ui.safe import md_escape


@dataclass(frozen=True)
class CardImage:
    """What a card needs, whether the image came from a fresh run or from the log."""

    key: str  # unique per image, for widget keys
    row_id: str
    index: int
    params: dict[str, Any]  # request parameters plus the seed actually used
    seed: int | None
    width: int | None
    height: int | None
    seconds: float | None
    nsfw: bool | None
    path: str | None  # original, relative to the data folder
    thumb_path: str | None
    data: bytes | None = None  # in-memory fallback when the file could not be saved

    @property
    def extension(self) -> str:
        fmt = (self.params.get("output_format") or "jpeg").lower()
        return "png" if fmt == "png" else "jpg"

    @property
    def file_name(self) -> str:
        return f"flux-{self.seed or 'random'}-{self.row_id[:8]}-{self.index}.{self.extension}"


def _abs(rel: str | None) -> Path | None:
    if not rel:
        return None
    _, images = resources.stores()
    return images.local_path(rel)  # with a bucket, fetched into the data folder first


def thumb_source(card: CardImage) -> str | bytes | None:
    _, images = resources.stores()
    if card.thumb_path:
        thumb = _abs(card.thumb_path)
        if thumb is None and card.path:
            images.ensure_thumbnail(card.path)  # thumbnails may have been cleared in Settings
            thumb = _abs(card.thumb_path)
        if thumb is not None:
            return str(thumb)
    original = _abs(card.path)
    return str(original) if original else card.data


def _original_bytes(card: CardImage):
    def read() -> bytes:
        path = _abs(card.path)
        return path.read_bytes() if path else (card.data or b"")

    return read


@st.dialog("Full size", width="large")
def full_size(card: CardImage) -> None:
    source = _abs(card.path)
    if reveal.is_hidden(card.nsfw, card.row_id, card.index):
        # The full-size view is no way around the card's hidden state.
        st.warning(
            reveal.NOTICE + " Reveal it on its card first.", icon=":material/visibility_off:"
        )
    elif source is not None:
        st.image(str(source), width="stretch")
    elif card.data:
        st.image(card.data, width="stretch")
    else:
        st.warning("The original file is no longer in the data folder.")
    st.caption(
        f"Seed {card.seed if card.seed is not None else 'not reported by the provider'} · "
        f"{card.width}×{card.height}"
    )
    st.code(json.dumps(card.params, indent=2, ensure_ascii=False), language="json")


def _reuse_seed(seed: int) -> None:
    st.session_state[param_form.K_SEED] = seed


def _reuse_all(params: dict[str, Any], seed: int | None) -> None:
    param_form.load_request(GenerationRequest.from_params({**params, "seed": seed}))


VARY, REFINE = "Vary: 4 new seeds", "Refine: same seed, edit the prompt"
COMPARE_PREVIOUS = "Compare with the one before"


def more_actions(card: CardImage) -> None:
    """The card's less-used actions in one menu (no label cut in a narrow card)."""
    options = [VARY, REFINE] if card.seed is not None else [VARY]
    options.append(COMPARE_PREVIOUS)
    chosen = st.menu_button(
        "More",
        options,
        key=f"more_{card.key}",
        icon=":material/more_horiz:",
        help="Vary sends the same prompt and settings with new seeds (in Compare); Refine "
        "puts this image's prompt, seed and settings in the form to edit",
    )
    if chosen == VARY:
        request = GenerationRequest.from_params({**card.params, "seed": None, "num_images": 1})
        handoff.to_vary(request, card.row_id)
    elif chosen == REFINE and card.seed is not None:
        refine(card.params, card.seed, card.row_id)
    elif chosen == COMPARE_PREVIOUS:
        previous = _previous_row(card.row_id)
        if previous is None:
            st.toast("Nothing was made before this one in this session.", icon=":material/info:")
        else:
            # Side by side, with what changed between them (the prompt word by word).
            handoff.to_compare(ids=[previous, card.row_id])


def _previous_row(row_id: str) -> str | None:
    """The image made just before this one in this browser session."""
    log, _ = resources.stores()
    recent = log.query(
        session_id=state.session_id(), status=WITH_IMAGES, columns=["id"], limit=200
    )["id"].tolist()
    if row_id not in recent:
        return None
    at = recent.index(row_id)
    return str(recent[at + 1]) if at + 1 < len(recent) else None


def refine(params: dict[str, Any], seed: int, row_id: str) -> None:
    """Same seed and settings, the prompt open for editing; the next Generate is its child."""
    handoff.to_generate(
        GenerationRequest.from_params({**params, "seed": seed}), parent=(row_id, "refine")
    )


def image_card(card: CardImage) -> None:
    """A card on the Generate page: its buttons fill the form on this same page."""
    with st.container(border=True):
        still_hidden = reveal.hidden(card.nsfw, card.row_id, card.index)
        if not still_hidden:
            source = thumb_source(card)
            if source is not None:
                # alt: screen readers get more than "image", and tests tell results apart.
                st.image(source, width="stretch", alt=f"result, seed {card.seed}")
            else:
                st.warning("Image file missing from the data folder.")
        seed_text = (
            f"seed {card.seed}" if card.seed is not None else "seed not reported by the provider"
        )
        facts = [seed_text]  # the size is in View and Parameters: a short line never wraps
        if card.seconds is not None:
            facts.append(f"{card.seconds:.1f} s")
        st.caption(md_escape(" · ".join(facts)))
        # A wrapping row: labels stay whole however narrow the card is.
        actions = st.container(horizontal=True, gap="small", wrap=True)
        if actions.button(
            "View",
            icon=":material/zoom_in:",
            key=f"view_{card.key}",
            help="Reveal the image first" if still_hidden else "Full size with all parameters",
            disabled=still_hidden,
            width="content",
        ):
            full_size(card)
        actions.download_button(
            "Download",
            data=_original_bytes(card),
            file_name=card.file_name,
            mime="image/png" if card.extension == "png" else "image/jpeg",
            icon=":material/download:",
            key=f"dl_{card.key}",
            help="The original file, with its parameters embedded",
            on_click="ignore",
            width="content",
        )
        actions.button(
            "Reuse seed",
            icon=":material/replay:",
            key=f"seed_{card.key}",
            help="Put this seed in the Generate form"
            if card.seed is not None
            else "The provider reported no seed for this image",
            disabled=card.seed is None,
            on_click=_reuse_seed,
            args=(card.seed,),
            width="content",
        )
        with actions:
            more_actions(card)
        pop = actions.popover(
            "Parameters",
            icon=":material/data_object:",
            width="content",
            key=f"params_{card.key}",
            on_change="rerun",  # drawn only when opened: keeps the grid light
        )
        if pop.open:
            with pop:
                st.code(json.dumps({**card.params, "seed": card.seed}, indent=2), language="json")
                st.button(
                    "Load into the form",
                    key=f"load_{card.key}",
                    on_click=_reuse_all,
                    args=(card.params, card.seed),
                )


def cards_from_row(row: dict[str, Any]) -> list[CardImage]:
    """Cards for a log row (one per stored image), for the Session log."""
    row = row_dict(row)
    params = GenerationRequest.from_params(row).to_params()
    params["model"] = row.get("model")
    paths = row.get("image_paths") or []
    thumbs = row.get("thumb_paths") or []
    return [
        CardImage(
            key=f"{row['id']}_{index}",
            row_id=row["id"],
            index=index,
            params=params,
            seed=row.get("seed"),
            width=row.get("width"),
            height=row.get("height"),
            seconds=row.get("total_s"),
            nsfw=row.get("nsfw"),
            path=path,
            thumb_path=thumbs[index] if index < len(thumbs) else None,
        )
        for index, path in enumerate(paths)
    ]
