"""The offline backend's pictures: deterministic, fast, clearly labelled as previews.

Each image is a generated landscape decided by the prompt, seed and index, with the label
"OFFLINE PREVIEW", the seed and the start of the prompt drawn on it, so no audience mistakes it
for a FLUX generation.
"""

from __future__ import annotations

import colorsys
import hashlib
import io
import math
import random
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageEnhance, ImageFilter

from components.api.contract import ASPECT_SIZES, CONTENT_TYPES
from components.images.text import FONT_LOCK, fitting_font, font, is_bold, wrap_lines

LABEL = "OFFLINE PREVIEW · FLUX Ultra Studio"
PROMPT_PREVIEW_CHARS = 80
JPEG_QUALITY = 88
PNG_COMPRESS_LEVEL = 1
RENDER_SCALE = 4  # the scene is painted at 1/4 size, then upscaled: smooth shapes, low cost


@dataclass(frozen=True)
class ImageSpec:
    """Everything that decides one image's pixels; the key of the render cache."""

    prompt: str
    seed: int
    aspect_ratio: str
    output_format: str
    index: int = 0
    raw: bool = False

    @property
    def size(self) -> tuple[int, int]:
        return ASPECT_SIZES[self.aspect_ratio]

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES[self.output_format]


def _rng_for(spec: ImageSpec) -> random.Random:
    """A generator seeded by a hash of what decides the picture (not by the aspect ratio)."""
    key = f"{spec.prompt}\x00{spec.seed}\x00{spec.index}\x00{int(spec.raw)}".encode()
    return random.Random(int.from_bytes(hashlib.sha256(key).digest()[:16], "big"))


def _hsv(h: float, s: float, v: float) -> tuple[int, int, int]:
    r, g, b = colorsys.hsv_to_rgb(h % 1.0, min(max(s, 0.0), 1.0), min(max(v, 0.0), 1.0))
    return int(r * 255), int(g * 255), int(b * 255)


def _rgb_at(image: Image.Image, xy: tuple[int, int]) -> tuple[int, int, int]:
    pixel = image.getpixel(xy)
    if not isinstance(pixel, tuple) or len(pixel) < 3:
        raise TypeError(f"expected an RGB image, got mode {image.mode}")
    return pixel[0], pixel[1], pixel[2]


def _mix(a: tuple[int, int, int], b: tuple[int, int, int], t: float) -> tuple[int, int, int]:
    return (
        int(a[0] + (b[0] - a[0]) * t),
        int(a[1] + (b[1] - a[1]) * t),
        int(a[2] + (b[2] - a[2]) * t),
    )


_HUE_ANCHORS = (0.0, 0.04, 0.08, 0.13, 0.33, 0.47, 0.53, 0.58, 0.63, 0.7, 0.76, 0.83, 0.9, 0.95)


def _palette(rng: random.Random) -> list[float]:
    """Hues for one scene: a random base hue and a colour-harmony scheme around it."""
    # Anchors skew towards sunset, ocean and dusk hues; plain random hues give too much olive.
    base = rng.choice(_HUE_ANCHORS) + rng.uniform(-0.035, 0.035)
    scheme = rng.choice(("analogous", "complementary", "triadic", "split"))
    offsets = {
        "analogous": (0.0, 0.07, -0.07, 0.13),
        "complementary": (0.0, 0.5, 0.05, 0.45),
        "triadic": (0.0, 1 / 3, 2 / 3, 0.05),
        "split": (0.0, 0.42, 0.58, -0.05),
    }[scheme]
    return [(base + o) % 1.0 for o in offsets]


def _sky(rng: random.Random, hues: list[float], size: tuple[int, int]) -> Image.Image:
    """A smooth multi-colour gradient: a tiny colour grid upscaled bicubically."""
    night = rng.random() < 0.35
    top_v = rng.uniform(0.12, 0.28) if night else rng.uniform(0.35, 0.6)
    rows = [
        (hues[2], rng.uniform(0.55, 0.85), top_v),
        (hues[0], rng.uniform(0.5, 0.8), top_v + 0.22),
        (hues[1], rng.uniform(0.35, 0.65), min(top_v + 0.5, 0.97)),
        (hues[3], rng.uniform(0.25, 0.5), rng.uniform(0.88, 1.0)),
    ]
    grid = Image.new("RGB", (3, len(rows)))
    for y, (h, s, v) in enumerate(rows):
        for x in range(3):
            shift = (x - 1) * rng.uniform(-0.05, 0.05)
            grid.putpixel((x, y), _hsv(h + shift, s, v * rng.uniform(0.9, 1.05)))
    return grid.resize(size, Image.Resampling.BICUBIC)


def _glow(
    canvas: Image.Image,
    centre: tuple[float, float],
    radius: tuple[float, float] | float,
    colour: tuple[int, int, int],
    strength: int,
    blur: float,
) -> None:
    """A soft glowing ellipse blended into ``canvas`` in place.

    Only the bounding box is touched, and wide blurs run on a 4x smaller mask that is then
    scaled up: a blurred mask has no detail to lose, and this keeps a glow near a millisecond.
    """
    rx, ry = radius if isinstance(radius, tuple) else (radius, radius)
    cx, cy = centre
    w, h = canvas.size
    pad_x, pad_y = rx + blur * 3, ry + blur * 3
    x0, y0 = max(0, int(cx - pad_x)), max(0, int(cy - pad_y))
    x1, y1 = min(w, int(cx + pad_x) + 1), min(h, int(cy + pad_y) + 1)
    if x1 - x0 < 2 or y1 - y0 < 2:
        return
    f = 4 if blur >= 8 else 1
    mask = Image.new("L", (max(1, (x1 - x0) // f), max(1, (y1 - y0) // f)), 0)
    box = ((cx - rx - x0) / f, (cy - ry - y0) / f, (cx + rx - x0) / f, (cy + ry - y0) / f)
    ImageDraw.Draw(mask).ellipse(box, strength)
    if blur > 0:
        mask = mask.filter(ImageFilter.GaussianBlur(blur / f))
    if mask.size != (x1 - x0, y1 - y0):
        mask = mask.resize((x1 - x0, y1 - y0), Image.Resampling.BILINEAR)
    canvas.paste(colour, (x0, y0, x1, y1), mask)


def _bokeh(rng: random.Random, canvas: Image.Image, hues: list[float], count: int) -> None:
    """Out-of-focus light discs in two depth layers (far: small and soft, near: big)."""
    w, h = canvas.size
    for depth, blur in ((0, 2.2), (1, 1.0)):
        layer = canvas.copy()  # discs over the canvas itself, so blurred edges show no rim
        mask = Image.new("L", canvas.size, 0)
        draw_c, draw_m = ImageDraw.Draw(layer), ImageDraw.Draw(mask)
        for _ in range(count // 2):
            r = min(w, h) * (rng.uniform(0.01, 0.045) if depth == 0 else rng.uniform(0.035, 0.09))
            x, y = rng.uniform(0, w), rng.uniform(0, h * 0.8)
            box = (x - r, y - r, x + r, y + r)
            colour = _hsv(rng.choice(hues), rng.uniform(0.2, 0.55), 1.0)
            draw_c.ellipse(box, colour)
            draw_m.ellipse(box, int(rng.uniform(35, 110)))
            if rng.random() < 0.5:  # a brighter rim, like a real lens's bokeh
                draw_m.ellipse(box, outline=int(rng.uniform(120, 170)), width=1)
        canvas.paste(layer, (0, 0), mask.filter(ImageFilter.GaussianBlur(blur)))


def _ridge(
    rng: random.Random, width: int, base_y: float, amplitude: float, sharp: bool
) -> list[tuple[float, float]]:
    """The top edge of one hill or wave layer: a sum of random sines."""
    waves = [
        (rng.uniform(0.5, 1.6), rng.uniform(0, math.tau), 1.0),
        (rng.uniform(1.8, 3.5), rng.uniform(0, math.tau), 0.45),
        (rng.uniform(4.0, 8.0), rng.uniform(0, math.tau), 0.16),
    ]
    points = []
    steps = 64
    for i in range(steps + 1):
        t = i / steps
        y = 0.0
        for freq, phase, weight in waves:
            s = math.sin(t * math.tau * freq + phase)
            y += weight * ((1 - abs(s)) * 2 - 1 if sharp else s)
        points.append((t * width, base_y - y * amplitude))
    return points


def _landscape(rng: random.Random, canvas: Image.Image, hues: list[float], sharp: bool) -> None:
    """Layered hills (or waves): hazy and pale far away, deep and saturated near."""
    w, h = canvas.size
    layers = rng.randint(3, 5)
    horizon = h * rng.uniform(0.52, 0.68)
    haze = _rgb_at(canvas, (w // 2, int(horizon)))
    _glow(
        canvas,
        (w / 2, horizon),
        (w * 0.75, h * 0.07),
        _mix(haze, (255, 255, 255), 0.5),
        70,
        h * 0.05,
    )
    near_hue = hues[rng.randrange(len(hues))]
    near = _hsv(near_hue, rng.uniform(0.55, 0.85), rng.uniform(0.1, 0.2))
    far = _mix(haze, _hsv(hues[rng.randrange(len(hues))], 0.6, 0.75), 0.45)
    ramp = Image.linear_gradient("L")
    for i in range(layers):
        t = i / max(layers - 1, 1)
        base_y = horizon + (h - horizon) * (i / layers) * 0.85
        amp = h * rng.uniform(0.035, 0.1) * (1.25 - 0.5 * t)
        top_colour = _mix(far, near, t**0.8)
        bottom_colour = _mix(top_colour, near, 0.55)
        ridge = _ridge(rng, w, base_y, amp, sharp and i < layers - 1)
        ys = [y for _, y in ridge]
        y0, y1 = max(0, int(min(ys)) - 1), min(h, int(max(ys)) + 2)
        if y0 >= h:
            continue
        size = (w, h - y0)
        fill = Image.new("RGB", size, top_colour)
        fill.paste(bottom_colour, (0, 0, *size), ramp.resize(size, Image.Resampling.NEAREST))
        # Below the ridge all is solid; the ridge strip is drawn 4x supersampled and reduced,
        # so the edge stays smooth after the 4x upscale instead of showing stair steps.
        mask = Image.new("L", size, 255)
        ss = 4
        strip = Image.new("L", (w * ss, max(1, y1 - y0) * ss), 0)
        bottom = (y1 - y0 + 1) * ss
        outline = [(x * ss, (y - y0) * ss) for x, y in ridge] + [(w * ss, bottom), (0, bottom)]
        ImageDraw.Draw(strip).polygon(outline, 255)
        mask.paste(strip.reduce(ss), (0, 0))
        canvas.paste(fill, (0, y0), mask)


def _stars(rng: random.Random, canvas: Image.Image) -> None:
    w, h = canvas.size
    draw = ImageDraw.Draw(canvas)
    for _ in range(rng.randint(40, 90)):
        x, y = rng.uniform(0, w), rng.uniform(0, h * 0.45)
        v = int(rng.uniform(150, 255))
        draw.point((x, y), (v, v, v))


def _vignette(canvas: Image.Image, strength: float) -> Image.Image:
    """Darken the corners a little so the eye goes to the middle."""
    ring = Image.radial_gradient("L").resize(canvas.size, Image.Resampling.BILINEAR)
    ring = ring.point(lambda v: int(min(255, max(0, (v - 110) * 2)) * strength))
    return Image.composite(Image.new("RGB", canvas.size, (0, 0, 0)), canvas, ring)


def _scene(spec: ImageSpec) -> Image.Image:
    """The picture without text at 1/RENDER_SCALE size, decided by prompt, seed and index."""
    rng = _rng_for(spec)
    width, height = spec.size
    small = (width // RENDER_SCALE, height // RENDER_SCALE)
    hues = _palette(rng)
    canvas = _sky(rng, hues, small)
    composition = rng.choice(("hills", "waves", "orbs"))
    if sum(_rgb_at(canvas, (small[0] // 2, 0))) < 200 or rng.random() < 0.2:
        _stars(rng, canvas)
    sun = (rng.uniform(0.2, 0.8) * small[0], rng.uniform(0.22, 0.5) * small[1])
    sun_r = min(small) * rng.uniform(0.07, 0.14)
    sun_colour = _hsv(hues[rng.randrange(4)], rng.uniform(0.1, 0.35), 1.0)
    _glow(canvas, sun, sun_r * 3.5, sun_colour, 80, sun_r * 1.6)
    _glow(canvas, sun, sun_r, sun_colour, 240, sun_r * 0.1)
    if composition == "orbs":
        for _ in range(rng.randint(3, 6)):
            centre = (rng.uniform(0, small[0]), rng.uniform(0, small[1]))
            radius = min(small) * rng.uniform(0.12, 0.35)
            colour = _hsv(rng.choice(hues), rng.uniform(0.4, 0.8), rng.uniform(0.7, 1.0))
            _glow(canvas, centre, radius, colour, int(rng.uniform(90, 170)), radius * 0.4)
        _bokeh(rng, canvas, hues, rng.randint(24, 40))
    else:
        _bokeh(rng, canvas, hues, rng.randint(12, 24))
        _landscape(rng, canvas, hues, sharp=composition == "hills")
    canvas = _vignette(canvas, rng.uniform(0.35, 0.6))
    if spec.raw:  # "less processed, more natural": calmer colour and contrast
        canvas = ImageEnhance.Color(canvas).enhance(0.72)
        canvas = ImageEnhance.Contrast(canvas).enhance(0.9)
    canvas.info["accent"] = _hsv(hues[1], 0.55, 1.0)
    return canvas


def _prompt_preview(prompt: str) -> str:
    text = " ".join(prompt.split())
    if not text:
        return "(empty prompt)"
    if len(text) > PROMPT_PREVIEW_CHARS:
        text = text[: PROMPT_PREVIEW_CHARS - 1].rstrip() + "…"
    return f"“{text}”"


def _caption(image: Image.Image, spec: ImageSpec, accent: tuple[int, int, int]) -> None:
    """Label, seed and prompt start over a translucent dark band, at full resolution."""
    width, height = image.size
    scale = min(width, height) / 1536
    margin = int(96 * scale)
    bar_w = max(8, int(16 * scale))
    text_w = width - 2 * margin
    meta = (
        f"seed {spec.seed}  ·  image {spec.index + 1}  ·  {spec.aspect_ratio}  ·  "
        f"{width}x{height}{'  ·  raw' if spec.raw else ''}  ·  not a real FLUX generation"
    )
    with FONT_LOCK:
        draw = ImageDraw.Draw(image)
        label_font = fitting_font(draw, LABEL, int(120 * scale), text_w - bar_w * 3, True)
        prompt_font, meta_font = font(int(84 * scale)), font(int(60 * scale))
        prompt_lines = wrap_lines(draw, _prompt_preview(spec.prompt), prompt_font, text_w, 2)
        meta_line = wrap_lines(draw, meta, meta_font, text_w, 1)[0]
        line_gap = int(20 * scale)
        heights = [int(120 * scale * 1.2)] + [int(84 * scale * 1.25)] * len(prompt_lines)
        heights.append(int(60 * scale * 1.3))
        band_h = margin + sum(heights) + line_gap * len(heights) + int(margin * 0.6)
        fade = int(band_h * 0.45)
        top = height - band_h - fade
        # Black pasted through a ramp mask: a band 70% opaque at the bottom, fading out on top.
        ramp = [int(min(1.0, i / max(fade, 1)) ** 1.5 * 178) for i in range(band_h + fade)]
        column = Image.new("L", (1, band_h + fade))
        column.putdata(ramp)
        mask = column.resize((width, band_h + fade), Image.Resampling.NEAREST)
        image.paste((0, 0, 0), (0, top, width, height), mask)

        y = height - band_h + margin // 2
        draw.rectangle((margin, y + 4, margin + bar_w, y + heights[0] - 8), fill=accent)
        stroke = 0 if is_bold(label_font) else max(1, int(1.5 * scale))  # faux bold
        draw.text(
            (margin + bar_w * 3, y),
            LABEL,
            font=label_font,
            fill=(255, 255, 255),
            stroke_width=stroke,
            stroke_fill=(255, 255, 255),
        )
        y += heights[0] + line_gap
        for line in prompt_lines:
            draw.text((margin, y), line, font=prompt_font, fill=(238, 238, 238))
            y += heights[1] + line_gap
        draw.text((margin, y), meta_line, font=meta_font, fill=accent)


def render_preview(spec: ImageSpec) -> Image.Image:
    """The full-size labelled preview image for ``spec`` (deterministic)."""
    scene = _scene(spec)
    accent = scene.info.get("accent", (255, 200, 120))
    image = scene.resize(spec.size, Image.Resampling.BICUBIC)
    _caption(image, spec, accent)
    return image


def render_image(spec: ImageSpec) -> bytes:
    """Encoded bytes (JPEG quality 88 or fast PNG) of the preview; same spec, same bytes."""
    image = render_preview(spec)
    out = io.BytesIO()
    if spec.output_format == "png":
        image.save(out, format="PNG", compress_level=PNG_COMPRESS_LEVEL)
    else:
        image.save(out, format="JPEG", quality=JPEG_QUALITY)
    return out.getvalue()
