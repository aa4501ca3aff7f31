"""Exports of the session log (CSV, Parquet, JSON, or a ZIP with the images) and their import.

The ZIP holds `session-log.json` (what import reads back), `session-log.csv` (for spreadsheets)
and the original image files under their stored paths, so a ZIP made on one laptop restores the
rows and their pictures on another. Imports merge by id through LogStore.import_rows: nothing
already in the log is overwritten, and image files are only written where none exists yet.

A ZIP is untrusted input. Every member is read in chunks counting the bytes it really unpacks
to (never trusting its header), within a size cap per member, a compression-ratio cap and a cap
on the whole import; an image's declared pixels are read from its header before it is kept.
An import happens whole or not at all: images are restored first, then the rows are added in
one transaction; if either fails (a damaged ZIP, a full disk, a database error) the files
written so far are removed and ImportRefused says why. The ZIP export is built in a temporary
file in the data folder, never whole in memory. No Streamlit here.
"""

from __future__ import annotations

import io
import json
import lzma
import os
import shutil
import struct
import tempfile
import time
import zipfile
import zlib
from collections.abc import Iterable, Mapping
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import IO, Any, BinaryIO

import pandas as pd
from sqlalchemy import exc as sa_exc

from components.images.store import (
    IMAGES_DIR,
    MAX_IMAGE_BYTES,
    ImageStore,
    inspect_image,
    write_atomic,
)
from components.log.codec import encode_value
from components.log.formats import export_csv, parse_records
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
MB = 1024 * 1024
# Limits on a ZIP to import. The log's JSON may unpack to MAX_MEMBER_BYTES, an image to the
# download limit (MAX_IMAGE_BYTES); the whole import may read and write MAX_IMPORT_BYTES.
MAX_MEMBER_BYTES = 64 * MB
MAX_IMPORT_BYTES = 2 * 1024 * MB
MAX_MEMBERS = 100_000
# Unpacked bytes per packed byte a member may reach once past RATIO_FREE_BYTES. A studio log
# deflates about 15:1 (60:1 with one long prompt repeated); images hardly at all. A bomb: ~1000:1.
MAX_RATIO = 200
RATIO_FREE_BYTES = 1 * MB
# Disk space an import leaves free beyond what its images need.
FREE_SPACE_MARGIN = 16 * MB
# A ZIP export larger than an import accepts could never come back: refuse to build one.
MAX_EXPORT_BYTES = MAX_IMPORT_BYTES
EXPORT_PREFIX = ".export-"
_CHUNK = 1 * MB
_SUFFIXES = {"jpeg": (".jpg", ".jpeg"), "png": (".png",)}
# What zipfile and its decompressors raise for damaged members or ones they cannot unpack
# (NotImplementedError: an unknown compression method; RuntimeError: an encrypted member).
_DAMAGED = (
    zipfile.BadZipFile,
    zlib.error,
    lzma.LZMAError,
    EOFError,
    NotImplementedError,
    RuntimeError,
    OSError,
    ValueError,
    struct.error,
)


class ImportRefused(ValueError):
    """An import refused as a whole, with the reason to show; nothing of it was kept."""


class ExportTooLarge(ValueError):
    """A ZIP export that would be larger than MAX_EXPORT_BYTES."""


@dataclass(frozen=True)
class ImportResult:
    report: ImportReport
    images_restored: int = 0
    images_present: int = 0
    images_refused: int = 0
    problems: tuple[str, ...] = ()  # why images were refused (the first 20)


def file_name(fmt: str, now: datetime | None = None) -> str:
    ext, _ = FORMATS[fmt]
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d-%H%M%S")
    return f"flux-session-log-{stamp}.{ext}"


def export_file(log: LogStore, images: ImageStore, filt: LogFilter, fmt: str) -> BinaryIO:
    """The filtered rows (every column, newest first) in one of FORMATS, as a file to read from
    its start. The ZIP is an already-deleted temporary file in the data folder (its data lives
    until the file is closed); ExportTooLarge when it would pass MAX_EXPORT_BYTES."""
    ext, _ = FORMATS[fmt]
    frame = log.query(filt)
    if ext == "csv":
        return io.BytesIO(export_csv(frame))
    if ext != "zip":
        return io.BytesIO(LogStore.export(frame, ext))
    return _zip_file(frame, images)


def export_bytes(log: LogStore, images: ImageStore, filt: LogFilter, fmt: str) -> bytes:
    """export_file's content as bytes (for scripts and tests; pages hand over the file)."""
    with export_file(log, images, filt, fmt) as handle:
        return handle.read()


def _image_paths(frame: pd.DataFrame) -> list[str]:
    return list(dict.fromkeys(rel for paths in frame["image_paths"] for rel in paths or []))


def _zip_file(frame: pd.DataFrame, images: ImageStore) -> BinaryIO:
    _sweep_exports(images.root)
    fd, name = tempfile.mkstemp(dir=images.root, prefix=EXPORT_PREFIX, suffix=".zip")
    try:
        with (
            os.fdopen(fd, "wb") as out,
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive,
        ):
            archive.writestr(LOG_JSON, LogStore.export(frame, "json"))
            archive.writestr(LOG_CSV, export_csv(frame))
            total = 0
            for rel in _image_paths(frame):
                data = images.read_bytes(rel)
                if data is None:
                    continue
                total += len(data)
                if total > MAX_EXPORT_BYTES:
                    raise ExportTooLarge(
                        f"the images of these rows pass {MAX_EXPORT_BYTES // MB:,} MB, more than "
                        "a ZIP import takes back: narrow the filters (a date range, say)"
                    )
                # JPEG and PNG are compressed already: store them as they are.
                archive.writestr(rel, data, compress_type=zipfile.ZIP_STORED)
        return open(name, "rb")  # the caller reads and closes it
    finally:
        # POSIX keeps the data for the open handle; where a file in use cannot be deleted the
        # next export sweeps it (_sweep_exports).
        with suppress(OSError):
            os.unlink(name)


def _sweep_exports(root: Path, older_than_s: float = 3600) -> None:
    """Remove export temp files left behind (a crash, or a system that could not delete them)."""
    cutoff = time.time() - older_than_s
    for path in root.glob(f"{EXPORT_PREFIX}*.zip"):
        with suppress(OSError):
            if path.stat().st_mtime < cutoff:
                path.unlink()


def zip_size(log: LogStore, images: ImageStore, filt: LogFilter) -> int:
    """About how many bytes the ZIP of these rows takes: its image files (the bulk) plus 2 KB
    a row for the JSON and the CSV. Reads the file sizes, not the files."""
    frame = log.query(filt, columns=["image_paths"])
    total = 2048 * len(frame)
    for rel in _image_paths(frame):
        with suppress(OSError, ValueError):
            total += images.abs_path(rel).stat().st_size
    return total


def import_kind(name: str) -> str | None:
    ext = PurePosixPath(name.lower()).suffix.lstrip(".")
    return ext if ext in IMPORT_TYPES else None


def import_bytes(
    log: LogStore, images: ImageStore, data: bytes | IO[bytes], name: str
) -> ImportResult:
    """Merge an export into the log. ValueError (ImportRefused, for a ZIP) with a reason to
    show for files that are unreadable or break a limit: then nothing was imported."""
    kind = import_kind(name)
    if kind is None:
        raise ValueError(f"choose a .{', .'.join(IMPORT_TYPES)} file exported from this page")
    if kind != "zip":
        raw = data if isinstance(data, bytes) else data.read()
        return ImportResult(_import_rows(log, raw, kind))
    source: IO[bytes] = io.BytesIO(data) if isinstance(data, bytes) else data
    try:
        archive = zipfile.ZipFile(source)
    except _DAMAGED as exc:
        raise ImportRefused(f"not a readable ZIP file: {exc}") from exc
    with archive:
        return _import_zip(log, images, archive)


def _import_rows(log: LogStore, data: bytes, kind: str) -> ImportReport:
    """LogStore.import_rows, with the database's own failures (one transaction: nothing was
    added) turned into ImportRefused."""
    try:
        return log.import_rows(data, kind)
    except sa_exc.SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0][:200]
        raise ImportRefused(f"the log database refused the rows: {reason}") from exc
    except (OverflowError, RecursionError) as exc:  # a value no check caught: still a message
        raise ImportRefused(f"a value does not fit the log: {str(exc)[:200]}") from exc


class _Budget:
    """What the whole import may still unpack; ImportRefused once spent."""

    def __init__(self, limit: int) -> None:
        self.left = limit

    def take(self, size: int) -> None:
        self.left -= size
        if self.left < 0:
            raise ImportRefused(
                f"the ZIP file unpacks to more than {MAX_IMPORT_BYTES // MB:,} MB, more than "
                "one import may write"
            )


class _MemberRefused(Exception):
    """One member broke a size or ratio limit (the reason names it)."""


def _too_packed(size: int, packed: int) -> bool:
    return size > RATIO_FREE_BYTES and size > MAX_RATIO * max(packed, 1)


def _read_member(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int, budget: _Budget
) -> bytes:
    """A member's bytes, counted as they unpack: _MemberRefused past limit or MAX_RATIO,
    ImportRefused past the budget or when the member is damaged or cannot be unpacked."""
    name = info.filename
    if info.file_size > limit:
        raise _MemberRefused(f"{name}: {info.file_size:,} bytes, more than {limit:,} allowed")
    if _too_packed(info.file_size, info.compress_size):
        raise _MemberRefused(f"{name}: packed more than {MAX_RATIO}:1, refused as a ZIP bomb")
    chunks: list[bytes] = []
    size = 0
    try:
        with archive.open(info) as handle:
            while chunk := handle.read(_CHUNK):
                size += len(chunk)
                if size > limit:
                    raise _MemberRefused(f"{name}: unpacks to more than {limit:,} bytes")
                if _too_packed(size, info.compress_size):
                    raise _MemberRefused(
                        f"{name}: packed more than {MAX_RATIO}:1, refused as a ZIP bomb"
                    )
                budget.take(len(chunk))
                chunks.append(chunk)
    except ImportRefused:
        raise
    except _DAMAGED as exc:
        raise ImportRefused(
            f"the ZIP file is damaged or cannot be unpacked ({name}: {exc})"
        ) from exc
    return b"".join(chunks)


def _paths_named(records: Iterable[Any]) -> set[str]:
    """Every image path the records name (records the log will refuse included)."""
    named: set[str] = set()
    for record in records:
        if not isinstance(record, Mapping):
            continue
        with suppress(ValueError):
            encoded = encode_value("image_paths", record.get("image_paths"))
            if encoded:
                named.update(json.loads(encoded))
    return named


def _log_paths(log: LogStore) -> set[str]:
    found = log.query(columns=["image_paths"])["image_paths"]
    return {rel for paths in found for rel in paths or []}


def _import_zip(log: LogStore, images: ImageStore, archive: zipfile.ZipFile) -> ImportResult:
    members = archive.infolist()
    if len(members) > MAX_MEMBERS:
        raise ImportRefused(f"the ZIP file holds more than {MAX_MEMBERS:,} files")
    if sum(m.file_size for m in members) > MAX_IMPORT_BYTES:
        raise ImportRefused(
            f"the ZIP file unpacks to more than {MAX_IMPORT_BYTES // MB:,} MB, more than one "
            "import may write"
        )
    infos = {m.filename: m for m in members}  # the last of repeated names, like getinfo()
    if LOG_JSON not in infos:
        raise ImportRefused(f"the ZIP file has no {LOG_JSON}: was it exported from this page?")
    budget = _Budget(MAX_IMPORT_BYTES)
    try:
        log_json = _read_member(archive, infos[LOG_JSON], MAX_MEMBER_BYTES, budget)
    except _MemberRefused as exc:
        raise ImportRefused(f"{exc}: too large to import") from None
    try:
        records = parse_records(log_json, "json")
    except ValueError as exc:
        raise ImportRefused(f"{LOG_JSON}: {exc}") from exc
    # Images the archive's rows (or rows already in the log) name: the only files it may add.
    # They are restored before the rows go in, so a failure leaves neither.
    in_zip = {name for name in infos if name.startswith(f"{IMAGES_DIR}/")}
    wanted = sorted((_paths_named(records) | _log_paths(log)) & in_zip) if in_zip else []
    _check_free_space(images, sum(infos[rel].file_size for rel in wanted))
    written: list[str] = []
    present = refused = 0
    problems: list[str] = []

    def refuse(reason: str) -> None:
        nonlocal refused
        refused += 1
        if len(problems) < 20:
            problems.append(reason)

    try:
        for rel in wanted:
            try:
                target = images.abs_path(rel)
                if target.exists() or images.exists(rel):  # with a bucket: there already
                    present += 1
                    continue
            except (ValueError, OSError) as exc:
                refuse(f"{rel}: {exc}")
                continue
            try:
                data = _read_member(archive, infos[rel], MAX_IMAGE_BYTES, budget)
                fmt, _, _ = inspect_image(data)
                if PurePosixPath(rel).suffix.lower() not in _SUFFIXES[fmt]:
                    raise ValueError(f"a {fmt.upper()} image under another extension")
            except ImportRefused:
                raise
            except (_MemberRefused, ValueError) as exc:
                refuse(f"{rel}: {exc}")
                continue
            try:
                write_atomic(target, data, durable=True)
            except OSError as exc:
                raise ImportRefused(f"could not write {rel}: {exc.strerror or exc}") from exc
            images.publish(rel, data)  # with a bucket: uploaded (or kept here, marked pending)
            written.append(rel)  # its thumbnail is rebuilt the first time it is shown
        report = _import_rows(log, log_json, "json")
    except BaseException:
        _remove(images, written)
        raise
    # The rows are committed and name these images now: a failure from here on must never
    # remove them. Images named only by rows the log refused have no row: take them back out.
    with suppress(Exception):
        unnamed = set(written) - _log_paths(log) if written else set()
        if unnamed:
            _remove(images, sorted(unnamed))
            written = [rel for rel in written if rel not in unnamed]
    return ImportResult(report, len(written), present, refused, tuple(problems))


def _check_free_space(images: ImageStore, needed: int) -> None:
    if not needed:
        return
    try:
        free = shutil.disk_usage(images.root).free
    except OSError:
        return  # cannot tell: writing will say if the disk fills up
    if needed + FREE_SPACE_MARGIN > free:
        raise ImportRefused(
            f"its images need about {needed / MB:,.0f} MB of disk space and only "
            f"{free / MB:,.0f} MB are free"
        )


def _remove(images: ImageStore, rels: list[str]) -> None:
    """Delete files this import wrote (best effort: a failure must not hide the first one)."""
    for rel in rels:
        with suppress(OSError, ValueError):
            images.delete([rel])
