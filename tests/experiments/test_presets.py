"""Presets that reproduce: a named, complete request with variables and a seed policy."""

from __future__ import annotations

import json

import pytest

from components.api.contract import GenerationRequest
from components.experiments.presets import (
    Preset,
    PresetError,
    PresetStore,
    SeedPolicy,
    export_json,
    import_json,
)
from components.log.store import LogStore


@pytest.fixture
def store(db_url: str) -> PresetStore:
    return PresetStore(LogStore(db_url))


POSTER = Preset(
    "Poster",
    "a {subject} in {style} style, {subject} in focus",
    aspect_ratio="9:16",
    raw=True,
    output_format="png",
    safety_tolerance="4",
    enable_safety_checker=False,
    num_images=2,
    seed_policy=SeedPolicy.FIXED,
    seeds=(4242,),
)
VALUES = {"subject": "a red fox", "style": "ukiyo-e"}


def body(request: GenerationRequest) -> bytes:
    return json.dumps(request.to_body()).encode()


def test_the_same_variables_and_a_fixed_seed_give_the_same_body_byte_for_byte(store):
    store.save(POSTER)
    again = PresetStore(store.store).get("Poster")  # read back from the database
    assert again == POSTER
    assert body(again.request(VALUES)) == body(POSTER.request(VALUES))
    sent = again.request(VALUES).to_body()
    assert sent["prompt"] == "a a red fox in ukiyo-e style, a red fox in focus"
    assert sent["seed"] == 4242 and sent["raw"] is True and sent["num_images"] == 2
    assert sent["aspect_ratio"] == "9:16" and sent["output_format"] == "png"


def test_variables_in_order_and_compare_variants_are_not_variables():
    preset = Preset("x", "{b} and {a} then {b} in {red|blue}")
    assert preset.variables() == ["b", "a"]
    assert preset.prompt({"a": "1", "b": "2"}) == "2 and 1 then 2 in {red|blue}"
    with pytest.raises(PresetError, match=r"\{a\}"):
        preset.prompt({"b": "2", "a": "  "})


def test_seed_policies():
    random = Preset("r", "a cat")
    assert random.request({}).seed is None
    listed = Preset("l", "a cat", seed_policy=SeedPolicy.LIST, seeds=(7, 8, 9))
    assert listed.request({}).seed == 7 and listed.request({}, seed=9).seed == 9
    with pytest.raises(PresetError):
        Preset("f", "a cat", seed_policy=SeedPolicy.FIXED).checked()


@pytest.mark.parametrize(
    "bad",
    [
        {"name": ""},
        {"name": "x" * 61},
        {"template": "  "},
        {"aspect_ratio": "5:4"},
        {"num_images": 9},
        {"seeds": (0,), "seed_policy": SeedPolicy.FIXED},
    ],
)
def test_a_preset_that_would_not_make_a_valid_request_is_refused(store, bad):
    with pytest.raises(PresetError):
        store.save(Preset(**{**POSTER.__dict__, **bad}))
    assert store.all() == []


def test_saving_from_the_form_keeps_its_seed_or_none():
    seeded = Preset.from_request("S", GenerationRequest(prompt="a {thing}", seed=99))
    assert seeded.seed_policy == SeedPolicy.FIXED and seeded.seeds == (99,)
    fresh = Preset.from_request("R", GenerationRequest(prompt="a {thing}"))
    assert fresh.seed_policy == SeedPolicy.RANDOM and fresh.seeds == ()


def test_export_then_import_round_trips_and_replaces_by_name(store, tmp_path):
    store.save(POSTER)
    store.save(Preset("Second", "a {thing}"))
    data = export_json(store.all())
    other = PresetStore(LogStore(tmp_path / "other.db"))
    other.save(Preset("Poster", "an older poster"))
    for preset in import_json(data):
        other.save(preset)
    assert [p.name for p in other.all()] == ["Poster", "Second"]
    assert other.get("Poster") == POSTER


@pytest.mark.parametrize(
    "data",
    [b"not json", b"[]", b'{"format": "something else"}', b'{"format": "flux-studio-presets"}'],
)
def test_a_file_that_is_not_a_presets_export_is_refused(data):
    with pytest.raises(PresetError):
        import_json(data)


def test_delete(store):
    store.save(POSTER)
    store.delete("Poster")
    assert store.get("Poster") is None


@pytest.mark.parametrize(
    "change",
    [{"name": 5}, {"template": ["a"]}, {"raw": "false"}, {"num_images": "2"}, {"seeds": "7"}],
)
def test_a_hand_edited_file_with_wrong_types_is_refused_not_misread(change):
    data = {**POSTER.to_dict(), **change}
    payload = json.dumps({"format": "flux-studio-presets", "version": 1, "presets": [data]})
    with pytest.raises(PresetError, match="wrong type"):
        import_json(payload.encode())


def test_lineage_travels_with_an_export_and_import(tmp_path):
    """A family exported as JSON (and CSV) and imported elsewhere is the same family."""
    source = LogStore(tmp_path / "a.db")
    root = source.append({"prompt": "a kite"})
    child = source.append({"prompt": "a kite, red", "parent_id": root, "lineage": "refine"})
    source.append({"prompt": "a kite, red, dusk", "parent_id": child, "lineage": "vary"})
    for fmt in ("json", "csv"):
        data = LogStore.export(source.query(), fmt)
        target = LogStore(tmp_path / f"b-{fmt}.db")
        assert target.import_rows(data, fmt).added == 3
        ancestors, descendants = target.lineage(root)
        assert ancestors == []
        assert [(d["lineage"], d["_depth"]) for d in descendants] == [("refine", 1), ("vary", 2)]
