"""Generated images on disk: originals with their parameters embedded, plus small thumbnails.

Originals are kept byte for byte as the provider sent them (no re-encoding, no quality loss);
the generation parameters go into a PNG text chunk or a JPEG comment so a file that leaves the
app still says how it was made. File names come from ids only, never from prompt text, so a
prompt cannot steer where a file lands. Thumbnails are derived data: they can be cleared at any
time and are rebuilt from the original on demand.
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
import struct
import tempfile
import threading
import zlib
from collections.abc import Iterable
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote, unquote

from PIL import Image

from components.api import contract
from components.images.bucket import BucketError, S3Bucket

log = logging.getLogger(__name__)

IMAGES_DIR = "images"
THUMBS_DIR = "thumbs"
PENDING_DIR = ".pending"  # with a bucket: a marker per file whose upload has not succeeded
METADATA_KEY = "flux-studio"
JPEG_MARKER = b"flux-studio:"
JPEG_CONTINUATION = b"flux-studio+:"
THUMB_MAX_SIDE = 512
THUMB_QUALITY = 82
CONTENT_TYPES = contract.CONTENT_TYPES
EXTENSIONS = {"jpeg": "jpg", "png": "png"}
# The limits a download from the provider is held to (the contract module's), so nothing the app
# would refuse to download gets in another way (an import, a rebuilt thumbnail): pixels are
# read from the header before anything is decoded.
MAX_IMAGE_PIXELS: int = contract.MAX_IMAGE_PIXELS
MAX_IMAGE_BYTES: int = contract.MAX_IMAGE_BYTES
# Embedded parameters are a few KB; a compressed text chunk may not inflate past this.
MAX_PARAMS_BYTES = 1024 * 1024
# Deleting a day's last file (or clearing thumbnails) removes the emptied folder, which can
# happen between a save's mkdir and its temp file: a save makes the folder again this often.
SAVE_ATTEMPTS = 20  # a delete emptying the same day folder can win a few times in a row

# A row's id names its image files, so this is the one rule for ids: a strict alphabet (no
# separators, dots or traversal), no leading dash (never read as an option) and a short stem.
ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
# An image's id is its row's id and its index in the row: "<row id>_<n>".
_IMAGE_ID_PATTERN = re.compile(rf"(?:{ID_PATTERN.pattern})_[0-9]{{1,3}}")

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_TEXT_CHUNKS = (b"tEXt", b"iTXt", b"zTXt")
_JPEG_SOI = b"\xff\xd8"
_JPEG_COM = 0xFE
_JPEG_SOS = 0xDA
_JPEG_EOI = 0xD9
_JPEG_MAX_SEGMENT = 65533  # payload bytes a segment can hold (65535 minus the length field)


@dataclass(frozen=True)
class StoredImage:
    """Where one saved image and its thumbnail are (paths relative to the data folder)."""

    path: str
    thumb_path: str
    width: int
    height: int
    content_type: str
    size_bytes: int
    # With a bucket: why the upload failed (the files are kept in the data folder and uploaded
    # again by `ImageStore.flush`); None once they are in the bucket, or with no bucket.
    upload_pending: str | None = None


def image_id(row_id: str, index: int) -> str:
    """The id of the index-th image of a log row (its file stem)."""
    return f"{row_id}_{int(index)}"


def row_of(rel: str) -> str | None:
    """The row id a stored file belongs to ("images/<day>/<row id>_<n>.jpg")."""
    stem = PurePosixPath(rel).stem
    row, sep, index = stem.rpartition("_")
    return row if sep and index.isdigit() and ID_PATTERN.fullmatch(row) else None


def validate_image_id(value: str) -> str:
    if not isinstance(value, str) or not _IMAGE_ID_PATTERN.fullmatch(value):
        raise ValueError(
            f"bad image id {value!r}: use a row id (1-64 characters of A-Z a-z 0-9 _ -, "
            "starting with a letter or digit), an underscore and the image's index"
        )
    return value


def sniff_format(data: bytes) -> str | None:
    """'png' or 'jpeg' from the leading bytes (what the bytes are, not what a name says)."""
    if data.startswith(_PNG_SIGNATURE):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    return None


def inspect_image(data: bytes, max_pixels: int = MAX_IMAGE_PIXELS) -> tuple[str, int, int]:
    """Format ('png' or 'jpeg'), width and height from the header alone, decoding no pixel;
    ValueError for anything else, an unreadable header, or more than max_pixels declared
    (Pillow's decompression-bomb guard stops absurd sizes even earlier)."""
    fmt = sniff_format(data)
    if fmt is None:
        raise ValueError("not a JPEG or PNG image")
    try:
        with Image.open(io.BytesIO(data), formats=[fmt.upper()]) as im:
            width, height = im.size
    except Image.DecompressionBombError:
        raise ValueError("the image declares far too many pixels") from None
    except Exception as exc:  # Pillow raises many types for broken headers
        raise ValueError(f"the image header does not read: {exc}") from None
    if width * height > max_pixels:
        raise ValueError(
            f"the image declares {width}x{height} pixels, more than the {max_pixels:,} allowed"
        )
    return fmt, width, height


def _inflate(data: bytes, limit: int = MAX_PARAMS_BYTES) -> bytes:
    """zlib data inflated to at most limit bytes; ValueError past that (a zlib bomb)."""
    inflater = zlib.decompressobj()
    out = inflater.decompress(data, limit + 1)
    if len(out) > limit or inflater.unconsumed_tail:
        raise ValueError("embedded parameters too large")
    return out


def _params_json(params: dict[str, Any]) -> bytes:
    if not isinstance(params, dict):
        raise TypeError("params must be a dict")
    text = json.dumps(params, ensure_ascii=False, sort_keys=True, default=str)
    return text.encode("utf-8")


def _png_chunks(data: bytes) -> list[tuple[bytes, int, int]]:
    """(type, start, end) of each chunk up to IEND; ValueError when the layout is broken."""
    if not data.startswith(_PNG_SIGNATURE):
        raise ValueError("not a PNG")
    chunks: list[tuple[bytes, int, int]] = []
    pos = len(_PNG_SIGNATURE)
    while pos + 12 <= len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        end = pos + 12 + length
        if end > len(data):
            raise ValueError("truncated PNG chunk")
        chunks.append((kind, pos, end))
        pos = end
        if kind == b"IEND":
            break
    if not chunks or chunks[0][0] != b"IHDR":
        raise ValueError("PNG without IHDR")
    return chunks


def _png_text_keyword(data: bytes, start: int, end: int) -> bytes:
    body = data[start + 8 : end - 4]
    return body.split(b"\x00", 1)[0]


def _png_itxt_chunk(payload: bytes) -> bytes:
    # keyword \0, compression flag 0, method 0, language tag "" \0, translated keyword "" \0
    body = METADATA_KEY.encode("latin-1") + b"\x00\x00\x00\x00\x00" + payload
    crc = zlib.crc32(b"iTXt" + body) & 0xFFFFFFFF
    return struct.pack(">I", len(body)) + b"iTXt" + body + struct.pack(">I", crc)


def _embed_png(data: bytes, payload: bytes) -> bytes:
    chunks = _png_chunks(data)
    ihdr_end = chunks[0][2]
    pieces = [data[:ihdr_end], _png_itxt_chunk(payload)]
    cursor = ihdr_end
    for kind, start, end in chunks[1:]:
        if (
            kind in _PNG_TEXT_CHUNKS
            and _png_text_keyword(data, start, end) == METADATA_KEY.encode()
        ):
            pieces.append(data[cursor:start])  # drop an older copy of our chunk
            cursor = end
    pieces.append(data[cursor:])
    return b"".join(pieces)


def _read_png(data: bytes) -> bytes | None:
    for kind, start, end in _png_chunks(data):
        if kind not in _PNG_TEXT_CHUNKS:
            continue
        body = data[start + 8 : end - 4]
        keyword, _, rest = body.partition(b"\x00")
        if keyword != METADATA_KEY.encode():
            continue
        if kind == b"tEXt":
            return rest
        if kind == b"zTXt":
            return _inflate(rest[1:])
        flag, _method, rest = rest[0], rest[1], rest[2:]
        _lang, _, rest = rest.partition(b"\x00")
        _translated, _, text = rest.partition(b"\x00")
        return _inflate(text) if flag else text
    return None


def _jpeg_segments(data: bytes) -> list[tuple[int, int, int]]:
    """(marker, start, end) of each header segment before the image data (SOS)."""
    if not data.startswith(_JPEG_SOI):
        raise ValueError("not a JPEG")
    segments: list[tuple[int, int, int]] = []
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            raise ValueError("broken JPEG header")
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in (_JPEG_SOS, _JPEG_EOI):
            break
        if marker == 0x01 or 0xD0 <= marker <= 0xD8:  # standalone markers
            pos += 2
            continue
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        end = pos + 2 + length
        if length < 2 or end > len(data):
            raise ValueError("truncated JPEG segment")
        segments.append((marker, pos, end))
        pos = end
    return segments


def _jpeg_com_segments(payload: bytes) -> bytes:
    """COM segments holding the payload; split in order when one segment cannot hold it."""
    out: list[bytes] = []
    prefix = JPEG_MARKER
    rest = payload
    while True:
        room = _JPEG_MAX_SEGMENT - len(prefix)
        piece, rest = rest[:room], rest[room:]
        body = prefix + piece
        out.append(b"\xff\xfe" + struct.pack(">H", len(body) + 2) + body)
        prefix = JPEG_CONTINUATION
        if not rest:
            return b"".join(out)


def _is_ours(data: bytes, marker: int, start: int) -> bool:
    if marker != _JPEG_COM:
        return False
    body = data[start + 4 : start + 4 + len(JPEG_CONTINUATION)]
    return body.startswith(JPEG_MARKER) or body.startswith(JPEG_CONTINUATION)


def _embed_jpeg(data: bytes, payload: bytes) -> bytes:
    segments = _jpeg_segments(data)
    insert_at = 2
    for marker, _start, end in segments:  # after the leading APPn run (JFIF, Exif, ICC)
        if not 0xE0 <= marker <= 0xEF:
            break
        insert_at = end
    pieces = [data[:insert_at], _jpeg_com_segments(payload)]
    cursor = insert_at
    for marker, start, end in segments:
        if start >= insert_at and _is_ours(data, marker, start):
            pieces.append(data[cursor:start])
            cursor = end
    pieces.append(data[cursor:])
    return b"".join(pieces)


def _read_jpeg(data: bytes) -> bytes | None:
    found: bytearray | None = None
    for marker, start, end in _jpeg_segments(data):
        if marker != _JPEG_COM:
            continue
        body = data[start + 4 : end]
        if found is None and body.startswith(JPEG_MARKER):
            found = bytearray(body[len(JPEG_MARKER) :])
        elif found is not None and body.startswith(JPEG_CONTINUATION):
            found += body[len(JPEG_CONTINUATION) :]
    return None if found is None else bytes(found)


def embed_params(data: bytes, params: dict[str, Any]) -> bytes:
    """The same image bytes with params embedded (pixels untouched); replaces an older copy."""
    payload = _params_json(params)
    fmt = sniff_format(data)
    if fmt == "png":
        return _embed_png(data, payload)
    if fmt == "jpeg":
        return _embed_jpeg(data, payload)
    raise ValueError("not a JPEG or PNG image")


def read_params(source: Path | str | bytes) -> dict[str, Any] | None:
    """Parameters embedded by this app, from a file path or the bytes of a file.

    None when the file is missing, not an image, or carries no (valid) parameters: this reads
    user uploads, so it never raises.
    """
    try:
        data = source if isinstance(source, (bytes, bytearray)) else Path(source).read_bytes()
        data = bytes(data)
        fmt = sniff_format(data)
        raw = _read_png(data) if fmt == "png" else _read_jpeg(data) if fmt == "jpeg" else None
        if raw is None:
            return None
        params = json.loads(raw.decode("utf-8"))
        return params if isinstance(params, dict) else None
    except Exception:
        return None


def clean_copy(data: bytes, max_side: int = 1280) -> bytes:
    """A re-encoded JPEG with nothing embedded (no parameters, no comment, no colour profile,
    no EXIF): what a voter's browser gets, so no file can tell a prompt or a seed."""
    return make_thumbnail(data, max_side, keep_profile=False)


def make_thumbnail(data: bytes, max_side: int = THUMB_MAX_SIDE, keep_profile: bool = True) -> bytes:
    """A JPEG no larger than max_side on its long side, decoded at reduced size when possible.

    For JPEG, draft() lets the decoder scale by 1/2, 1/4 or 1/8 in the DCT domain, so a 4 MP
    original is never fully decoded; PNG has no such shortcut, so reduce() does the bulk work.
    ValueError (before any decoding) for what inspect_image refuses.
    """
    inspect_image(data)
    with Image.open(io.BytesIO(data)) as im:
        width, height = im.size
        icc = im.info.get("icc_profile") if keep_profile else None
        scale = min(1.0, max_side / max(width, height))
        target = (max(1, round(width * scale)), max(1, round(height * scale)))
        if im.format == "JPEG":
            im.draft("RGB", target)
        im.load()  # decode now (at draft scale); measured faster than a lazy load in thumbnail()
        im.thumbnail((max_side, max_side), reducing_gap=2.0)
        picture: Image.Image = im
        if im.mode in ("RGBA", "LA") or (im.mode == "P" and "transparency" in im.info):
            rgba = im.convert("RGBA")
            picture = Image.new("RGB", rgba.size, (255, 255, 255))
            picture.paste(rgba, mask=rgba.getchannel("A"))
        elif im.mode != "RGB":
            picture = im.convert("RGB")
        out = io.BytesIO()
        # Keep the colour profile; drop our comment (the same thumbnail whether it was made
        # from the provider's bytes or rebuilt from the stamped original).
        picture.save(out, "JPEG", quality=THUMB_QUALITY, icc_profile=icc, comment=b"")
        return out.getvalue()


def _temp_file(path: Path) -> tuple[int, str]:
    """A new temp file beside path, making its folder (again, if it vanished meanwhile)."""
    attempt = 1
    while True:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            return tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        except (FileNotFoundError, FileExistsError):
            # Another thread removed the emptied folder after our mkdir made or found it (mkdir
            # says FileExistsError when it is gone by the time it checks). Once the temp file
            # is in it, the folder is not empty, so it stays until the rename.
            if attempt >= SAVE_ATTEMPTS:
                raise
            attempt += 1


def write_atomic(path: Path, data: bytes, *, durable: bool) -> None:
    """Readers see the old file or the whole new one, never a half-written one."""
    fd, tmp = _temp_file(path)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with suppress(OSError):
            os.unlink(tmp)
        raise


class ImageStore:
    """Images on the local disk under one data folder (images/<day>/, thumbs/<day>/)."""

    def __init__(self, root: Path | str, bucket: S3Bucket | None = None) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        # With a bucket, it holds every file and this folder is a cache and a spool (bucket.py).
        self.bucket = bucket
        # An upload and a delete of one file go one at a time: a delete that lands while a
        # pending upload is retried must not leave the object behind in the bucket.
        self._moving = threading.RLock()

    @property
    def where(self) -> str:
        return self.bucket.where.shown() if self.bucket else str(self.root)

    def _pending_marker(self, rel: str) -> Path:
        # Percent-encoded: one marker per path, read back exactly (pending()).
        return self.root / PENDING_DIR / quote(self.canonical(rel), safe="")

    def _publish(self, rel: str, data: bytes, content_type: str) -> str | None:
        """Upload a file just written here; None when it is in the bucket (or there is none),
        else why not (it stays here, marked, for `flush`)."""
        if self.bucket is None:
            return None
        marker = self._pending_marker(rel)
        with self._moving:
            try:
                self.bucket.put(self.canonical(rel), data, content_type)
            except BucketError as exc:
                try:
                    marker.parent.mkdir(parents=True, exist_ok=True)
                    marker.touch()
                except OSError:
                    log.exception("could not mark %s for a later upload", rel)
                return str(exc)
            marker.unlink(missing_ok=True)
        return None

    def publish(self, rel: str, data: bytes) -> str | None:
        """A file written here by hand (an import): uploaded like a save's."""
        kind = sniff_format(data) or "jpeg"
        return self._publish(rel, data, CONTENT_TYPES.get(kind, "image/jpeg"))

    def pending(self) -> list[str]:
        """Files written here whose upload has not succeeded yet."""
        folder = self.root / PENDING_DIR
        if self.bucket is None or not folder.is_dir():
            return []
        return sorted(unquote(p.name) for p in folder.iterdir() if not p.name.startswith("."))

    def flush(self) -> list[str]:
        """Upload what failed before; returns the row ids whose files are all in the bucket
        now (their rows can stop saying the upload is pending)."""
        done: list[str] = []
        for rel in self.pending():
            with self._moving:  # a delete of this file waits, or has already happened
                if not self._pending_marker(rel).exists():
                    continue  # deleted meanwhile: nothing to send
                try:
                    data = self.abs_path(rel).read_bytes()
                except (OSError, ValueError):
                    self._pending_marker(rel).unlink(missing_ok=True)  # gone: nothing to send
                    continue
                kind = sniff_format(data) or "jpeg"
                if self._publish(rel, data, CONTENT_TYPES.get(kind, "image/jpeg")) is None:
                    done.append(rel)
        still = {row_of(rel) for rel in self.pending()}
        return sorted({row_of(rel) for rel in done} - still - {None})  # type: ignore[arg-type]

    def exists(self, rel: str) -> bool:
        """The file is here, or in the bucket."""
        try:
            if self.abs_path(rel).is_file():
                return True
        except ValueError:
            return False
        return self.bucket is not None and self.bucket.exists(self.canonical(rel))

    def local_path(self, rel: str) -> Path | None:
        """A file in this folder for a stored path (fetched from the bucket first when it is
        only there), for what needs a file rather than bytes; None when it is nowhere."""
        try:
            path = self.abs_path(rel)
        except ValueError:
            return None
        if path.is_file():
            return path
        return path if self.read_bytes(rel) is not None and path.is_file() else None

    @staticmethod
    def canonical(rel: str) -> str:
        """One spelling per file: the form abs_path reads a stored path in (backslashes as
        slashes, no empty or '.' parts), so two rows naming one file by different spellings
        are seen to share it."""
        parts = PurePosixPath(str(rel).replace("\\", "/")).parts
        return "/".join(p for p in parts if p not in ("", ".", "/"))

    def abs_path(self, rel: str) -> Path:
        """The file for a stored relative path; ValueError for anything outside images/ or
        thumbs/ (absolute paths, '..', symlinks leading out), e.g. from an imported log."""
        text = str(rel).replace("\\", "/")
        pure = PurePosixPath(text)
        if (
            not text
            or "\x00" in text
            or pure.is_absolute()
            or ".." in pure.parts
            or len(pure.parts) < 2
            or pure.parts[0] not in (IMAGES_DIR, THUMBS_DIR)
        ):
            raise ValueError(f"not a stored image path: {rel!r}")
        full = self.root.joinpath(*pure.parts)
        base = (self.root / pure.parts[0]).resolve()
        if not full.resolve().is_relative_to(base):
            raise ValueError(f"path leaves the image folder: {rel!r}")
        return full

    @staticmethod
    def thumb_rel_for(rel_image: str) -> str:
        """Where the thumbnail of an original lives: same day folder, same stem, .jpg."""
        pure = PurePosixPath(str(rel_image).replace("\\", "/"))
        if not pure.parts or pure.parts[0] != IMAGES_DIR:
            raise ValueError(f"not an original image path: {rel_image!r}")
        return PurePosixPath(THUMBS_DIR, *pure.parts[1:]).with_suffix(".jpg").as_posix()

    def _original_for(self, rel_thumb: str) -> str | None:
        pure = PurePosixPath(str(rel_thumb).replace("\\", "/"))
        if not pure.parts or pure.parts[0] != THUMBS_DIR:
            return None
        for ext in EXTENSIONS.values():
            rel = PurePosixPath(IMAGES_DIR, *pure.parts[1:]).with_suffix(f".{ext}").as_posix()
            if self.exists(rel):
                return rel
        return None

    def save(
        self,
        image_id: str,
        data: bytes,
        params: dict[str, Any],
        *,
        day: date | None = None,
        thumb: bytes | None = None,
    ) -> StoredImage:
        """Store one image with params embedded and its thumbnail (`thumb`, when the caller
        already made it with make_thumbnail); ValueError when the bytes are not a decodable
        JPEG/PNG (nothing is written then)."""
        validate_image_id(image_id)
        fmt, width, height = inspect_image(data)
        try:
            thumb = thumb if thumb is not None else make_thumbnail(data)
        except (OSError, Image.DecompressionBombError, SyntaxError) as exc:
            raise ValueError(f"image does not decode: {exc}") from exc
        try:
            stamped = embed_params(data, params)
        except ValueError:
            # A header layout we cannot edit safely: keep the paid-for image without the stamp
            # (the log row still holds its parameters).
            stamped = data
        folder = (day or datetime.now(UTC).date()).isoformat()
        rel = f"{IMAGES_DIR}/{folder}/{image_id}.{EXTENSIONS[fmt]}"
        rel_thumb = self.thumb_rel_for(rel)
        write_atomic(self.abs_path(rel), stamped, durable=True)
        write_atomic(self.abs_path(rel_thumb), thumb, durable=False)
        # The thumbnail first: it is what other replicas show first.
        failed = self._publish(rel_thumb, thumb, CONTENT_TYPES["jpeg"])
        failed = self._publish(rel, stamped, CONTENT_TYPES[fmt]) or failed
        return StoredImage(rel, rel_thumb, width, height, CONTENT_TYPES[fmt], len(stamped), failed)

    def ensure_thumbnail(self, rel_path: str) -> str | None:
        """The thumbnail path of an original, rebuilding the file if it is missing; None when
        the original is gone or unreadable."""
        try:
            rel_thumb = self.thumb_rel_for(rel_path)
            thumb = self.abs_path(rel_thumb)
            if thumb.is_file():
                return rel_thumb
            data = self.read_bytes(rel_path)
            if data is None:
                return None
            # Derived data: made here again from the original, never uploaded on its own.
            write_atomic(thumb, make_thumbnail(data), durable=False)
            return rel_thumb
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
            return None

    def delete(self, rel_paths: Iterable[str]) -> int:
        """Remove files (and an original's thumbnail); missing files and paths outside the
        image folders are skipped. Returns how many files were removed."""
        removed = 0
        for rel in rel_paths:
            targets: list[str] = [rel]
            with suppress(ValueError):
                targets.append(self.thumb_rel_for(rel))
            for target in dict.fromkeys(targets):
                try:
                    path = self.abs_path(target)
                except ValueError:
                    continue
                if path.is_dir() and not path.is_symlink():
                    continue
                with self._moving:
                    gone_here = self._delete_one(path, target)
                if not gone_here:
                    continue
                removed += 1
                with suppress(OSError):  # drop the day folder once it is empty
                    path.parent.rmdir()
        return removed

    def _delete_one(self, path: Path, rel: str) -> bool:
        gone = False
        try:
            path.unlink()
            gone = True
        except FileNotFoundError:
            pass
        self._pending_marker(rel).unlink(missing_ok=True)
        if self.bucket is None:
            return gone
        key = self.canonical(rel)
        existed = self.bucket.exists(key)
        try:
            self.bucket.delete(key)  # asked even when HEAD said no: a DELETE is safe to repeat
        except BucketError:
            # Left in the bucket (the rows are gone and nothing names it): never a traceback.
            log.exception("could not delete %s from the bucket", rel)
            return gone
        return gone or existed

    def clear_thumbnails(self) -> int:
        """Delete every thumbnail, here and in the bucket (they are rebuilt on demand);
        returns how many."""
        removed = 0
        if self.bucket is not None:
            try:
                for rel in self.bucket.names(THUMBS_DIR):
                    self.bucket.delete(rel)
                    try:
                        removed += not self.abs_path(rel).is_file()  # else counted below
                    except ValueError:
                        removed += 1  # not a name this studio writes: gone all the same
            except BucketError:
                log.exception("could not clear the bucket's thumbnails")
        folder = self.root / THUMBS_DIR
        if not folder.is_dir():
            return removed
        for path in sorted(folder.rglob("*"), reverse=True):
            if path.name.startswith("."):
                continue  # another thread's thumbnail being written right now
            if path.is_file() or path.is_symlink():
                path.unlink(missing_ok=True)
                removed += 1
            elif path.is_dir():
                with suppress(OSError):
                    path.rmdir()
        return removed

    def read_bytes(self, rel: str) -> bytes | None:
        """The file's bytes: the copy here, else the bucket's (kept here from then on)."""
        try:
            path = self.abs_path(rel)
        except ValueError:
            return None
        try:
            return path.read_bytes()
        except OSError:
            pass
        if self.bucket is None:
            return None
        data = self.bucket.get(self.canonical(rel))
        if data is not None:
            with suppress(OSError):
                write_atomic(path, data, durable=False)  # a cache: the bucket has it
        return data

    def thumbnail_bytes(self, rel_thumb: str) -> bytes | None:
        """A thumbnail's bytes, rebuilt from its original when it was cleared."""
        data = self.read_bytes(rel_thumb)
        if data is not None:
            return data
        try:
            original = self._original_for(rel_thumb)
        except ValueError:
            return None
        rebuilt = self.ensure_thumbnail(original) if original else None
        return self.read_bytes(rebuilt) if rebuilt else None

    def read_params(self, source: Path | str | bytes) -> dict[str, Any] | None:
        """Embedded parameters from bytes, an absolute path, or a stored relative path."""
        if isinstance(source, str) and not Path(source).is_absolute():
            local = self.local_path(source)  # with a bucket, fetched first
            if local is None:
                return None
            source = local
        return read_params(source)

    def disk_usage(self) -> dict[str, int]:
        """Bytes and file counts of originals and thumbnails (temp files not counted)."""
        usage: dict[str, int] = {}
        for name in (IMAGES_DIR, THUMBS_DIR):
            files = total = 0
            folder = self.root / name
            if folder.is_dir():
                for path in folder.rglob("*"):
                    if path.is_file() and not path.name.startswith("."):
                        files += 1
                        total += path.stat().st_size
            usage[f"{name}_files"] = files
            usage[f"{name}_bytes"] = total
        if self.bucket is not None:
            # The bucket holds every file; this folder is only its cache (shown if the bucket
            # cannot be listed right now).
            try:
                counted = {name: self.bucket.usage(name) for name in (IMAGES_DIR, THUMBS_DIR)}
            except BucketError:
                log.exception("could not list the bucket")
                counted = {}
            for name, (files, total) in counted.items():
                usage[f"{name}_files"], usage[f"{name}_bytes"] = files, total
        usage["total_bytes"] = usage[f"{IMAGES_DIR}_bytes"] + usage[f"{THUMBS_DIR}_bytes"]
        return usage
