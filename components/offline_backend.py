"""The embedded default backend: a local HTTP server that speaks the provider's image contract.

Why it exists: with no API key the app still runs its real client code path end to end (HTTP,
JSON, status codes, error bodies, image downloads, billing) against this server on 127.0.0.1
instead of the provider. Answers are deterministic and free, so demos, tests and benchmarks
exercise exactly the code that production uses. Stdlib + Pillow only; never imports streamlit.

Standalone: ``python -m components.offline_backend --port 8787 --latency 1.5``.
"""

from __future__ import annotations

import argparse
import colorsys
import contextlib
import hashlib
import io
import json
import math
import random
import socket
import socketserver
import sys
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageFont

from components.flux_model import (
    ASPECT_RATIOS,
    ASPECT_SIZES,
    CONTENT_TYPES,
    MODEL,
    MODEL_RAW,
    MODELS,
    NUM_IMAGES_MAX,
    NUM_IMAGES_MIN,
    OUTPUT_FORMATS,
    PRICE_USD_PER_IMAGE,
    PROMPT_MAX_CHARS,
    RANDOM_SEED_MAX,
    SAFETY_TOLERANCES,
    SEED_MIN,
)

GENERATIONS_PATH = "/v1/images/generations"
BILLING_PATHS = ("/v2/billing", "/v1/billing/balance")
FILES_PREFIX = "/files/"
# Per-request latency override, so each browser session can pick its own without touching the
# shared server.
LATENCY_HEADER = "X-Flux-Studio-Latency"
LATENCY_MAX_S = 30.0
# Generated URLs stay valid for this many images (like a CDN, they are not promised forever).
MAX_FILE_TOKENS = 512
# Rendering is deterministic, so a small cache of encoded bytes absorbs repeated downloads.
RENDER_CACHE_SIZE = 32
MAX_BODY_BYTES = 1 << 20
FILE_EXTENSIONS = {"jpeg": "jpg", "png": "png"}
LABEL = "OFFLINE PREVIEW · FLUX Ultra Studio"
PROMPT_PREVIEW_CHARS = 80
JPEG_QUALITY = 88
PNG_COMPRESS_LEVEL = 1
RENDER_SCALE = 4  # the scene is painted at 1/4 size, then upscaled: smooth shapes, low cost


# --------------------------------------------------------------------------------------------
# Request validation (mirrors the provider's JSON schemas for both model ids)
# --------------------------------------------------------------------------------------------


class BodyValidationError(ValueError):
    """A request body the provider would refuse; ``issues`` are the zod-style details."""

    def __init__(self, issues: list[str]):
        self.issues = list(issues)
        super().__init__("Body validation error: " + "; ".join(self.issues))


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


def _json_type(value: Any) -> str:
    """The JSON type name of a parsed value, for "Received ..." details."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _shown(value: Any) -> str:
    """A short JSON rendering of a received value (long ones are cut)."""
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."


def _enum_text(options: tuple[Any, ...]) -> str:
    return " | ".join(json.dumps(o) for o in options)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def validate_generation_body(body: Any) -> dict[str, Any]:
    """Check a parsed body like the provider's schema; the normalised fields or the error.

    Unknown keys are allowed (the schemas do not forbid them). The plain model id allows
    ``raw`` only false or absent, the ``-raw`` id only true or absent, exactly as the two schema
    files say. Beyond the schema, ``num_images`` must be whole: there is no half an image.
    """
    if not isinstance(body, dict):
        raise BodyValidationError([f"Expected object, Received {_json_type(body)}"])
    issues: list[str] = []

    model = body.get("model")
    if "model" not in body:
        issues.append(f"model: Expected {_enum_text(MODELS)}, Received undefined")
    elif model not in MODELS:
        issues.append(f"model: Expected {_enum_text(MODELS)}, Received {_shown(model)}")

    prompt = body.get("prompt")
    if "prompt" not in body:
        issues.append("prompt: Required. Expected string, Received undefined")
    elif not isinstance(prompt, str):
        issues.append(f"prompt: Expected string, Received {_json_type(prompt)}")
    elif len(prompt) > PROMPT_MAX_CHARS:
        issues.append(
            f"prompt: Expected string of at most {PROMPT_MAX_CHARS} characters, "
            f"Received {len(prompt)} characters"
        )

    num_images = body.get("num_images", NUM_IMAGES_MIN)
    if not _is_number(num_images):
        issues.append(f"num_images: Expected number, Received {_json_type(num_images)}")
    elif not NUM_IMAGES_MIN <= num_images <= NUM_IMAGES_MAX or num_images != int(num_images):
        issues.append(
            f"num_images: Expected whole number from {NUM_IMAGES_MIN} to {NUM_IMAGES_MAX}, "
            f"Received {_shown(num_images)}"
        )

    seed = body.get("seed")
    if "seed" in body:
        whole = _is_number(seed) and math.isfinite(seed) and seed == int(seed)
        if not whole:
            shown = _json_type(seed) if not _is_number(seed) else _shown(seed)
            issues.append(f"seed: Expected integer, Received {shown}")
        elif seed < SEED_MIN:
            issues.append(f"seed: Expected integer >= {SEED_MIN}, Received {_shown(seed)}")

    tolerance = body.get("safety_tolerance", "2")
    if tolerance not in SAFETY_TOLERANCES or not isinstance(tolerance, str):
        issues.append(
            f"safety_tolerance: Expected {_enum_text(SAFETY_TOLERANCES)}, "
            f"Received {_shown(tolerance)}"
        )

    output_format = body.get("output_format", OUTPUT_FORMATS[0])
    if output_format not in OUTPUT_FORMATS or not isinstance(output_format, str):
        issues.append(
            f"output_format: Expected {_enum_text(OUTPUT_FORMATS)}, "
            f"Received {_shown(output_format)}"
        )

    checker = body.get("enable_safety_checker", True)
    if not isinstance(checker, bool):
        issues.append(f"enable_safety_checker: Expected boolean, Received {_json_type(checker)}")

    aspect_ratio = body.get("aspect_ratio", "16:9")
    if aspect_ratio not in ASPECT_RATIOS or not isinstance(aspect_ratio, str):
        issues.append(
            f"aspect_ratio: Expected {_enum_text(ASPECT_RATIOS)}, Received {_shown(aspect_ratio)}"
        )

    raw = body.get("raw")
    if "raw" in body:
        if not isinstance(raw, bool):
            issues.append(f"raw: Expected boolean, Received {_json_type(raw)}")
        elif model == MODEL and raw:
            issues.append(
                f"raw: Expected false for model {json.dumps(MODEL)} (raw mode is model "
                f"{json.dumps(MODEL_RAW)}), Received true"
            )
        elif model == MODEL_RAW and not raw:
            issues.append(f"raw: Expected true for model {json.dumps(MODEL_RAW)}, Received false")

    if issues:
        raise BodyValidationError(issues)
    return {
        "model": model,
        "prompt": prompt,
        "num_images": int(num_images),
        "seed": int(seed) if seed is not None else None,
        "safety_tolerance": tolerance,
        "output_format": output_format,
        "enable_safety_checker": checker,
        "aspect_ratio": aspect_ratio,
        "raw": model == MODEL_RAW,
    }


# --------------------------------------------------------------------------------------------
# Image rendering (deterministic, fast, clearly labelled as an offline preview)
# --------------------------------------------------------------------------------------------

_font_lock = threading.Lock()


# Wide-coverage system fonts first (accents, dashes, Greek, Cyrillic), then Pillow's own.
_FONT_FILES = {False: ("DejaVuSans.ttf",), True: ("DejaVuSans-Bold.ttf",)}


@lru_cache(maxsize=32)
def _font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """A scalable font at ``size`` px: DejaVu Sans if installed, else Pillow's built-in one."""
    size = max(size, 8)
    for name in _FONT_FILES[bold]:
        try:
            return ImageFont.truetype(name, size)
        except OSError:
            continue
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError, ImportError):  # pragma: no cover - old Pillow / no FreeType
        return ImageFont.load_default()


def _is_bold(font: Any) -> bool:
    getname = getattr(font, "getname", None)
    return bool(getname) and "bold" in " ".join(getname()).lower()


def _rng_for(spec: ImageSpec) -> random.Random:
    """A generator seeded by a hash of what decides the picture (not by the aspect ratio)."""
    key = f"{spec.prompt}\x00{spec.seed}\x00{spec.index}\x00{int(spec.raw)}".encode()
    return random.Random(int.from_bytes(hashlib.sha256(key).digest()[:16], "big"))


def _hsv(h: float, s: float, v: float) -> tuple[int, int, int]:
    r, g, b = colorsys.hsv_to_rgb(h % 1.0, min(max(s, 0.0), 1.0), min(max(v, 0.0), 1.0))
    return int(r * 255), int(g * 255), int(b * 255)


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
    haze = canvas.getpixel((w // 2, int(horizon)))
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
    if sum(canvas.getpixel((small[0] // 2, 0))) < 200 or rng.random() < 0.2:
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


def _fit_lines(
    draw: ImageDraw.ImageDraw, text: str, font: Any, max_width: float, max_lines: int
) -> list[str]:
    """Greedy word wrap by pixel width; the last line gets an ellipsis if text is left over."""
    words = text.split()
    lines: list[str] = []
    while words and len(lines) < max_lines:
        line = words.pop(0)
        while words and draw.textlength(f"{line} {words[0]}", font=font) <= max_width:
            line = f"{line} {words.pop(0)}"
        lines.append(line)
    if words and lines:
        lines[-1] = lines[-1] + "…"
    for i, line in enumerate(lines):  # a single word wider than the line: cut it
        while draw.textlength(line, font=font) > max_width and len(line) > 2:
            line = line[:-2] + "…"
        lines[i] = line
    return lines or [""]


def _prompt_preview(prompt: str) -> str:
    text = " ".join(prompt.split())
    if not text:
        return "(empty prompt)"
    if len(text) > PROMPT_PREVIEW_CHARS:
        text = text[: PROMPT_PREVIEW_CHARS - 1].rstrip() + "…"
    return f"“{text}”"


def _fitting_font(draw: ImageDraw.ImageDraw, text: str, size: int, width: float, bold: bool) -> Any:
    """The font at ``size`` px, shrunk until ``text`` fits ``width`` (narrow portrait images)."""
    font = _font(size, bold)
    while size > 12 and draw.textlength(text, font=font) > width:
        size = int(size * 0.92)
        font = _font(size, bold)
    return font


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
    with _font_lock:  # FreeType faces are shared between handler threads
        draw = ImageDraw.Draw(image)
        label_font = _fitting_font(draw, LABEL, int(120 * scale), text_w - bar_w * 3, True)
        prompt_font, meta_font = _font(int(84 * scale)), _font(int(60 * scale))
        prompt_lines = _fit_lines(draw, _prompt_preview(spec.prompt), prompt_font, text_w, 2)
        meta_line = _fit_lines(draw, meta, meta_font, text_w, 1)[0]
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
        stroke = 0 if _is_bold(label_font) else max(1, int(1.5 * scale))  # faux bold
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


# --------------------------------------------------------------------------------------------
# HTTP server
# --------------------------------------------------------------------------------------------


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class _Server(ThreadingHTTPServer):
    """Threaded server that remembers open connections so ``stop`` can close keep-alives."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], backend: OfflineBackend):
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.backend = backend
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind calls socket.getfqdn, which can stall on a bad resolver.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = str(self.server_address[0]), self.server_address[1]

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        with self._connections_lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Quiet: a client hanging up is normal; anything else is one line on stderr."""
        exc = sys.exc_info()[1]
        if isinstance(exc, ConnectionError | TimeoutError):
            return
        print(f"offline backend: {type(exc).__name__}: {exc}", file=sys.stderr)


class _Handler(BaseHTTPRequestHandler):
    """One request: routes to the backend and always answers with an ``x-request-id``."""

    protocol_version = "HTTP/1.1"
    server_version = "FluxStudioOffline/1.0"
    timeout = 60  # idle keep-alive connections are closed after this
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: the app's own log records what matters."""

    # -- plumbing --------------------------------------------------------------------------

    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str,
        request_id: str,
        extra: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("x-request-id", request_id)
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _send_json(self, status: int, payload: dict[str, Any], request_id: str) -> None:
        body = json.dumps(payload, ensure_ascii=False).encode()
        self._send(status, body, "application/json; charset=utf-8", request_id)

    def _send_error(self, status: int, message: str, request_id: str) -> None:
        """The provider's error body: message, path, requestId, statusCode, timestamp."""
        payload = {
            "message": message,
            "path": urlsplit(getattr(self, "path", "") or "").path,
            "requestId": request_id,
            "statusCode": status,
            "timestamp": _now_iso(),
        }
        self._send_json(status, payload, request_id)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Errors raised by the stdlib parser (bad request line, unknown method) in our shape."""
        self.close_connection = True
        text = message or self.responses.get(code, ("Error",))[0]
        self._send_error(code, text, str(uuid.uuid4()))

    def _read_body(self) -> bytes | None:
        """The request body, or None (connection then closes) when it cannot be read safely."""
        if self.headers.get("Transfer-Encoding", "").lower() not in ("", "identity"):
            self.close_connection = True
            return None
        try:
            length = int(self.headers.get("Content-Length", "0") or 0)
        except ValueError:
            self.close_connection = True
            return None
        if length < 0 or length > MAX_BODY_BYTES:
            self.close_connection = True
            return None
        return self.rfile.read(length) if length else b""

    def _route(self, method: str) -> None:
        request_id = str(uuid.uuid4())
        path = urlsplit(self.path).path
        body = self._read_body()  # always drained, or the next keep-alive request breaks
        try:
            backend = self.server.backend
            if method == "POST" and path == GENERATIONS_PATH:
                if body is None:
                    self._send_error(
                        400,
                        "Body validation error: Expected JSON body of at most 1 MiB "
                        "with a Content-Length, Received something else",
                        request_id,
                    )
                    return
                backend._handle_generation(self, body, request_id)
            elif method in ("GET", "HEAD") and path in BILLING_PATHS:
                self._send_json(200, backend.balance_payload(), request_id)
            elif method in ("GET", "HEAD") and path.startswith(FILES_PREFIX):
                backend._handle_file(self, path[len(FILES_PREFIX) :], request_id)
            else:
                self._send_error(404, f"Cannot {method} {path}", request_id)
        except (ConnectionError, TimeoutError):
            raise
        except Exception as exc:  # a bug here must still answer in the contract's shape
            self.close_connection = True
            self._send_error(500, f"Offline backend error: {type(exc).__name__}", request_id)

    def do_GET(self) -> None:
        self._route("GET")

    def do_HEAD(self) -> None:
        self._route("HEAD")

    def do_POST(self) -> None:
        self._route("POST")

    def do_PUT(self) -> None:
        self._route("PUT")

    def do_PATCH(self) -> None:
        self._route("PATCH")

    def do_DELETE(self) -> None:
        self._route("DELETE")

    def do_OPTIONS(self) -> None:
        self._route("OPTIONS")


def parse_latency(value: str | None, default: float) -> float:
    """Seconds from the latency header, clamped to 0..30; ``default`` when absent or bad."""
    if value is None or not value.strip():
        return default
    try:
        seconds = float(value)
    except ValueError:
        return default
    if not math.isfinite(seconds):
        return default
    return min(max(seconds, 0.0), LATENCY_MAX_S)


class OfflineBackend:
    """The local stand-in for the provider: same paths, bodies, errors; instant and free.

    One instance is shared by every browser session, so nothing here is per-user state except
    the demo balance; per-session latency comes with each request as a header.
    """

    def __init__(
        self,
        latency: float = 1.5,
        host: str = "127.0.0.1",
        port: int = 0,
        balance_usd: float = 25.0,
    ):
        self.latency = float(latency)
        self.host = host
        self.port = port
        self._balance = float(balance_usd)
        self._lock = threading.Lock()
        self._files: OrderedDict[str, ImageSpec] = OrderedDict()
        self._cache: OrderedDict[ImageSpec, bytes] = OrderedDict()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._base_url: str | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> str:
        """Bind (port 0 picks a free one), serve in a daemon thread; the base URL."""
        if self._server is not None and self._base_url is not None:
            return self._base_url
        self._stopping.clear()
        self._server = _Server((self.host, self.port), self)
        self.port = self._server.server_address[1]
        shown = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}.get(self.host, self.host)
        shown = f"[{shown}]" if ":" in shown else shown
        self._base_url = f"http://{shown}:{self.port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.2},
            name=f"offline-backend-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self._base_url

    def stop(self) -> None:
        """Stop serving, close open connections and wake any sleeping generation."""
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        server.close_connections()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._thread = None
        self._base_url = None

    @property
    def base_url(self) -> str:
        if self._base_url is None:
            raise RuntimeError("OfflineBackend is not running; call start() first")
        return self._base_url

    @property
    def running(self) -> bool:
        return self._server is not None

    def __enter__(self) -> OfflineBackend:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- state -----------------------------------------------------------------------------

    @property
    def balance_usd(self) -> float:
        with self._lock:
            return self._balance

    def balance_payload(self) -> dict[str, Any]:
        return {"current_balance": round(self.balance_usd, 2), "currency": "USD"}

    def _charge(self, images: int) -> None:
        with self._lock:
            self._balance = max(0.0, round(self._balance - images * PRICE_USD_PER_IMAGE, 6))

    def _remember(self, spec: ImageSpec) -> str:
        token = uuid.uuid4().hex
        with self._lock:
            self._files[token] = spec
            while len(self._files) > MAX_FILE_TOKENS:
                self._files.popitem(last=False)
        return token

    def image_bytes(self, spec: ImageSpec) -> bytes:
        """Rendered bytes through a small LRU cache (rendering happens outside the lock)."""
        with self._lock:
            cached = self._cache.get(spec)
            if cached is not None:
                self._cache.move_to_end(spec)
                return cached
        data = render_image(spec)
        with self._lock:
            self._cache[spec] = data
            self._cache.move_to_end(spec)
            while len(self._cache) > RENDER_CACHE_SIZE:
                self._cache.popitem(last=False)
        return data

    # -- endpoints -------------------------------------------------------------------------

    def _handle_generation(self, handler: _Handler, raw_body: bytes, request_id: str) -> None:
        try:
            body = json.loads(raw_body.decode("utf-8"), parse_constant=_reject_constant)
        except (UnicodeDecodeError, ValueError) as exc:
            handler._send_error(
                400,
                f"Body validation error: Expected JSON object, Received invalid JSON ({exc})",
                request_id,
            )
            return
        try:
            params = validate_generation_body(body)
        except BodyValidationError as exc:
            handler._send_error(400, str(exc), request_id)
            return

        latency = parse_latency(handler.headers.get(LATENCY_HEADER), self.latency)
        started = time.monotonic()
        seed = params["seed"] or random.randint(SEED_MIN, RANDOM_SEED_MAX)
        specs = [
            ImageSpec(
                prompt=params["prompt"],
                seed=seed,
                aspect_ratio=params["aspect_ratio"],
                output_format=params["output_format"],
                index=index,
                raw=params["raw"],
            )
            for index in range(params["num_images"])
        ]
        # Like the real service, the images are made while the caller waits: render into the
        # cache first, then sleep only what is left of the simulated latency. Event.wait, not
        # time.sleep: concurrent requests sleep in their own threads, and stop() wakes them.
        for spec in specs:
            self.image_bytes(spec)
        self._stopping.wait(max(0.0, latency - (time.monotonic() - started)))
        host = handler.headers.get("Host")
        base = f"http://{host}" if host else self.base_url
        ext = FILE_EXTENSIONS[params["output_format"]]
        images = []
        for spec in specs:
            width, height = spec.size
            token = self._remember(spec)
            images.append(
                {
                    "url": f"{base}{FILES_PREFIX}{token}.{ext}",
                    "width": width,
                    "height": height,
                    "content_type": spec.content_type,
                }
            )
        self._charge(len(images))
        payload = {
            "images": images,
            "timings": {"inference": round(time.monotonic() - started, 3)},
            "seed": seed,
            "has_nsfw_concepts": [False] * len(images),
            "prompt": params["prompt"],
        }
        handler._send_json(200, payload, request_id)

    def _handle_file(self, handler: _Handler, name: str, request_id: str) -> None:
        token, _, ext = name.partition(".")
        with self._lock:
            spec = self._files.get(token)
        if spec is None or FILE_EXTENSIONS[spec.output_format] != ext:
            handler._send_error(404, f"File not found: {name}", request_id)
            return
        data = self.image_bytes(spec)
        handler._send(
            200,
            data,
            spec.content_type,
            request_id,
            {"Cache-Control": "public, max-age=86400, immutable"},
        )


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def start_offline_backend(latency: float = 1.5) -> OfflineBackend:
    """Start a backend on a free 127.0.0.1 port and return it (already serving)."""
    backend = OfflineBackend(latency=latency)
    backend.start()
    return backend


def main(argv: list[str] | None = None) -> int:
    """Serve until Ctrl+C, so any client (e.g. the provider's example) can use the base URL."""
    parser = argparse.ArgumentParser(
        prog="python -m components.offline_backend",
        description="Offline stand-in for the AI/ML API FLUX 1.1 [pro] Ultra endpoint.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8787)
    parser.add_argument("--latency", type=float, default=1.5, help="seconds per generation")
    parser.add_argument("--balance", type=float, default=25.0, help="demo balance in USD")
    args = parser.parse_args(argv)
    backend = OfflineBackend(
        latency=args.latency, host=args.host, port=args.port, balance_usd=args.balance
    )
    url = backend.start()
    print(f"FLUX Ultra Studio offline backend on {url} (latency {backend.latency:g} s)")
    print(f"  POST {url}{GENERATIONS_PATH}   GET {url}{BILLING_PATHS[0]}   Ctrl+C to stop")
    sys.stdout.flush()
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        backend.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
