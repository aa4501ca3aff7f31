"""components/images/letterbox.py: every picture in one box shape, without cropping."""

from __future__ import annotations

import io

from PIL import Image

from components.images.letterbox import BACKGROUND, box_size, letterboxed_jpeg


def jpeg(size: tuple[int, int], colour=(200, 40, 40), mode: str = "RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, colour if mode == "RGB" else (0, 0, 0, 0)).save(out, "JPEG")
    return out.getvalue()


def test_a_thumbnail_of_the_boxs_own_shape_is_sent_as_it_is():
    thumb = jpeg(box_size(2752 / 1536, 512))  # 512x286, as the store makes them
    assert letterboxed_jpeg(thumb, 2752 / 1536) is thumb


def test_another_shape_is_fitted_on_bars():
    tall = jpeg((286, 512))
    boxed = letterboxed_jpeg(tall, 2752 / 1536)
    assert boxed is not None and boxed != tall
    with Image.open(io.BytesIO(boxed)) as im:
        assert im.size == (512, 286)
        left_bar = im.convert("RGB").getpixel((5, 143))
        middle = im.convert("RGB").getpixel((256, 143))
    assert all(abs(a - b) < 12 for a, b in zip(left_bar, BACKGROUND, strict=True))
    assert middle[0] > 150  # the picture, not a bar


def test_a_cmyk_jpeg_of_the_right_size_is_still_converted():
    cmyk = jpeg(box_size(16 / 9, 512), mode="CMYK")
    boxed = letterboxed_jpeg(cmyk, 16 / 9)
    assert boxed is not None and boxed != cmyk
    with Image.open(io.BytesIO(boxed)) as im:
        assert im.mode == "RGB"


def test_bytes_that_do_not_decode_give_none():
    assert letterboxed_jpeg(b"not an image", 16 / 9) is None
    assert letterboxed_jpeg(None, 16 / 9) is None
