"""Presets on the Generate page: apply one (filling its variables), save the form as one, and
move them between studios as JSON. Anyone may apply a preset; saving, deleting and importing
are the presenter's (presets are studio-wide)."""

from __future__ import annotations

from dataclasses import replace

import streamlit as st

from components.experiments.presets import (
    Preset,
    PresetError,
    PresetStore,
    SeedPolicy,
    export_json,
    import_json,
)
from components.ui import access, handoff, param_form, resources
from components.ui.safe import md_escape

PICK = "gen_preset_pick"
NAME = "gen_preset_name"
FLASH = "gen_preset_flash"
QUERY = "preset"  # ?preset=<name>: a shareable link can name a preset
APPLIED_FROM_LINK = "_gen_preset_from_link"
IMPORTED = "_gen_preset_imported"  # the file id of the last presets file imported


def store() -> PresetStore:
    log, _ = resources.all_stores()
    return PresetStore(log)


def _var_key(name: str) -> str:
    return f"gen_preset_var_{name}"


def _apply(name: str) -> None:
    preset = store().get(name)
    if preset is None:
        st.session_state[FLASH] = ("error", f"No preset named “{name}” any more.")
        return
    values = {v: st.session_state.get(_var_key(v)) or "" for v in preset.variables()}
    try:
        request = preset.request(values)
    except PresetError as exc:
        st.session_state[FLASH] = ("error", str(exc))
        return
    param_form.load_request(request)
    st.session_state["gen_parent"] = (None, "preset")  # the next Generate is "from a preset"
    st.session_state[FLASH] = ("success", f"Preset “{name}” is in the form.")


def _run_list(preset: Preset) -> None:
    values = {v: st.session_state.get(_var_key(v)) or "" for v in preset.variables()}
    try:
        request = preset.request(values)
    except PresetError as exc:
        st.error(md_escape(str(exc)), icon=":material/error:")
        return
    handoff.to_vary(replace(request, seed=None, num_images=1), None, list(preset.seeds))


def _save() -> None:
    if not access.is_presenter():
        return
    name = (st.session_state.get(NAME) or "").strip()
    try:
        saved = store().save(Preset.from_request(name, param_form.current_request()))
    except PresetError as exc:
        st.session_state[FLASH] = ("error", str(exc))
        return
    st.session_state[PICK] = saved.name
    st.session_state[NAME] = ""
    st.session_state[FLASH] = ("success", f"Saved as “{saved.name}”.")


def _delete(name: str) -> None:
    if access.is_presenter():
        store().delete(name)
        st.session_state.pop(PICK, None)
        st.session_state[FLASH] = ("success", f"Deleted “{name}”.")


def from_link() -> None:
    """`?preset=<name>` (with `&<variable>=<value>`s) fills the form once, before widgets."""
    name = st.query_params.get(QUERY)
    if not name or st.session_state.get(APPLIED_FROM_LINK) == name:
        return
    st.session_state[APPLIED_FROM_LINK] = name
    preset = store().get(name)
    if preset is None:
        st.session_state[FLASH] = ("error", f"The link names a preset “{name}” this studio lacks.")
        return
    for variable in preset.variables():
        if value := st.query_params.get(variable):
            st.session_state[_var_key(variable)] = value
    st.session_state[PICK] = name
    _apply(name)


def panel() -> None:
    every = store().all()
    with st.expander("Presets", icon=":material/bookmarks:", expanded=bool(every)):
        if flash := st.session_state.pop(FLASH, None):
            kind, text = flash
            (st.error if kind == "error" else st.success)(md_escape(text))
        if every:
            names = [p.name for p in every]
            if st.session_state.get(PICK) not in names:
                st.session_state[PICK] = names[0]
            picked = st.selectbox("Preset", names, key=PICK)
            preset = next(p for p in every if p.name == picked)
            st.caption(md_escape(_describe(preset)))
            for variable in preset.variables():
                st.text_input(f"{{{variable}}}", key=_var_key(variable))
            row = st.container(horizontal=True, gap="small")
            row.button(
                "Apply", type="primary", key="gen_preset_apply", on_click=_apply, args=(picked,)
            )
            several = preset.seed_policy == SeedPolicy.LIST and len(preset.seeds) > 1
            if several and row.button(
                f"Run its {len(preset.seeds)} seeds in Compare",
                key="gen_preset_compare",
                help="Every seed of the list at once, side by side",
            ):
                _run_list(preset)
            if access.is_presenter():
                row.button("Delete", key="gen_preset_delete", on_click=_delete, args=(picked,))
        else:
            st.caption("No presets yet: save the form as one below.")
        if access.is_presenter():
            _presenter_tools(every)


def _describe(preset: Preset) -> str:
    seed = {
        "fixed": f"seed {preset.seeds[0]}" if preset.seeds else "fixed seed",
        "random": "a new random seed each time",
        "list": f"seeds {', '.join(map(str, preset.seeds))}",
    }[preset.seed_policy.value]
    raw = " · raw" if preset.raw else ""
    return f"“{preset.template}” · {preset.aspect_ratio}{raw} · {preset.output_format} · {seed}"


def _presenter_tools(every: list[Preset]) -> None:
    cols = st.columns([3, 2], vertical_alignment="bottom")
    cols[0].text_input(
        "Save the form as a preset",
        key=NAME,
        placeholder="A name, e.g. Poster, ukiyo-e",
        help="The prompt (write {subject} for a variable), every setting, and the seed: a seed "
        "in the form is kept; an empty seed means a new random one each time.",
    )
    cols[1].button("Save preset", key="gen_preset_save", on_click=_save, width="stretch")
    exchange = st.container(horizontal=True, gap="small")
    if every:
        exchange.download_button(
            "Export presets (JSON)",
            data=lambda: export_json(store().all()),
            file_name="flux-studio-presets.json",
            mime="application/json",
            on_click="ignore",
            key="gen_preset_export",
        )
    upload = st.file_uploader(
        "Import presets (JSON)", type=["json"], key="gen_preset_import", max_upload_size=1
    )
    if upload is None:
        return
    # Once per file: the file stays in the uploader, and every rerun would import it again
    # (bringing back a preset deleted since, or undoing a newer save of the same name).
    if st.session_state.get(IMPORTED) == upload.file_id:
        st.caption("This file is imported. Remove it to import another.")
        return
    st.session_state[IMPORTED] = upload.file_id
    try:
        found = import_json(upload.getvalue())
    except PresetError as exc:
        st.error(md_escape(str(exc)), icon=":material/error:")
        return
    for preset in found:
        store().save(preset)
    st.success(f"Imported {len(found)} preset(s); a preset of the same name was replaced.")
