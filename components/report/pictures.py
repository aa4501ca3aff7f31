"""A report's pictures: each original re-encoded as a clean JPEG (no parameters, comment,
colour profile or EXIF) at most MAX_SIDE on its long side, and held to a byte budget so that
MAX_IMAGES of them stay under REPORT_BYTES once base64-encoded.

Photos of the provider's sizes come out at a few hundred KB at quality 82 and are left as they
are; only a picture that is mostly fine detail (noise, foliage) is stepped down in quality and
then in size until it fits, so the cap in the notice is a promise, not a hope.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

from PIL import Image

from components.images.store import clean_copy

MAX_IMAGES = 16
MAX_SIDE = 1600
REPORT_BYTES = 15_000_000  # "about 15 MB", what the notice promises
# Room for the page itself (styles, tables, long prompts): generous, the real page is ~30 KB.
PAGE_ALLOWANCE = 400_000
# Base64 turns 3 bytes into 4, so MAX_IMAGES pictures of this size fill REPORT_BYTES.
IMAGE_BUDGET = (REPORT_BYTES - PAGE_ALLOWANCE) * 3 // 4 // MAX_IMAGES
FALLBACK_QUALITIES = (70, 55)
MIN_SIDE = 64


@dataclass(frozen=True)
class Picture:
    jpeg: bytes
    width: int
    height: int


def _encode(picture: Image.Image, quality: int) -> bytes:
    out = io.BytesIO()
    # comment=b"" so nothing carries over from the decoded copy's info.
    picture.save(out, "JPEG", quality=quality, comment=b"")
    return out.getvalue()


def _fit(picture: Image.Image, jpeg: bytes, budget: int) -> tuple[Image.Image, bytes]:
    """Lower quality first (cheap, same pixels), then fewer pixels, until the JPEG fits."""
    for quality in FALLBACK_QUALITIES:
        if len(jpeg) <= budget:
            return picture, jpeg
        jpeg = _encode(picture, quality)
    while len(jpeg) > budget and max(picture.size) > MIN_SIDE:
        # JPEG size goes roughly with the pixel count: aim a little under the budget.
        scale = min(0.9, math.sqrt(budget / len(jpeg)) * 0.95)
        size = (max(1, round(picture.width * scale)), max(1, round(picture.height * scale)))
        picture = picture.resize(size, Image.Resampling.LANCZOS)
        jpeg = _encode(picture, FALLBACK_QUALITIES[-1])
    return picture, jpeg


def embed_picture(data: bytes, max_side: int = MAX_SIDE, budget: int = IMAGE_BUDGET) -> Picture:
    """The picture a report embeds for an original's bytes. ValueError (or whatever Pillow
    raises) for bytes that are not a JPEG/PNG within the store's limits."""
    jpeg = clean_copy(data, max_side)
    with Image.open(io.BytesIO(jpeg)) as opened:
        size = opened.size
        if len(jpeg) > budget:
            opened.load()
            picture, jpeg = _fit(opened.copy(), jpeg, budget)
            size = picture.size
    return Picture(jpeg, size[0], size[1])
