"""The presenter's studio-wide settings in the studio_policy table of a real SQLite file."""

from __future__ import annotations

import json
import threading
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import insert, select, update

from components.log.schema import studio_policy
from components.log.store import LogStore
from components.sharing.passcode import ALPHABET, matches
from components.sharing.policy import Policy, PolicyStore, defaults


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "studio.db"


@pytest.fixture
def store(db: Path):
    s = LogStore(db)
    yield s
    s.close()


def _stored(store: LogStore) -> dict[str, object]:
    with store.reader() as conn:
        rows = conn.execute(select(studio_policy.c.name, studio_policy.c.value)).all()
    return {name: json.loads(value) for name, value in rows}


def _put(store: LogStore, name: str, text: str) -> None:
    """Write a raw value by hand, as someone editing the database would."""
    with store.transaction() as conn:
        found = conn.execute(
            update(studio_policy).where(studio_policy.c.name == name).values(value=text)
        )
        if found.rowcount == 0:
            conn.execute(insert(studio_policy).values(name=name, value=text))


def test_the_defaults_are_the_safe_ones() -> None:
    policy = Policy()
    assert policy.viewers_may_generate is False and policy.viewers_may_export is False
    assert policy.studio_budget_usd == 5.0 and policy.viewer_budget_usd == 1.0
    assert policy.viewer_passcode == "" and policy.epoch == 0
    assert policy.checked() == policy
    assert policy.viewers_need_passcode is True


def test_the_first_load_makes_a_viewer_passcode_and_keeps_it(store: LogStore) -> None:
    assert _stored(store) == {}
    first = PolicyStore(store).load()
    assert first.viewers_may_generate is False and first.viewers_may_export is False
    assert first == replace(defaults(), viewer_passcode=first.viewer_passcode)
    code = first.viewer_passcode
    assert len(code) == 9 and code[4] == "-" and set(code.replace("-", "")) <= set(ALPHABET)
    assert _stored(store) == {"viewer_passcode": code}  # only what was set is stored
    assert PolicyStore(store).load() == first


def test_sessions_making_the_first_passcode_at_once_agree_on_one(db: Path) -> None:
    stores = [LogStore(db) for _ in range(6)]
    barrier = threading.Barrier(len(stores))
    codes: list[str] = []

    def load(s: LogStore) -> None:
        barrier.wait()
        codes.append(PolicyStore(s).load().viewer_passcode)

    threads = [threading.Thread(target=load, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    for s in stores:
        s.close()
    assert len(codes) == len(stores) and len(set(codes)) == 1
    with LogStore(db) as again:
        assert PolicyStore(again).load().viewer_passcode == codes[0]


def test_saved_settings_persist_for_a_new_store_on_the_same_file(db: Path) -> None:
    with LogStore(db) as store:
        policies = PolicyStore(store)
        code = policies.load().viewer_passcode
        saved = policies.save(
            viewers_may_generate=True,
            viewers_see_own_rows_only=True,
            studio_budget_usd=12.5,
            viewer_budget_usd=0.0,
            concurrency=2,
            retries=0,
            timeout_s=30.0,
        )
        assert saved.viewers_may_generate is True and saved.viewer_passcode == code
    with LogStore(db) as store:
        loaded = PolicyStore(store).load()
    assert loaded == saved
    assert loaded.viewers_may_export is False  # not touched, still the default


def test_save_changes_only_what_it_names(store: LogStore) -> None:
    policies = PolicyStore(store)
    policies.save(studio_budget_usd=7.0)
    policies.save(viewers_may_export=True)
    loaded = policies.load()
    assert loaded.studio_budget_usd == 7.0 and loaded.viewers_may_export is True


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("studio_budget_usd", -0.01),
        ("studio_budget_usd", 10_000.01),
        ("studio_budget_usd", float("nan")),
        ("studio_budget_usd", float("inf")),
        ("viewer_budget_usd", -1),
        ("concurrency", 0),
        ("concurrency", 17),
        ("retries", -1),
        ("retries", 7),
        ("timeout_s", 4.9),
        ("timeout_s", 600.1),
    ],
)
def test_invalid_values_are_refused_by_name_and_nothing_is_stored(
    store: LogStore, name: str, value: object
) -> None:
    policies = PolicyStore(store)
    before = policies.load()
    stored = _stored(store)
    with pytest.raises(ValueError, match=name):
        policies.save(viewers_may_generate=True, **{name: value})
    assert _stored(store) == stored
    assert policies.load() == before


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("studio_budget_usd", 0.0),
        ("studio_budget_usd", 10_000.0),
        ("concurrency", 1),
        ("concurrency", 16),
        ("retries", 0),
        ("retries", 6),
        ("timeout_s", 5.0),
        ("timeout_s", 600.0),
    ],
)
def test_the_bounds_themselves_are_allowed(store: LogStore, name: str, value: object) -> None:
    assert getattr(PolicyStore(store).save(**{name: value}), name) == value
    assert getattr(PolicyStore(store).load(), name) == value


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("studio_budget_usd", None),
        ("studio_budget_usd", "abc"),
        ("viewers_may_generate", "no"),
    ],
)
def test_values_of_the_wrong_type_are_refused_by_name(
    store: LogStore, name: str, value: object
) -> None:
    policies = PolicyStore(store)
    with pytest.raises(ValueError, match=name):
        policies.save(**{name: value})


def test_an_unknown_setting_is_refused(store: LogStore) -> None:
    with pytest.raises(ValueError, match="no_such_setting"):
        PolicyStore(store).save(no_such_setting=1)
    assert _stored(store) == {}


def test_rotating_changes_the_passcode_and_bumps_the_epoch(store: LogStore) -> None:
    policies = PolicyStore(store)
    first = policies.load()
    policies.save(viewers_may_generate=True)
    rotated = policies.rotate_viewer_passcode()
    assert rotated.viewer_passcode != first.viewer_passcode
    assert not matches(first.viewer_passcode, rotated.viewer_passcode)
    assert rotated.epoch == first.epoch + 1
    assert rotated.viewers_may_generate is True  # nothing else changes
    assert policies.load() == rotated
    assert policies.rotate_viewer_passcode().epoch == first.epoch + 2


def test_stored_names_of_a_newer_release_are_ignored(store: LogStore) -> None:
    policies = PolicyStore(store)
    policies.save(studio_budget_usd=3.0)
    _put(store, "viewers_may_fly", "true")
    loaded = policies.load()
    assert loaded.studio_budget_usd == 3.0 and not hasattr(loaded, "viewers_may_fly")
    assert policies.save(retries=1).retries == 1  # and saving still works beside it


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("concurrency", '"lots"'),  # JSON, but not a number
        ("studio_budget_usd", "-5"),  # a number out of range
        ("retries", "null"),
    ],
)
def test_a_value_corrupted_by_hand_falls_back_to_its_own_default(
    store: LogStore, name: str, text: str
) -> None:
    policies = PolicyStore(store)
    policies.save(viewers_may_generate=True, viewers_may_export=True, viewer_budget_usd=2.5)
    _put(store, name, text)
    loaded = policies.load()
    assert getattr(loaded, name) == getattr(defaults(), name)
    # The other settings stay as saved (the switches, the passcode above all).
    assert loaded.viewers_may_generate is True and loaded.viewers_may_export is True
    assert loaded.viewer_budget_usd == 2.5
    assert loaded.viewer_passcode  # still someone can be let in


def test_a_value_that_is_not_json_is_skipped_alone(store: LogStore) -> None:
    policies = PolicyStore(store)
    policies.save(viewers_may_generate=True, timeout_s=60.0)
    _put(store, "timeout_s", "{not json")
    loaded = policies.load()
    assert loaded.timeout_s == defaults().timeout_s
    assert loaded.viewers_may_generate is True


def test_the_viewer_passcode_stays_put_beside_a_corrupted_value(store: LogStore) -> None:
    policies = PolicyStore(store)
    code = policies.load().viewer_passcode
    _put(store, "concurrency", '"lots"')
    first = policies.load().viewer_passcode
    assert policies.load().viewer_passcode == first
    assert first == code


def test_a_yes_no_setting_edited_into_text_gives_the_safe_default(store: LogStore) -> None:
    _put(store, "viewers_may_generate", '"false"')
    assert PolicyStore(store).load().viewers_may_generate is False
