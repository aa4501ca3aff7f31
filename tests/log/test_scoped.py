"""A viewer's view of the log (LogStore.scoped) on a real SQLite file: reads limited to their
rows, changes limited to their rows, their appends always theirs, imports refused."""

from __future__ import annotations

from typing import Any

import pytest

from components.log.store import LogFilter, LogStore

ME = "viewer-aaaa1111"
OTHER = "viewer-bbbb2222"


def row(made_by: str | None, **over: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "session_id": "s1",
        "backend": "offline",
        "prompt": f"made by {made_by}",
        "status": "ok",
        "made_by": made_by,
    }
    values.update(over)
    return values


@pytest.fixture
def store(db_url: str):
    s = LogStore(db_url)
    s.append(row(ME, id="mine-1", group_id="g-mine", created_at="2026-03-10T10:00:00+00:00"))
    s.append(row(ME, id="mine-2", group_id="g-shared", created_at="2026-03-10T10:01:00+00:00"))
    s.append(row(OTHER, id="theirs-1", group_id="g-shared", created_at="2026-03-10T10:02:00+00:00"))
    s.append(row(OTHER, id="theirs-2", group_id="g-theirs", status="error"))
    s.append(row("presenter", id="host-1", group_id="g-host"))
    s.append(row(None, id="old-1"))  # from before sharing
    yield s
    s.close()


@pytest.fixture
def mine(store: LogStore) -> LogStore:
    return store.scoped(read=ME, write=ME)


def test_the_filter_has_made_by(store: LogStore) -> None:
    assert LogFilter(made_by=OTHER) != LogFilter()
    assert sorted(store.query(LogFilter(made_by=OTHER))["id"]) == ["theirs-1", "theirs-2"]
    assert store.count(made_by=ME) == 2


def test_scoping_leaves_the_original_store_alone(store: LogStore, mine: LogStore) -> None:
    assert mine is not store and mine.engine is store.engine
    assert (store.read_scope, store.write_scope) == (None, None)
    assert (mine.read_scope, mine.write_scope) == (ME, ME)
    assert store.count() == 6


def test_reads_see_only_own_rows(mine: LogStore) -> None:
    assert mine.count() == 2
    assert sorted(mine.query()["id"]) == ["mine-1", "mine-2"]
    assert mine.query(limit=1)["id"].tolist() == ["mine-2"]  # newest first, among mine
    assert mine.count(group_id="g-shared") == 1
    assert mine.count(LogFilter(made_by=OTHER)) == 0  # a filter cannot widen the scope
    assert mine.count(status="error") == 0
    assert mine.get("mine-1")["prompt"] == f"made by {ME}"
    assert mine.get("theirs-1") is None and mine.get("host-1") is None
    assert mine.get("old-1") is None


def test_groups_count_only_own_rows(mine: LogStore, store: LogStore) -> None:
    everyone = store.groups().set_index("group_id")
    assert everyone.loc["g-shared", "count"] == 2
    groups = mine.groups().set_index("group_id")
    assert sorted(groups.index) == ["g-mine", "g-shared"]
    assert groups.loc["g-shared", "count"] == 1
    assert groups.loc["g-shared", "prompt"] == f"made by {ME}"


def test_reading_everything_but_changing_only_own_rows(store: LogStore) -> None:
    view = store.scoped(read=None, write=ME)
    assert view.count() == 6 and view.get("theirs-1") is not None
    assert view.update("theirs-1", rating=1) is False
    assert view.update("mine-1", rating=4) is True


def test_updating_anothers_row_does_nothing(mine: LogStore, store: LogStore) -> None:
    before = store.fingerprint()
    assert mine.update("theirs-1", rating=1, note="mine now") is False
    assert mine.update("old-1", rating=1) is False
    assert store.get("theirs-1")["rating"] is None and store.get("theirs-1")["note"] is None
    assert store.fingerprint() == before
    assert mine.update("mine-1", rating=5, note="good") is True
    assert store.get("mine-1")["rating"] == 5 and store.get("mine-1")["note"] == "good"


def test_who_made_a_row_is_not_a_viewers_to_change(mine: LogStore, store: LogStore) -> None:
    with pytest.raises(PermissionError):
        mine.update("mine-1", made_by=OTHER)
    with pytest.raises(PermissionError):
        mine.update("theirs-1", made_by=ME)
    assert store.get("mine-1")["made_by"] == ME and store.get("theirs-1")["made_by"] == OTHER
    assert store.update("theirs-1", made_by="presenter") is True  # the unscoped store may


def test_deleting_anothers_row_does_nothing(mine: LogStore, store: LogStore) -> None:
    gone = mine.delete(["theirs-1", "host-1", "old-1", "mine-1"])
    assert [r["id"] for r in gone] == ["mine-1"]
    assert store.count() == 5
    assert {"theirs-1", "host-1", "old-1"} <= set(store.query()["id"])
    assert mine.delete(["theirs-2"]) == [] and store.get("theirs-2") is not None


def test_an_append_is_always_the_viewers_own(mine: LogStore, store: LogStore) -> None:
    forged = mine.append(row(OTHER, id="forged"))
    plain = mine.append({"prompt": "no maker given"})
    assert store.get(forged)["made_by"] == ME and store.get(plain)["made_by"] == ME
    assert mine.get(forged) is not None and mine.count() == 4


def test_imports_need_an_unscoped_store(mine: LogStore, store: LogStore) -> None:
    data = store.export(store.query(), "json")
    with pytest.raises(PermissionError):
        mine.import_rows(data, "json")
    with pytest.raises(PermissionError):
        store.scoped(read=None, write=ME).import_rows(data, "json")
    assert store.count() == 6
    report = store.scoped(read=ME, write=None).import_rows(data, "json")
    assert report.added == 0 and report.already_present == 6
