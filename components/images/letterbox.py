"""Fit any image into a fixed box without cropping, so a mixed-ratio grid lines up."""

from __future__ import annotations

import io

from PIL import Image, ImageDraw

BACKGROUND = (26, 29, 36)  # the theme's secondary background: bars read as "no picture here"
PENDING = (34, 38, 47)
FAILED = (58, 30, 34)


def box_size(aspect: float, long_side: int) -> tuple[int, int]:
    """Pixel size of a box with this width/height ratio and this longer side."""
    if aspect >= 1:
        return long_side, max(1, round(long_side / aspect))
    return max(1, round(long_side * aspect)), long_side


def fit(image: Image.Image, size: tuple[int, int], background=BACKGROUND) -> Image.Image:
    """The image scaled to fit `size`, centred on bars of `background` (letterbox/pillarbox)."""
    canvas = Image.new("RGB", size, background)
    scale = min(size[0] / image.width, size[1] / image.height)
    inner = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    if image.mode not in ("RGB", "RGBA"):
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    resized = image.resize(inner, Image.Resampling.LANCZOS)
    offset = ((size[0] - inner[0]) // 2, (size[1] - inner[1]) // 2)
    canvas.paste(resized, offset, resized if resized.mode == "RGBA" else None)
    return canvas


def open_image(data: bytes | None) -> Image.Image | None:
    if not data:
        return None
    try:
        with Image.open(io.BytesIO(data)) as im:
            im.draft("RGB", (1024, 1024))  # JPEG: decode at reduced size, much faster
            return im.convert("RGB")
    except (OSError, ValueError, Image.DecompressionBombError):
        return None


def placeholder(size: tuple[int, int], background=PENDING, cross: bool = False) -> Image.Image:
    """An empty box of the cell's size (waiting, failed, missing) so rows stay aligned."""
    canvas = Image.new("RGB", size, background)
    if cross:
        draw = ImageDraw.Draw(canvas)
        w, h = size
        m = min(w, h) // 3
        colour = tuple(min(255, c + 40) for c in background)
        draw.line((w / 2 - m / 2, h / 2 - m / 2, w / 2 + m / 2, h / 2 + m / 2), colour, 3)
        draw.line((w / 2 - m / 2, h / 2 + m / 2, w / 2 + m / 2, h / 2 - m / 2), colour, 3)
    return canvas


def to_jpeg(image: Image.Image, quality: int = 85) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality)
    return out.getvalue()


def long_side(data: bytes) -> int | None:
    """The longer side of an image in pixels (read from its header), or None."""
    try:
        with Image.open(io.BytesIO(data)) as im:
            return max(im.size)
    except (OSError, ValueError, Image.DecompressionBombError):
        return None


def _fits(data: bytes, size: tuple[int, int]) -> bool:
    """The bytes are an RGB JPEG of exactly this size (read from its header, not decoded)."""
    try:
        with Image.open(io.BytesIO(data)) as im:
            return im.format == "JPEG" and im.mode == "RGB" and im.size == size
    except (OSError, ValueError, Image.DecompressionBombError):
        return False


def letterboxed_jpeg(data: bytes | None, aspect: float, long_side: int = 512) -> bytes | None:
    """JPEG bytes of the image in a box of this aspect, or None when it does not decode."""
    if data and _fits(data, box_size(aspect, long_side)):
        # A thumbnail of the box's own shape (every cell of a seeds comparison): sent as it
        # is. Decoding and encoding it again cost each landing cell 4-5 ms of the page's time.
        return data
    image = open_image(data)
    if image is None:
        return None
    return to_jpeg(fit(image, box_size(aspect, long_side)))
