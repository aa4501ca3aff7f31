"""Presets on the Generate page: save the form as one, apply it with its variables, name it in a
link; the next generation records that it came from a preset."""

from __future__ import annotations

from apptest_utils import button, new_app, run_until
from components.config import db_path
from components.experiments.presets import Preset, PresetStore, SeedPolicy
from components.log.store import LogStore


def test_save_the_form_then_apply_the_preset_with_its_variables(data):
    at = new_app()
    at.run()
    at.text_area(key="prompt").input("a {subject} on a {place}").run()
    at.number_input(key="seed").set_value(1234).run()
    at.text_input(key="gen_preset_name").input("Scene").run()
    button(at, "Save preset").click().run()
    assert not at.exception
    saved = PresetStore(LogStore(db_path(data))).get("Scene")
    assert saved is not None and saved.seeds == (1234,) and saved.seed_policy == SeedPolicy.FIXED
    at.text_area(key="prompt").input("something else").run()
    at.text_input(key="gen_preset_var_subject").input("lighthouse").run()
    at.text_input(key="gen_preset_var_place").input("cliff").run()
    button(at, "Apply").click().run()
    assert not at.exception
    assert at.text_area(key="prompt").value == "a lighthouse on a cliff"
    assert at.number_input(key="seed").value == 1234
    button(at, "Generate").click().run()
    log = LogStore(db_path(data))
    run_until(at, lambda a: log.count(status="ok") == 1)
    row = log.query(limit=1).iloc[0]
    assert row["lineage"] == "preset" and row["prompt"] == "a lighthouse on a cliff"


def test_a_link_names_a_preset_and_its_variables(data):
    PresetStore(LogStore(db_path(data))).save(
        Preset(
            "Poster",
            "a {subject}, poster",
            aspect_ratio="9:16",
            seed_policy=SeedPolicy.FIXED,
            seeds=(77,),
        )  # fmt: skip
    )
    at = new_app(preset="Poster", subject="red kite")
    at.run()
    assert not at.exception
    assert at.text_area(key="prompt").value == "a red kite, poster"
    assert at.number_input(key="seed").value == 77


def test_a_missing_variable_is_said_and_the_form_is_kept(data):
    PresetStore(LogStore(db_path(data))).save(Preset("Needs", "a {thing}"))
    at = new_app()
    at.run()
    at.text_area(key="prompt").input("my own prompt").run()
    button(at, "Apply").click().run()
    assert not at.exception
    assert any("Fill in {thing}" in e.value.replace("\\", "") for e in at.error)
    assert at.text_area(key="prompt").value == "my own prompt"


def test_compare_saves_its_seeds_form_with_the_seed_list(data):
    from streamlit.testing.v1 import AppTest

    from components.config import APP_ROOT

    at = AppTest.from_file(str(APP_ROOT / "pages" / "compare.py"), default_timeout=30)
    at.run()
    at.text_area(key="cmp_prompt").input("a {subject} at dawn").run()
    at.segmented_control(key="cmp_seed_source").set_value("list").run()
    at.text_input(key="cmp_seed_list").input("11, 22, 33").run()
    at.text_input(key="cmp_preset_name").input("Dawn, three seeds").run()
    button(at, "Save").click().run()
    assert not at.exception
    saved = PresetStore(LogStore(db_path(data))).get("Dawn, three seeds")
    assert saved is not None and saved.template == "a {subject} at dawn"
    assert saved.seed_policy == SeedPolicy.LIST and saved.seeds == (11, 22, 33)


def test_a_seed_list_preset_runs_all_its_seeds_in_compare(data):
    PresetStore(LogStore(db_path(data))).save(
        Preset("Three", "a {thing} at dusk", seed_policy=SeedPolicy.LIST, seeds=(11, 22, 33))
    )
    at = new_app()
    at.run()
    at.text_input(key="gen_preset_var_thing").input("kite").run()
    button(at, "Run its 3 seeds in Compare").click().run()
    assert not at.exception
    assert at.session_state["cmp_live"].run.wait(30)
    rows = LogStore(db_path(data)).query(columns=["seed", "prompt", "lineage", "group_id"])
    assert sorted(rows["seed"]) == [11, 22, 33] and rows["group_id"].nunique() == 1
    assert set(rows["prompt"]) == {"a kite at dusk"} and set(rows["lineage"]) == {"preset"}
