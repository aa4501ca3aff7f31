"""What a voter's browser gets (images.store.clean_copy): a re-encoded JPEG with nothing
embedded, made from an original as ImageStore.save stores it (parameters embedded)."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import pytest
from PIL import Image, ImageCms, ImageDraw

from components.images.store import JPEG_MARKER, METADATA_KEY, ImageStore, clean_copy, read_params

PROMPT = "zq7 a lighthouse at dusk, teal and amber"
PARAMS = {"prompt": PROMPT, "seed": 987654321, "aspect_ratio": "16:9", "raw": False}
SEED_TEXT = b"987654321"
DAY = date(2026, 11, 26)


def picture(width: int, height: int) -> Image.Image:
    im = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    draw = ImageDraw.Draw(im)
    draw.ellipse((width // 4, height // 4, width // 2, height // 2), fill=(200, 120, 30))
    return im


def encoded(im: Image.Image, fmt: str, **extra) -> bytes:
    out = io.BytesIO()
    im.save(out, fmt, **extra)
    return out.getvalue()


def with_everything(fmt: str, width: int = 2000, height: int = 1125) -> bytes:
    """An original carrying an ICC profile, EXIF, a comment or text chunk of its own."""
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    exif = Image.Exif()
    exif[0x010E] = f"ImageDescription {PROMPT}"  # a camera app's description field
    exif[0x010F] = "Camera Maker"
    im = picture(width, height)
    if fmt == "JPEG":
        comment = f"made from: {PROMPT}".encode()
        return encoded(
            im, "JPEG", quality=90, icc_profile=icc, exif=exif.tobytes(), comment=comment
        )
    from PIL import PngImagePlugin

    text = PngImagePlugin.PngInfo()
    text.add_text("parameters", PROMPT)
    return encoded(im, "PNG", pnginfo=text, icc_profile=icc, exif=exif.tobytes())


def jpeg_markers(data: bytes) -> list[int]:
    """The markers before the image data (SOS), in order."""
    assert data[:2] == b"\xff\xd8"
    markers, pos = [], 2
    while pos < len(data):
        assert data[pos] == 0xFF, pos
        marker = data[pos + 1]
        markers.append(marker)
        if marker == 0xDA:  # start of scan: the entropy-coded data follows
            break
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        pos += 2 + length
    return markers


def stored_original(tmp_path: Path, fmt: str, **size) -> bytes:
    images = ImageStore(tmp_path)
    stored = images.save("row123_0", with_everything(fmt, **size), PARAMS, day=DAY)
    original = images.abs_path(stored.path).read_bytes()
    assert read_params(original) == PARAMS  # the original does carry the parameters
    assert PROMPT.encode() in original
    return original


def assert_clean(data: bytes) -> None:
    assert read_params(data) is None
    assert PROMPT.encode() not in data
    assert b"lighthouse" not in data and SEED_TEXT not in data
    assert JPEG_MARKER not in data and METADATA_KEY.encode() not in data
    assert b"Camera Maker" not in data
    markers = jpeg_markers(data)
    assert 0xFE not in markers  # no comment (COM)
    assert 0xE1 not in markers  # no EXIF or XMP (APP1)
    assert 0xE2 not in markers  # no ICC profile (APP2)
    assert not [m for m in markers if 0xE3 <= m <= 0xEF]  # no other application data
    with Image.open(io.BytesIO(data)) as im:
        assert im.format == "JPEG"
        for key in ("icc_profile", "exif", "comment", "xmp"):
            assert not im.info.get(key), key
        assert not im.getexif()
        im.load()


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_clean_copy_of_a_stored_original_carries_nothing(tmp_path: Path, fmt: str) -> None:
    original = stored_original(tmp_path, fmt)
    clean = clean_copy(original)
    assert_clean(clean)
    with Image.open(io.BytesIO(clean)) as im:
        assert max(im.size) == 1280  # capped on the long side
        assert im.size[0] / im.size[1] == pytest.approx(2000 / 1125, rel=0.01)
        assert im.mode == "RGB"


def test_clean_copy_honours_max_side_and_portrait(tmp_path: Path) -> None:
    original = stored_original(tmp_path, "JPEG", width=900, height=1600)
    clean = clean_copy(original, max_side=400)
    assert_clean(clean)
    with Image.open(io.BytesIO(clean)) as im:
        assert im.size[1] == 400 and im.size[0] == pytest.approx(225, abs=1)


def test_clean_copy_does_not_enlarge_a_small_image(tmp_path: Path) -> None:
    original = stored_original(tmp_path, "PNG", width=320, height=200)
    clean = clean_copy(original)
    assert_clean(clean)
    with Image.open(io.BytesIO(clean)) as im:
        assert im.size == (320, 200)


def test_clean_copy_of_a_transparent_png(tmp_path: Path) -> None:
    im = Image.new("RGBA", (600, 300), (0, 0, 0, 0))
    ImageDraw.Draw(im).rectangle((100, 100, 200, 200), fill=(255, 0, 0, 255))
    images = ImageStore(tmp_path)
    stored = images.save("row123_1", encoded(im, "PNG"), PARAMS, day=DAY)
    clean = clean_copy(images.abs_path(stored.path).read_bytes())
    assert_clean(clean)
    with Image.open(io.BytesIO(clean)) as out:
        assert out.getpixel((10, 10)) == pytest.approx((255, 255, 255), abs=3)


def test_clean_copy_refuses_what_is_not_an_image() -> None:
    with pytest.raises(ValueError):
        clean_copy(b"not an image " + PROMPT.encode())
