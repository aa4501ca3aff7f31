"""Deleting log rows keeps every file another row still names (finding 5), and the status
filter offers every row status, "sent" included (finding 6)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from apptest_utils import button, new_app
from components.images.store import ImageStore, image_id
from components.log.schema import RowStatus
from components.log.store import LogStore
from samples import image_bytes

LOG_PAGE = "pages/session_log.py"
NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def shared_original(tmp_path, monkeypatch):
    """Three rows, newest first: an import naming the original's files, the original that paid
    for them, and an unrelated row with files of its own."""
    monkeypatch.setenv("FLUX_STUDIO_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("FLUX_STUDIO_OFFLINE_LATENCY", "0")
    monkeypatch.delenv("AIMLAPI_API_KEY", raising=False)
    monkeypatch.delenv("AIMLAPI_BASE_URL", raising=False)
    log, images = LogStore(f"sqlite:///{tmp_path / 'studio.db'}"), ImageStore(tmp_path)

    def row(name: str, minutes_ago: int, stored=None) -> dict:
        record = {
            "id": name * 8,
            "created_at": (NOW - timedelta(minutes=minutes_ago)).isoformat(),
            "prompt": f"prompt of {name}",
            "status": "ok",
            "aspect_ratio": "1:1",
            "request_s": 1.0,
        }
        if stored is not None:
            record.update(image_paths=[stored.path], thumb_paths=[stored.thumb_path])
        return record

    paid = images.save(image_id("b" * 8, 0), image_bytes(), {"prompt": "prompt of b"})
    other = images.save(image_id("c" * 8, 0), image_bytes(color=(1, 2, 3)), {"prompt": "c"})
    log.append(row("a", 1, paid))  # the import: names b's files
    log.append(row("b", 2, paid))
    log.append(row("c", 3, other))
    yield log, images, paid, other
    log.close()


def open_log() -> AppTest:
    at = new_app()
    at.run()
    at.switch_page(LOG_PAGE)
    at.run()
    assert not at.exception, at.exception
    return at


def delete_rows(at: AppTest, positions: list[int]) -> AppTest:
    table = next(d for d in at.dataframe if (d.key or "").startswith("log_table_"))
    at.session_state[table.key] = {"selection": {"rows": positions}}
    at.run()
    count = len(positions)
    button(at, f"Delete {count} row{'s' if count != 1 else ''}…").click().run()
    button(at, "Delete for good").click().run()
    assert not at.exception, at.exception
    return at


def files(images: ImageStore, stored) -> list[Path]:
    return [images.abs_path(stored.path), images.abs_path(stored.thumb_path)]


def test_deleting_a_row_keeps_the_files_another_row_still_uses(shared_original):
    log, images, paid, other = shared_original
    assert all(f.exists() for f in files(images, paid) + files(images, other))
    at = delete_rows(open_log(), [0, 2])  # the import and the unrelated row
    assert log.get("a" * 8) is None and log.get("c" * 8) is None
    assert log.get("b" * 8) is not None
    assert all(f.exists() for f in files(images, paid))  # row b still shows its picture
    assert not any(f.exists() for f in files(images, other))
    assert any("kept 2 file(s) other rows still use" in s.value for s in at.success)
    # Once no row names them, the shared files go with the last one.
    delete_rows(at, [0])
    assert log.count() == 0
    assert not any(f.exists() for f in files(images, paid))


def test_the_store_says_which_paths_nobody_uses(shared_original):
    log, _, paid, other = shared_original
    log.delete(["a" * 8, "c" * 8])
    paths = [paid.path, paid.thumb_path, other.path, other.thumb_path]
    assert log.unused_paths(paths) == [other.path, other.thumb_path]


def test_the_status_filter_offers_sent_requests(shared_original):
    log, _, _, _ = shared_original
    log.append(
        {
            "id": "d" * 8,
            "created_at": NOW.isoformat(),
            "prompt": "a request that never came back",
            "status": RowStatus.SENT,
            "aspect_ratio": "1:1",
        }
    )
    at = open_log()
    status = at.button_group(key="log_f_status")
    assert set(status.options) >= {"Succeeded", "Failed", "Sent, no answer (may be billed)"}
    status.set_value(RowStatus.SENT).run()
    assert not at.exception
    table = next(d for d in at.dataframe if (d.key or "").startswith("log_table_"))
    assert table.value["prompt"].tolist() == ["a request that never came back"]
    # Its detail says plainly that it may have been billed, and how to match the charge.
    at.session_state[table.key] = {"selection": {"rows": [0]}}
    at.run()
    notes = " ".join(w.value for w in at.warning)
    assert "may have made and billed the image" in notes and "d" * 8 in notes
    assert not at.exception
