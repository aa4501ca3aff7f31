"""Exports and imports of the session log, on real SQLite files and image folders."""

from __future__ import annotations

import io
import json
import zipfile

import pandas as pd
import pytest

from components.images.store import ImageStore
from components.log import archive as log_archive
from components.log.sample import fill
from components.log.store import LogFilter, LogStore


@pytest.fixture
def source(tmp_path):
    log, images = LogStore(tmp_path / "a" / "studio.db"), ImageStore(tmp_path / "a")
    sample = fill(log, images, rows=400, with_images=6)
    return log, images, sample


def fresh(tmp_path, name: str = "b") -> tuple[LogStore, ImageStore]:
    return LogStore(tmp_path / name / "studio.db"), ImageStore(tmp_path / name)


@pytest.mark.parametrize("fmt", ["CSV", "Parquet", "JSON", "ZIP with images"])
def test_export_then_import_round_trips_without_duplicates(source, tmp_path, fmt):
    log, images, _ = source
    filt = LogFilter(status="ok", aspect_ratios=("16:9", "1:1", "9:16"))
    expected = log.query(filt)
    data = log_archive.export_bytes(log, images, filt, fmt)
    name = log_archive.file_name(fmt)

    again = log_archive.import_bytes(log, images, data, name)  # into the log it came from
    assert again.report.added == 0
    assert again.report.already_present == len(expected)
    assert log.count() == 400

    target_log, target_images = fresh(tmp_path)
    first = log_archive.import_bytes(target_log, target_images, data, name)
    assert first.report.added == len(expected) and first.report.rejected == 0
    second = log_archive.import_bytes(target_log, target_images, data, name)
    assert second.report.added == 0 and second.report.already_present == len(expected)
    assert target_log.count() == len(expected)
    back = target_log.query()
    assert back["id"].tolist() == expected["id"].tolist()
    same = ["seed", "prompt", "request_s", "total_s", "cost_usd", "created_at", "raw"]
    pd.testing.assert_frame_equal(back[same], expected[same])


def test_zip_carries_the_images_and_restores_them(source, tmp_path):
    log, images, sample = source
    data = log_archive.export_bytes(
        log, images, LogFilter(ids=sample.with_images), "ZIP with images"
    )
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = set(archive.namelist())
    assert {log_archive.LOG_JSON, log_archive.LOG_CSV} <= names
    paths = [p for row in log.query(ids=sample.with_images)["image_paths"] for p in row]
    assert len(paths) == 6 and set(paths) <= names

    target_log, target_images = fresh(tmp_path)
    result = log_archive.import_bytes(target_log, target_images, data, "backup.zip")
    assert result.report.added == 6 and result.images_restored == 6
    for rel in paths:
        assert target_images.read_bytes(rel) == images.read_bytes(rel)
        assert target_images.read_params(rel)["id"] == rel.rsplit("/", 1)[1].split("_")[0]
    again = log_archive.import_bytes(target_log, target_images, data, "backup.zip")
    assert again.images_restored == 0 and again.images_present == 6


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_zip_only_writes_images_its_rows_name_inside_the_image_folder(tmp_path):
    from samples import image_bytes

    row = {
        "id": "r1",
        "created_at": "2026-05-01T10:00:00+00:00",
        "status": "ok",
        "image_paths": ["../../outside.jpg", "images/2026-05-01/r1_0.jpg"],
    }
    data = _zip(
        {
            log_archive.LOG_JSON: json.dumps([row]).encode(),
            "../../outside.jpg": image_bytes(),
            "images/2026-05-01/r1_0.jpg": b"not an image",
            "images/2026-05-01/stray_0.jpg": image_bytes(),
        }
    )
    log, images = fresh(tmp_path)
    result = log_archive.import_bytes(log, images, data, "evil.zip")
    assert result.report.added == 1
    assert result.images_restored == 0 and result.images_refused == 1
    assert not (tmp_path / "outside.jpg").exists()
    assert not (tmp_path / "b" / "images" / "2026-05-01" / "stray_0.jpg").exists()
    assert not (tmp_path / "b" / "images" / "2026-05-01" / "r1_0.jpg").exists()


@pytest.mark.parametrize(
    "name, data, message",
    [
        ("log.txt", b"id\n1\n", "choose a"),
        ("log.zip", b"PK\x03\x04 broken", "not a readable ZIP"),
        ("log.zip", _zip({"other.json": b"[]"}), "has no session-log.json"),
        ("log.json", b"{not json", "not a readable json"),
    ],
)
def test_unreadable_files_are_refused_with_a_reason(tmp_path, name, data, message):
    log, images = fresh(tmp_path)
    with pytest.raises(ValueError, match=message):
        log_archive.import_bytes(log, images, data, name)
    assert log.count() == 0


def test_oversized_zip_members_are_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(log_archive, "MAX_MEMBER_BYTES", 100)
    data = _zip({log_archive.LOG_JSON: b"[" + b" " * 200 + b"]"})
    log, images = fresh(tmp_path)
    with pytest.raises(ValueError, match="too large"):
        log_archive.import_bytes(log, images, data, "big.zip")


def test_file_names_say_what_they_hold():
    assert log_archive.file_name("Parquet").endswith(".parquet")
    assert log_archive.file_name("ZIP with images").startswith("flux-session-log-")
    assert log_archive.import_kind("Export.JSON") == "json"
    assert log_archive.import_kind("photo.png") is None
