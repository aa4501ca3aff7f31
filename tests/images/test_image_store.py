"""Image files on disk: embedded parameters, untouched pixels, thumbnails, safe paths."""

from __future__ import annotations

import contextlib
import io
import os
import statistics
import struct
import time
import zlib
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw, ImageFilter

from components.api.client import FluxClient
from components.images.store import (
    _PNG_SIGNATURE,
    ID_PATTERN,
    JPEG_MARKER,
    MAX_IMAGE_PIXELS,
    METADATA_KEY,
    ImageStore,
    StoredImage,
    embed_params,
    image_id,
    inspect_image,
    make_thumbnail,
    read_params,
    sniff_format,
    write_atomic,
)

WIDTH, HEIGHT = 2752, 1536  # the 16:9 output size
DAY = date(2026, 11, 26)
PARAMS = {
    "prompt": "../../etc/passwd a lighthouse at dusk, 'quoted' \"twice\" ✓",
    "seed": 2**53 - 1,
    "aspect_ratio": "16:9",
    "raw": False,
    "nested": {"list": [1, 2.5, None, "ü"]},
}


def _picture() -> Image.Image:
    """A photo-like test image: gradients, shapes and a little grain (not flat, not noise)."""
    ramp = Image.linear_gradient("L").resize((WIDTH, HEIGHT))
    grain = Image.effect_noise((WIDTH, HEIGHT), 24).filter(ImageFilter.GaussianBlur(1.5))
    im = Image.merge("RGB", (ramp, grain, ramp.transpose(Image.Transpose.FLIP_LEFT_RIGHT)))
    draw = ImageDraw.Draw(im)
    for n in range(12):
        x, y = 200 + n * 200, 150 + (n % 4) * 300
        draw.ellipse((x, y, x + 180, y + 240), fill=(40 * (n % 6), 200 - 10 * n, 90))
    return im


@pytest.fixture(scope="module")
def picture() -> Image.Image:
    return _picture()


@pytest.fixture(scope="module")
def jpeg_bytes(picture: Image.Image) -> bytes:
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=92)
    return out.getvalue()


@pytest.fixture(scope="module")
def png_bytes(picture: Image.Image) -> bytes:
    out = io.BytesIO()
    picture.save(out, "PNG", compress_level=1)
    return out.getvalue()


@pytest.fixture(params=("folder", "bucket"))
def store(request, tmp_path: Path) -> ImageStore:
    """The data folder alone, or the data folder as the cache of a bucket (an S3-compatible
    server on localhost): the same suite passes for both."""
    if request.param == "folder":
        return ImageStore(tmp_path)
    return ImageStore(tmp_path, request.getfixturevalue("s3_bucket"))


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def _pixels(data: bytes) -> bytes:
    with Image.open(io.BytesIO(data)) as im:
        return im.convert("RGB").tobytes()


def test_save_jpeg(store: ImageStore, tmp_path: Path, jpeg_bytes: bytes) -> None:
    stored = store.save("abc123_0", jpeg_bytes, PARAMS, day=DAY)
    assert stored == StoredImage(
        path="images/2026-11-26/abc123_0.jpg",
        thumb_path="thumbs/2026-11-26/abc123_0.jpg",
        width=WIDTH,
        height=HEIGHT,
        content_type="image/jpeg",
        size_bytes=stored.size_bytes,
    )
    saved = (tmp_path / stored.path).read_bytes()
    assert stored.size_bytes == len(saved)
    assert read_params(tmp_path / stored.path) == PARAMS
    assert read_params(str(tmp_path / stored.path)) == PARAMS
    assert read_params(saved) == PARAMS
    assert store.read_params(stored.path) == PARAMS
    # Not re-encoded: the very same pixels decode, and only our segment was added.
    assert _pixels(saved) == _pixels(jpeg_bytes)
    assert len(saved) - len(jpeg_bytes) < 400
    with Image.open(io.BytesIO(saved)) as im:
        assert im.size == (WIDTH, HEIGHT)
        assert im.info["comment"].startswith(JPEG_MARKER)  # other tools see a JPEG comment
    assert saved[:2] == b"\xff\xd8"


def test_save_png(store: ImageStore, tmp_path: Path, png_bytes: bytes) -> None:
    stored = store.save("abc123_1", png_bytes, PARAMS, day=DAY)
    assert stored.path == "images/2026-11-26/abc123_1.png"
    assert stored.thumb_path == "thumbs/2026-11-26/abc123_1.jpg"
    assert (stored.width, stored.height, stored.content_type) == (WIDTH, HEIGHT, "image/png")
    saved = (tmp_path / stored.path).read_bytes()
    assert read_params(saved) == PARAMS
    assert read_params(tmp_path / stored.path) == PARAMS
    # The chunk sits right after IHDR, with a valid CRC.
    assert saved[12:16] == b"IHDR" and saved[37:41] == b"iTXt"
    with Image.open(io.BytesIO(saved)) as im:
        im.verify()  # checks every chunk CRC
    with Image.open(io.BytesIO(saved)) as im:
        assert im.text[METADATA_KEY].startswith("{")
    assert _pixels(saved) == _pixels(png_bytes)
    assert saved.endswith(png_bytes[33:])  # everything after IHDR is byte-identical


def test_jpeg_after_exif_header(store: ImageStore, picture: Image.Image) -> None:
    exif = Image.Exif()
    exif[0x010F] = "Camera Maker"
    out = io.BytesIO()
    picture.resize((400, 300)).save(out, "JPEG", exif=exif.tobytes())
    stamped = embed_params(out.getvalue(), PARAMS)
    with Image.open(io.BytesIO(stamped)) as im:
        assert im.getexif()[0x010F] == "Camera Maker"
    assert stamped.index(b"Exif") < stamped.index(JPEG_MARKER)
    assert read_params(stamped) == PARAMS


@pytest.mark.parametrize("fmt", ["jpeg", "png"])
def test_restamping_replaces_the_old_parameters(fmt: str, picture: Image.Image) -> None:
    out = io.BytesIO()
    picture.resize((64, 36)).save(out, fmt.upper())
    once = embed_params(out.getvalue(), {"seed": 1})
    twice = embed_params(once, {"seed": 2})
    assert read_params(twice) == {"seed": 2}
    assert twice.count(METADATA_KEY.encode()) == 1
    assert len(twice) == len(once)
    assert _pixels(twice) == _pixels(out.getvalue())


@pytest.mark.parametrize("fmt", ["jpeg", "png"])
def test_parameters_larger_than_one_jpeg_segment(fmt: str, picture: Image.Image) -> None:
    params = {"prompt": "ü" * 50_000, "more": "x" * 70_000}  # ~170 kB of UTF-8
    out = io.BytesIO()
    picture.resize((64, 36)).save(out, fmt.upper())
    stamped = embed_params(out.getvalue(), params)
    assert read_params(stamped) == params
    assert _pixels(stamped) == _pixels(out.getvalue())


def test_thumbnails(store: ImageStore, tmp_path: Path, jpeg_bytes: bytes, png_bytes: bytes):
    for n, data in enumerate((jpeg_bytes, png_bytes)):
        stored = store.save(image_id("row", n), data, PARAMS, day=DAY)
        thumb = (tmp_path / stored.thumb_path).read_bytes()
        assert sniff_format(thumb) == "jpeg"
        with Image.open(io.BytesIO(thumb)) as im:
            assert max(im.size) <= 512 and max(im.size) >= 500
            assert abs(im.size[0] / im.size[1] - WIDTH / HEIGHT) < 0.01
        assert store.thumbnail_bytes(stored.thumb_path) == thumb


def test_portrait_and_alpha_thumbnails(picture: Image.Image) -> None:
    tall = picture.rotate(90, expand=True).convert("RGBA")
    tall.putalpha(128)
    out = io.BytesIO()
    tall.save(out, "PNG", compress_level=1)
    with Image.open(io.BytesIO(make_thumbnail(out.getvalue()))) as im:
        assert im.mode == "RGB" and im.size[1] == 512 and im.size[0] < 512


def test_jpeg_thumbnail_is_fast(jpeg_bytes: bytes) -> None:
    make_thumbnail(jpeg_bytes)
    timings = []
    for _ in range(15):
        start = time.perf_counter()
        make_thumbnail(jpeg_bytes)
        timings.append(time.perf_counter() - start)
    median_ms = statistics.median(timings) * 1000
    print(f"\nthumbnail of a {len(jpeg_bytes) // 1024} kB 2752x1536 JPEG: {median_ms:.1f} ms")
    assert median_ms < 60  # typically 10-20 ms; the bound tolerates a busy machine


def test_file_names_come_from_ids_only(store: ImageStore, tmp_path: Path, jpeg_bytes: bytes):
    store.save("f00d_0", jpeg_bytes, {"prompt": "../../etc/passwd"}, day=DAY)
    store.save("f00d_1", jpeg_bytes, {"prompt": "/tmp/evil; rm -rf ~"}, day=DAY)
    files = _files(tmp_path)
    assert [p.relative_to(tmp_path).as_posix() for p in files] == [
        "images/2026-11-26/f00d_0.jpg",
        "images/2026-11-26/f00d_1.jpg",
        "thumbs/2026-11-26/f00d_0.jpg",
        "thumbs/2026-11-26/f00d_1.jpg",
    ]
    assert not any("passwd" in str(p) or "evil" in str(p) for p in files)
    assert not (tmp_path.parent / "etc").exists()


@pytest.mark.parametrize(
    "row_id", ["a", "A9", "0-f_x", "x" * 64, "3f2b9c1e4d5a6b7c8d9e0f1a2b3c4d5e"]
)
def test_row_ids_that_name_files(row_id: str) -> None:
    assert ID_PATTERN.fullmatch(row_id)


@pytest.mark.parametrize("row_id", ["", "-rf", "_x", "x" * 65, "a.b", "a/b", "é", "a b"])
def test_row_ids_that_could_not_name_a_file(row_id: str) -> None:
    assert not ID_PATTERN.fullmatch(row_id)


def test_the_longest_row_id_still_names_its_images(store: ImageStore, jpeg_bytes: bytes) -> None:
    stored = store.save(image_id("x" * 64, 3), jpeg_bytes, PARAMS, day=DAY)
    assert stored.path == f"images/2026-11-26/{'x' * 64}_3.jpg"


@pytest.mark.parametrize(
    "bad_id",
    [
        *("../x", "..", "a/b", "a\\b", "", ".hidden", "a b", "x" * 200, "é", "a\x00b", "-rf"),
        *("a.jpg", "abc", "_0", "-x_0", "x" * 65 + "_0", "abc_", "abc_x"),
    ],
)
def test_bad_ids_rejected(store: ImageStore, tmp_path: Path, jpeg_bytes: bytes, bad_id: str):
    with pytest.raises(ValueError, match="image id"):
        store.save(bad_id, jpeg_bytes, PARAMS)
    assert _files(tmp_path) == []


@pytest.mark.parametrize("data", [b"", b"GIF89a....", b"\xff\xd8\xff\xe0garbage", b"%PDF-1.7"])
def test_non_images_rejected_and_nothing_written(store: ImageStore, tmp_path: Path, data: bytes):
    with pytest.raises(ValueError):
        store.save("abc_0", data, PARAMS)
    assert _files(tmp_path) == []


def test_params_must_be_a_dict(store: ImageStore, jpeg_bytes: bytes) -> None:
    with pytest.raises(TypeError):
        store.save("abc_0", jpeg_bytes, ["not", "a", "dict"])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "rel",
    [
        "../studio.db",
        "studio.db",
        "/etc/passwd",
        "images/../../outside.jpg",
        "images/../studio.db",
        "thumbs/../../x",
        "images",
        "",
        "C:/Windows/x.jpg",
        "images/a\x00b.jpg",
    ],
)
def test_abs_path_refuses_escapes(store: ImageStore, rel: str) -> None:
    with pytest.raises(ValueError):
        store.abs_path(rel)


def test_abs_path_refuses_symlinks_out(store: ImageStore, tmp_path: Path) -> None:
    outside = tmp_path.parent / f"{tmp_path.name}-outside"
    outside.mkdir()
    (outside / "secret.jpg").write_bytes(b"secret")
    (tmp_path / "images").mkdir()
    os.symlink(outside, tmp_path / "images" / "link")
    with pytest.raises(ValueError):
        store.abs_path("images/link/secret.jpg")
    assert store.read_bytes("images/link/secret.jpg") is None
    assert store.delete(["images/link/secret.jpg"]) == 0
    assert (outside / "secret.jpg").exists()


def test_abs_path_accepts_stored_paths(store: ImageStore, tmp_path: Path) -> None:
    assert store.abs_path("images/2026-11-26/a_0.jpg") == tmp_path / "images/2026-11-26/a_0.jpg"
    assert store.abs_path("thumbs\\2026-11-26\\a_0.jpg") == tmp_path / "thumbs/2026-11-26/a_0.jpg"


def _png_with_text(keyword: bytes, text: bytes, kind: bytes = b"tEXt") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (4, 4)).save(out, "PNG")
    data = out.getvalue()
    body = keyword + b"\x00" + text
    chunk = struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    return data[:33] + chunk + data[33:]


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"garbage",
        os.urandom(4096),
        b"\x89PNG\r\n\x1a\n",
        b"\x89PNG\r\n\x1a\n" + b"\xff" * 40,
        b"\xff\xd8\xff",
        b"\xff\xd8\xff\xfe\x00",
        b"\xff\xd8\xff\xfe\xff\xff" + JPEG_MARKER + b'{"a": 1',
        b"\xff\xd8\xff\xfe\x00\x10" + JPEG_MARKER + b"[1]",
        b"\xff\xd8\xff\xfe\x00\x10" + JPEG_MARKER + b"\xff\xfe\x00",
        _png_with_text(METADATA_KEY.encode(), b"not json"),
        _png_with_text(METADATA_KEY.encode(), b"[1, 2]"),
        _png_with_text(METADATA_KEY.encode(), b"\x01\x00broken", kind=b"iTXt"),
        _png_with_text(b"Comment", b'{"a": 1}'),
    ],
)
def test_read_params_on_garbage_is_none(data: bytes) -> None:
    assert read_params(data) is None


def test_read_params_on_plain_images_and_odd_sources(tmp_path: Path, jpeg_bytes: bytes) -> None:
    assert read_params(jpeg_bytes) is None  # an image nobody stamped
    assert read_params(tmp_path) is None  # a folder
    assert read_params(tmp_path / "missing.jpg") is None
    assert read_params("") is None
    legacy = _png_with_text(METADATA_KEY.encode(), b'{"seed": 5}')  # tEXt works too
    assert read_params(legacy) == {"seed": 5}


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    prefix=st.sampled_from([b"", b"\x89PNG\r\n\x1a\n", b"\xff\xd8", b"\xff\xd8\xff\xe0"]),
    tail=st.binary(max_size=512),
)
def test_read_params_never_raises(prefix: bytes, tail: bytes) -> None:
    result = read_params(prefix + tail)
    assert result is None or isinstance(result, dict)


def test_clear_and_regenerate_thumbnails(
    store: ImageStore, tmp_path: Path, jpeg_bytes: bytes, png_bytes: bytes
) -> None:
    a = store.save("a_0", jpeg_bytes, PARAMS, day=DAY)
    b = store.save("b_0", png_bytes, PARAMS, day=DAY)
    before = (tmp_path / a.thumb_path).read_bytes()
    assert store.clear_thumbnails() == 2
    assert not (tmp_path / "thumbs").exists() or _files(tmp_path / "thumbs") == []
    assert store.disk_usage()["thumbs_files"] == 0
    assert store.thumbnail_bytes(a.thumb_path) == before  # rebuilt the same way
    assert (tmp_path / a.thumb_path).is_file()
    assert store.ensure_thumbnail(b.path) == b.thumb_path
    assert (tmp_path / b.thumb_path).is_file()
    assert store.clear_thumbnails() == 2
    assert store.clear_thumbnails() == 0
    assert store.thumbnail_bytes("thumbs/2026-11-26/nothing_0.jpg") is None
    assert store.thumbnail_bytes("../studio.db") is None
    assert store.ensure_thumbnail("images/2026-11-26/nothing_0.jpg") is None


def test_delete(store: ImageStore, tmp_path: Path, jpeg_bytes: bytes) -> None:
    keep = store.save("keep_0", jpeg_bytes, PARAMS, day=DAY)
    gone = store.save("gone_0", jpeg_bytes, PARAMS, day=date(2026, 11, 27))
    (tmp_path / "studio.db").write_bytes(b"the log")
    removed = store.delete([gone.path, gone.thumb_path, "images/x/missing_0.jpg", "studio.db"])
    assert removed == 2
    assert not (tmp_path / gone.path).exists() and not (tmp_path / gone.thumb_path).exists()
    assert not (tmp_path / "images/2026-11-27").exists()  # empty day folder removed
    assert (tmp_path / keep.path).exists() and (tmp_path / keep.thumb_path).exists()
    assert (tmp_path / "studio.db").read_bytes() == b"the log"
    # Deleting an original alone also removes its (derived) thumbnail.
    assert store.delete([keep.path]) == 2
    assert _files(tmp_path) == [tmp_path / "studio.db"]


def test_disk_usage(store: ImageStore, jpeg_bytes: bytes, png_bytes: bytes) -> None:
    assert store.disk_usage() == {
        "images_files": 0,
        "images_bytes": 0,
        "thumbs_files": 0,
        "thumbs_bytes": 0,
        "total_bytes": 0,
    }
    a = store.save("a_0", jpeg_bytes, PARAMS)
    b = store.save("b_0", png_bytes, PARAMS)
    usage = store.disk_usage()
    assert usage["images_files"] == 2 and usage["thumbs_files"] == 2
    assert usage["images_bytes"] == a.size_bytes + b.size_bytes
    assert 0 < usage["thumbs_bytes"] < usage["images_bytes"]
    assert usage["total_bytes"] == usage["images_bytes"] + usage["thumbs_bytes"]


def test_overwrite_is_atomic_and_leaves_no_temp_files(
    store: ImageStore, tmp_path: Path, jpeg_bytes: bytes
) -> None:
    first = store.save("same_0", jpeg_bytes, {"v": 1}, day=DAY)
    second = store.save("same_0", jpeg_bytes, {"v": 2}, day=DAY)
    assert first.path == second.path
    assert store.read_params(second.path) == {"v": 2}
    assert not [p for p in tmp_path.rglob(".*")]


# --- Limits from the header, before any decoding -------------------------------------------


def test_inspect_image_reads_the_header_and_refuses_too_many_pixels(jpeg_bytes: bytes) -> None:
    from samples import png_declaring

    assert inspect_image(jpeg_bytes) == ("jpeg", WIDTH, HEIGHT)
    assert FluxClient.max_image_pixels == MAX_IMAGE_PIXELS  # the download path's limit
    side = 7000  # 49 Mpx: under Pillow's own guard, over the download limit
    with pytest.raises(ValueError, match="7000x7000 pixels"):
        inspect_image(png_declaring(side, side))
    with pytest.raises(ValueError, match="far too many pixels"):
        inspect_image(png_declaring(60_000, 60_000))  # Pillow's decompression-bomb guard
    for data in (b"", b"GIF89a", _PNG_SIGNATURE + b"\x00" * 40):
        with pytest.raises(ValueError):
            inspect_image(data)


def test_a_stored_bomb_never_gets_a_thumbnail(store: ImageStore, tmp_path: Path) -> None:
    from samples import png_declaring

    bomb = png_declaring(7000, 7000)
    with pytest.raises(ValueError, match="pixels"):
        make_thumbnail(bomb)
    with pytest.raises(ValueError, match="pixels"):
        store.save("big_0", bomb, {})
    assert _files(tmp_path) == []
    target = tmp_path / "images" / "2026-11-26" / "big_0.png"  # as an old import left it
    target.parent.mkdir(parents=True)
    target.write_bytes(bomb)
    assert store.ensure_thumbnail("images/2026-11-26/big_0.png") is None
    assert store.thumbnail_bytes("thumbs/2026-11-26/big_0.jpg") is None


def test_read_params_does_not_inflate_a_compressed_text_bomb() -> None:
    from samples import image_bytes

    png = image_bytes(8, 8, "PNG")
    body = METADATA_KEY.encode() + b"\x00\x00" + zlib.compress(b"{" + b" " * (200 << 20), 9)
    chunk = struct.pack(">I", len(body)) + b"zTXt" + body
    chunk += struct.pack(">I", zlib.crc32(b"zTXt" + body) & 0xFFFFFFFF)
    bomb = png[:33] + chunk + png[33:]
    assert len(bomb) < 1 << 20
    started = time.perf_counter()
    assert read_params(bomb) is None
    assert time.perf_counter() - started < 1.0


# --- A day folder removed under a save -----------------------------------------------------


def test_save_survives_its_folder_vanishing_before_the_temp_file(
    store: ImageStore, tmp_path: Path, jpeg_bytes: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Deleting the last file of a day removes the emptied folder: if that lands between a
    save's mkdir and its temp file, the save makes the folder again."""
    import shutil
    import tempfile as tempfile_module

    real_mkstemp = tempfile_module.mkstemp
    removed: list[str] = []

    def racing_mkstemp(*args, **kwargs):
        folder = Path(kwargs["dir"])
        if len(removed) < 2 and folder.is_dir():  # the other thread wins twice in a row
            shutil.rmtree(folder)
            removed.append(str(folder))
        return real_mkstemp(*args, **kwargs)

    monkeypatch.setattr(tempfile_module, "mkstemp", racing_mkstemp)
    stored = store.save("race_0", jpeg_bytes, PARAMS, day=DAY)
    assert removed == [str(tmp_path / "images" / DAY.isoformat())] * 2
    assert (tmp_path / stored.path).is_file() and (tmp_path / stored.thumb_path).is_file()
    assert read_params(tmp_path / stored.path) == PARAMS


def test_saves_and_deletes_of_one_day_race_without_errors(
    store: ImageStore, tmp_path: Path
) -> None:
    """A real race: one thread deletes the day's only file (removing the folder) while another
    writes into the same day folder, many times over."""
    import threading

    folder = tmp_path / "images" / DAY.isoformat()
    rounds = 3000
    errors: list[BaseException] = []
    stop = threading.Event()

    def deleter() -> None:
        n = 0
        while not stop.is_set():
            rel = f"images/{DAY.isoformat()}/gone{n}_0.jpg"
            try:
                write_atomic(store.abs_path(rel), b"x", durable=False)
                store.delete([rel])  # unlinks and removes the emptied folder
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)
                return
            n += 1

    thread = threading.Thread(target=deleter)
    thread.start()
    try:
        for n in range(rounds):
            path = folder / f"keep{n}_0.jpg"
            try:
                write_atomic(path, b"y", durable=False)
            except BaseException as exc:
                errors.append(exc)
                break
            path.unlink()
            with contextlib.suppress(OSError):
                folder.rmdir()
    finally:
        stop.set()
        thread.join()
    assert errors == []
