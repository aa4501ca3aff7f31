"""Exports and imports of the session log, on real SQLite files and image folders."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

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


# --- Untrusted ZIPs: limits, damage, and all-or-nothing -----------------------------------


ROW = {"created_at": "2026-05-01T10:00:00+00:00", "status": "ok"}


def _row(row_id: str, *paths: str, **extra) -> dict:
    return {"id": row_id, **ROW, "image_paths": list(paths), **extra}


def _log_zip(rows: list[dict], members: dict[str, bytes], **kwargs) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", **kwargs) as archive:
        archive.writestr(log_archive.LOG_JSON, json.dumps(rows))
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _set_method(data: bytes, member: str, method: int) -> bytes:
    """The ZIP with one member's compression method changed in both of its headers."""
    out = bytearray(data)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        offset = archive.getinfo(member).header_offset
    out[offset + 8 : offset + 10] = method.to_bytes(2, "little")
    central = out.find(b"PK\x01\x02")
    while central != -1:
        size = int.from_bytes(out[central + 28 : central + 30], "little")
        if out[central + 46 : central + 46 + size] == member.encode():
            out[central + 10 : central + 12] = method.to_bytes(2, "little")
        central = out.find(b"PK\x01\x02", central + 4)
    return bytes(out)


def _files(root) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def _images_written(tmp_path, name: str = "b") -> list[str]:
    folder = tmp_path / name / "images"
    return _files(folder) if folder.exists() else []


def test_an_image_declaring_too_many_pixels_is_refused_before_decoding(tmp_path):
    from samples import image_bytes, png_declaring

    rel_big, rel_ok = "images/2026-05-01/r1_0.png", "images/2026-05-01/r1_1.jpg"
    data = _log_zip(
        [_row("r1", rel_big, rel_ok)],
        {rel_big: png_declaring(7000, 7000), rel_ok: image_bytes()},  # 49 Mpx > 40 Mpx
    )
    log, images = fresh(tmp_path)
    result = log_archive.import_bytes(log, images, data, "big.zip")
    assert result.report.added == 1
    assert (result.images_restored, result.images_refused) == (1, 1)
    assert any("7000x7000 pixels" in p for p in result.problems)
    assert _images_written(tmp_path) == ["2026-05-01/r1_1.jpg"]


def test_a_highly_compressed_member_is_refused_as_a_bomb(tmp_path):
    rel = "images/2026-05-01/r1_0.png"
    bomb = b"\x89PNG\r\n\x1a\n" + bytes(8 * 1024 * 1024)  # deflates about 1000:1
    data = _log_zip([_row("r1", rel)], {rel: bomb}, compression=zipfile.ZIP_DEFLATED)
    assert len(data) < 64 * 1024
    log, images = fresh(tmp_path)
    result = log_archive.import_bytes(log, images, data, "bomb.zip")
    assert result.images_refused == 1 and result.images_restored == 0
    assert "bomb" in result.problems[0]
    assert _images_written(tmp_path) == []


def test_an_oversized_image_member_is_refused(tmp_path, monkeypatch):
    from samples import image_bytes

    monkeypatch.setattr(log_archive, "MAX_IMAGE_BYTES", 100)
    rel = "images/2026-05-01/r1_0.jpg"
    log, images = fresh(tmp_path)
    result = log_archive.import_bytes(
        log, images, _log_zip([_row("r1", rel)], {rel: image_bytes()}), "x.zip"
    )
    assert result.images_refused == 1 and "more than 100 allowed" in result.problems[0]
    assert _images_written(tmp_path) == []


def test_the_whole_import_is_capped_and_nothing_is_kept_past_it(tmp_path, monkeypatch):
    from samples import image_bytes

    members = {f"images/2026-05-01/r{n}_0.jpg": image_bytes(color=(n, 0, 0)) for n in range(6)}
    rows = [_row(f"r{n}", rel) for n, rel in enumerate(members)]
    data = _log_zip(rows, members)
    size = len(json.dumps(rows)) + sum(len(v) for v in list(members.values())[:3])
    log, images = fresh(tmp_path)
    monkeypatch.setattr(log_archive, "MAX_IMPORT_BYTES", size)  # room for three images
    with pytest.raises(log_archive.ImportRefused, match="more than one import may write"):
        log_archive.import_bytes(log, images, data, "x.zip")
    assert log.count() == 0 and _images_written(tmp_path) == []
    # Declared sizes under the cap, real bytes over it: counted as they unpack.
    monkeypatch.setattr(log_archive, "MAX_IMPORT_BYTES", 10 * size)
    budget = log_archive._Budget(size)
    monkeypatch.setattr(log_archive, "_Budget", lambda limit: budget)
    with pytest.raises(log_archive.ImportRefused, match="more than one import may write"):
        log_archive.import_bytes(log, images, data, "x.zip")
    assert log.count() == 0 and _images_written(tmp_path) == []


@pytest.mark.parametrize("member", [log_archive.LOG_JSON, "images/2026-05-01/r1_0.jpg"])
def test_an_unknown_compression_method_is_a_message_and_nothing_is_imported(tmp_path, member):
    from samples import image_bytes

    rel = "images/2026-05-01/r1_0.jpg"
    data = _set_method(_log_zip([_row("r1", rel)], {rel: image_bytes()}), member, 99)
    log, images = fresh(tmp_path)
    with pytest.raises(log_archive.ImportRefused, match="cannot be unpacked"):
        log_archive.import_bytes(log, images, data, "odd.zip")
    assert log.count() == 0 and _images_written(tmp_path) == []


def test_a_corrupt_zip_is_a_message_and_nothing_is_imported(tmp_path):
    from samples import image_bytes

    rels = [f"images/2026-05-01/r1_{n}.jpg" for n in range(2)]
    good = _log_zip(
        [_row("r1", *rels)], {rel: image_bytes(color=(9, n, 9)) for n, rel in enumerate(rels)}
    )
    with zipfile.ZipFile(io.BytesIO(good)) as archive:
        info = archive.getinfo(rels[1])
    start = info.header_offset + 30 + len(info.filename) + 200  # inside the second image
    broken = good[:start] + bytes(b ^ 0xFF for b in good[start : start + 16]) + good[start + 16 :]
    log, images = fresh(tmp_path)
    with pytest.raises(log_archive.ImportRefused, match="damaged"):
        log_archive.import_bytes(log, images, broken, "corrupt.zip")
    assert log.count() == 0 and _images_written(tmp_path) == []  # the first image went again
    with pytest.raises(log_archive.ImportRefused, match="not a readable ZIP"):
        log_archive.import_bytes(log, images, good[: len(good) // 2], "cut.zip")


def test_a_full_disk_while_restoring_images_leaves_nothing_behind(tmp_path, monkeypatch):
    import errno

    from samples import image_bytes

    rels = [f"images/2026-05-01/r{n}_0.jpg" for n in range(3)]
    data = _log_zip(
        [_row(f"r{n}", rel) for n, rel in enumerate(rels)],
        {rel: image_bytes(color=(n, 9, 9)) for n, rel in enumerate(rels)},
    )
    real_write = log_archive.write_atomic
    calls = []

    def filling_write(path, payload, *, durable):
        calls.append(path)
        if len(calls) == 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_write(path, payload, durable=durable)

    monkeypatch.setattr(log_archive, "write_atomic", filling_write)
    log, images = fresh(tmp_path)
    with pytest.raises(log_archive.ImportRefused, match="No space left on device"):
        log_archive.import_bytes(log, images, data, "x.zip")
    assert len(calls) == 3
    assert log.count() == 0 and _images_written(tmp_path) == []
    assert not (tmp_path / "b" / "images" / "2026-05-01").exists()  # emptied folder gone too


def test_a_database_failure_removes_the_restored_images(tmp_path, monkeypatch):
    from sqlalchemy.exc import OperationalError

    from samples import image_bytes

    rel = "images/2026-05-01/r1_0.jpg"
    data = _log_zip([_row("r1", rel)], {rel: image_bytes()})
    log, images = fresh(tmp_path)

    def full(data, fmt):
        raise OperationalError("INSERT ...", {}, Exception("database or disk is full"))

    monkeypatch.setattr(log, "import_rows", full)
    with pytest.raises(log_archive.ImportRefused, match="database or disk is full"):
        log_archive.import_bytes(log, images, data, "x.zip")
    assert _images_written(tmp_path) == []


def test_not_enough_free_space_is_refused_up_front(tmp_path, monkeypatch):
    import shutil
    from collections import namedtuple

    from samples import image_bytes

    rel = "images/2026-05-01/r1_0.jpg"
    data = _log_zip([_row("r1", rel)], {rel: image_bytes()})
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(1, 1, 1024))
    log, images = fresh(tmp_path)
    with pytest.raises(log_archive.ImportRefused, match="MB are free"):
        log_archive.import_bytes(log, images, data, "x.zip")
    assert log.count() == 0 and _images_written(tmp_path) == []


def test_images_named_only_by_refused_rows_are_not_kept(tmp_path):
    from samples import image_bytes

    good, bad = "images/2026-05-01/ok_0.jpg", "images/2026-05-01/bad_0.jpg"
    rows = [_row("ok", good), _row("bad", bad, rating=99)]
    data = _log_zip(rows, {good: image_bytes(), bad: image_bytes()})
    log, images = fresh(tmp_path)
    result = log_archive.import_bytes(log, images, data, "x.zip")
    assert (result.report.added, result.report.rejected) == (1, 1)
    assert result.images_restored == 1
    assert _images_written(tmp_path) == ["2026-05-01/ok_0.jpg"]


@pytest.mark.parametrize("fmt", ["json", "csv", "zip"])
@pytest.mark.parametrize(
    "seed, message",
    [(2**63, "too large to store"), (2**53, "must be at most 9007199254740991"), (10**30, "")],
)
def test_seeds_past_the_contract_are_refused_per_row(tmp_path, fmt, seed, message):
    rows = [{"id": "good", **ROW, "seed": 42}, {"id": "huge", **ROW, "seed": seed}]
    if fmt == "csv":
        data = f"id,created_at,status,seed\ngood,{ROW['created_at']},ok,42\n"
        data = (data + f"huge,{ROW['created_at']},ok,{seed}\n").encode()
    elif fmt == "json":
        data = json.dumps(rows).encode()
    else:
        data = _log_zip(rows, {})
    log, images = fresh(tmp_path)
    result = log_archive.import_bytes(log, images, data, f"log.{fmt}")
    assert (result.report.added, result.report.rejected) == (1, 1)
    assert result.report.problems[0].startswith("row 2: seed: ")
    assert message in result.report.problems[0]
    assert log.get("good")["seed"] == 42 and log.get("huge") is None


def test_text_that_cannot_be_stored_is_refused_per_row(tmp_path):
    data = b'[{"id": "a", "prompt": "lone \\ud800 surrogate"}, {"id": "b", "prompt": "fine"}]'
    log, images = fresh(tmp_path)
    result = log_archive.import_bytes(log, images, data, "log.json")
    assert (result.report.added, result.report.rejected) == (1, 1)
    assert "prompt" in result.report.problems[0]


@pytest.mark.parametrize("depth", [100, 2_000, 100_000])
def test_deeply_nested_json_is_a_message(tmp_path, depth):
    nested = b"[" * depth + b"]" * depth
    log, images = fresh(tmp_path)
    for data, name in ((nested, "log.json"), (_zip({log_archive.LOG_JSON: nested}), "x.zip")):
        with pytest.raises(ValueError, match="nested"):
            log_archive.import_bytes(log, images, data, name)
    inside = b'[{"id": "a", "prompt": ' + nested + b"}]"
    with pytest.raises(ValueError, match="nested"):
        log_archive.import_bytes(log, images, inside, "log.json")
    assert log.count() == 0


# --- The ZIP export: a temporary file, capped -----------------------------------------------


def test_the_zip_export_is_a_temporary_file_in_the_data_folder(source, tmp_path):
    log, images, sample = source
    filt = LogFilter(ids=sample.with_images)
    with log_archive.export_file(log, images, filt, "ZIP with images") as handle:
        assert isinstance(handle, io.BufferedReader)  # what st.download_button reads
        assert Path(handle.name).parent == images.root
        data = handle.read()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert len([n for n in archive.namelist() if n.startswith("images/")]) == 6
    assert not list(images.root.glob(".export-*"))  # deleted (the open handle kept the data)
    estimate = log_archive.zip_size(log, images, filt)
    assert 0.5 * len(data) < estimate < 2 * len(data)
    with log_archive.export_file(log, images, filt, "CSV") as handle:
        assert handle.read().startswith(b"id,created_at,")


def test_a_zip_export_past_the_cap_is_refused(source, monkeypatch):
    log, images, sample = source
    monkeypatch.setattr(log_archive, "MAX_EXPORT_BYTES", 100)
    with pytest.raises(log_archive.ExportTooLarge, match="narrow the filters"):
        log_archive.export_bytes(log, images, LogFilter(ids=sample.with_images), "ZIP with images")
    assert not list(images.root.glob(".export-*"))
