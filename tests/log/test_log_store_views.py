"""LogStore additions for the Session log: narrow frames and the change fingerprint."""

from __future__ import annotations

import pandas as pd
import pytest

from components.log.sample import fill
from components.log.store import DTYPES, LogFilter, LogStore


@pytest.fixture
def log(tmp_path) -> LogStore:
    store = LogStore(tmp_path / "studio.db")
    fill(store, rows=500)
    return store


def test_narrow_query_matches_the_full_frame(log):
    filt = LogFilter(status="ok", raw=True)
    names = ["created_at", "request_s", "image_paths", "raw", "seed"]
    narrow = log.query(filt, limit=50, offset=10, columns=names)
    full = log.query(filt, limit=50, offset=10)
    assert list(narrow.columns) == names
    assert {c: str(t) for c, t in narrow.dtypes.items()} == {c: DTYPES[c] for c in names}
    pd.testing.assert_frame_equal(narrow, full[names])


def test_narrow_query_refuses_unknown_or_no_columns(log):
    with pytest.raises(ValueError, match="unknown column"):
        log.query(columns=["id", "prompt; DROP TABLE request_log"])
    with pytest.raises(ValueError, match="at least one"):
        log.query(columns=[])


def test_query_without_columns_is_unchanged(log):
    assert len(log.query().columns) == len(DTYPES)
    assert log.query(None, 5, 0, status="error")["status"].eq("error").all()


def test_fingerprint_changes_on_every_change_that_moves_figures(log):
    seen = {log.fingerprint()}
    row_id = log.query(limit=1)["id"].iloc[0]

    def changed() -> bool:
        fp = log.fingerprint()
        new = fp not in seen
        seen.add(fp)
        return new

    assert log.fingerprint() in seen  # stable while nothing happens
    assert log.fingerprint().rows == 500
    log.append({"prompt": "new", "status": "ok"})
    assert changed()
    log.update(row_id, rating=5)
    assert changed()
    log.update(row_id, rating=None)
    assert changed()
    log.update(row_id, note="keeper")
    assert changed()
    log.delete([row_id])
    assert changed()
    log.import_rows(b'[{"id": "imported-1", "status": "ok"}]', "json")
    assert changed()


def test_fingerprint_tells_which_row_holds_a_rating(log):
    first, second = log.query(limit=2, columns=["id"])["id"]
    log.update(first, rating=None)
    log.update(second, rating=None)
    log.update(first, rating=3)
    before = log.fingerprint()
    log.update(first, rating=None)
    log.update(second, rating=3)  # same count and sum of ratings, another row
    assert log.fingerprint() != before
