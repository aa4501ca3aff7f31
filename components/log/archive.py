"""Exports of the session log (CSV, Parquet, JSON, or a ZIP with the images) and their import.

The ZIP holds `session-log.json` (what import reads back), `session-log.csv` (for spreadsheets)
and the original image files under their stored paths, so a ZIP made on one laptop restores the
rows and their pictures on another. Imports merge by id through LogStore.import_rows: nothing
already in the log is overwritten, and image files are only written where none exists yet.
No Streamlit here.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import PurePosixPath

from components.images.store import IMAGES_DIR, ImageStore, sniff_format, write_atomic
from components.log.store import ImportReport, LogFilter, LogStore

LOG_JSON = "session-log.json"
LOG_CSV = "session-log.csv"
# name shown -> (file extension, MIME type)
FORMATS: dict[str, tuple[str, str]] = {
    "CSV": ("csv", "text/csv"),
    "Parquet": ("parquet", "application/vnd.apache.parquet"),
    "JSON": ("json", "application/json"),
    "ZIP with images": ("zip", "application/zip"),
}
IMPORT_TYPES = ("csv", "parquet", "json", "zip")
# A ZIP is untrusted input: refuse archives that would unpack to more than this.
MAX_MEMBER_BYTES = 64 * 1024 * 1024
MAX_TOTAL_BYTES = 4 * 1024 * 1024 * 1024
MAX_MEMBERS = 100_000


@dataclass(frozen=True)
class ImportResult:
    report: ImportReport
    images_restored: int = 0
    images_present: int = 0
    images_refused: int = 0


def file_name(fmt: str, now: datetime | None = None) -> str:
    ext, _ = FORMATS[fmt]
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d-%H%M%S")
    return f"flux-session-log-{stamp}.{ext}"


def export_bytes(log: LogStore, images: ImageStore, filt: LogFilter, fmt: str) -> bytes:
    """The filtered rows (every column, newest first) in one of FORMATS."""
    ext, _ = FORMATS[fmt]
    frame = log.query(filt)
    if ext != "zip":
        return LogStore.export(frame, ext)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(LOG_JSON, LogStore.export(frame, "json"))
        archive.writestr(LOG_CSV, LogStore.export(frame, "csv"))
        for paths in frame["image_paths"]:
            for rel in paths or []:
                data = images.read_bytes(rel)
                if data is not None:  # JPEG and PNG are compressed already: store as is
                    archive.writestr(rel, data, compress_type=zipfile.ZIP_STORED)
    return buffer.getvalue()


def import_kind(name: str) -> str | None:
    ext = PurePosixPath(name.lower()).suffix.lstrip(".")
    return ext if ext in IMPORT_TYPES else None


def import_bytes(log: LogStore, images: ImageStore, data: bytes, name: str) -> ImportResult:
    """Merge an export into the log; ValueError (with a reason to show) for unreadable files."""
    kind = import_kind(name)
    if kind is None:
        raise ValueError(f"choose a .{', .'.join(IMPORT_TYPES)} file exported from this page")
    if kind != "zip":
        return ImportResult(log.import_rows(data, kind))
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise ValueError(f"not a readable ZIP file: {exc}") from exc
    with archive:
        members = archive.infolist()
        if len(members) > MAX_MEMBERS or sum(m.file_size for m in members) > MAX_TOTAL_BYTES:
            raise ValueError("the ZIP file is too large to import")
        if LOG_JSON not in archive.namelist():
            raise ValueError(f"the ZIP file has no {LOG_JSON}: was it exported from this page?")
        report = log.import_rows(_read_member(archive, archive.getinfo(LOG_JSON)), "json")
        wanted = _referenced_paths(archive, log)
        return _restore_images(archive, images, wanted, report)


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    if info.file_size > MAX_MEMBER_BYTES:
        raise ValueError(f"{info.filename} is too large to import")
    with archive.open(info) as handle:
        data = handle.read(MAX_MEMBER_BYTES + 1)  # the header's size may lie
    if len(data) > MAX_MEMBER_BYTES:
        raise ValueError(f"{info.filename} is too large to import")
    return data


def _referenced_paths(archive: zipfile.ZipFile, log: LogStore) -> set[str]:
    """Image files named by rows now in the log: the only files an archive may add."""
    names = {n for n in archive.namelist() if n.startswith(f"{IMAGES_DIR}/")}
    if not names:
        return set()
    found = log.query(columns=["image_paths"])["image_paths"]
    return {rel for paths in found for rel in paths or [] if rel in names}


def _restore_images(
    archive: zipfile.ZipFile, images: ImageStore, wanted: set[str], report: ImportReport
) -> ImportResult:
    restored = present = refused = 0
    for rel in sorted(wanted):
        try:
            target = images.abs_path(rel)
        except ValueError:
            refused += 1
            continue
        if target.exists():
            present += 1
            continue
        try:
            data = _read_member(archive, archive.getinfo(rel))
        except (ValueError, zipfile.BadZipFile, OSError):
            refused += 1
            continue
        if sniff_format(data) is None:
            refused += 1
            continue
        write_atomic(target, data, durable=True)
        restored += 1  # its thumbnail is rebuilt the first time it is shown
    return ImportResult(report, restored, present, refused)
