"""A synthetic session log: thousands of plausible rows for tests, the benchmark and demos.

Real generations are slow and (online) cost money, so the Session log's behaviour at 10,000 rows
is checked against rows made here instead. They mix everything the page filters and charts on:
statuses and error types, aspect ratios, raw mode, both backends, several browser sessions,
comparison groups, ratings, notes and timings spread over several days. A few rows can carry real
image files so thumbnails, the ZIP export and deletion have something to work on.
"""

from __future__ import annotations

import io
import json
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from PIL import Image

from components.api.contract import (
    ASPECT_RATIOS,
    ASPECT_SIZES,
    CREDITS_PER_USD,
    MODEL,
    MODEL_RAW,
    PRICE_USD_PER_IMAGE,
)
from components.images.store import ImageStore, image_id
from components.log.schema import BackendName, RowStatus
from components.log.store import LogStore

SUBJECTS = (
    "a lighthouse in a storm",
    "a fox in a snowy forest",
    "a neon city street at night",
    "a bowl of ramen, studio lighting",
    "an astronaut riding a horse",
    "a watercolor map of an island",
    "a robot reading in a library",
    "a mountain lake at sunrise",
)
STYLES = ("oil painting", "35mm photo", "isometric render", "pencil sketch", "cinematic still")
ERROR_TYPES = ("rate_limit", "timeout", "server", "bad_request", "permission", "validation")
SESSIONS = tuple(f"sample-session-{n}" for n in range(5))
CREDITS_PER_IMAGE = (
    PRICE_USD_PER_IMAGE * CREDITS_PER_USD
)  # the list price, as the provider reports it


@dataclass(frozen=True)
class SampleLog:
    """What fill() wrote, so tests can aim at known rows."""

    ids: list[str]
    with_images: list[str]
    end: datetime


def _row(rng: random.Random, n: int, moment: datetime) -> dict[str, Any]:
    ratio = rng.choice(ASPECT_RATIOS)
    raw = rng.random() < 0.3
    backend = BackendName.AIMLAPI.value if rng.random() < 0.4 else BackendName.OFFLINE.value
    num = rng.choice((1, 1, 1, 2, 4))
    failed = rng.random() < 0.1
    # Larger, raw and multi-image requests take longer: the charts should show that shape.
    request_s = rng.lognormvariate(1.6, 0.35) * (1.25 if raw else 1.0) * (1 + 0.15 * (num - 1))
    seed_requested = rng.randint(1, 2**32 - 1) if rng.random() < 0.3 else None
    row: dict[str, Any] = {
        "id": f"s{n:06d}",
        "created_at": moment.isoformat(),
        "session_id": rng.choice(SESSIONS),
        "backend": backend,
        "model": MODEL_RAW if raw else MODEL,
        "prompt": f"{rng.choice(SUBJECTS)}, {rng.choice(STYLES)} #{n}",
        "seed_requested": seed_requested,
        "aspect_ratio": ratio,
        "raw": raw,
        "safety_tolerance": rng.choice("123456"),
        "output_format": rng.choice(("jpeg", "jpeg", "png")),
        "num_images": num,
        "enable_safety_checker": True,
        "attempts": rng.choice((1, 1, 1, 1, 2, 3)),
        "request_s": round(request_s, 4),
    }
    if failed:
        kind = rng.choice(ERROR_TYPES)
        row.update(
            status=RowStatus.ERROR.value,
            error_type=kind,
            error_message=f"{kind.replace('_', ' ')}: sample failure #{n}",
            http_status={"rate_limit": 429, "server": 502, "bad_request": 400}.get(kind),
            total_s=round(request_s, 4),
        )
        return row
    download_s = rng.uniform(0.1, 0.6)
    width, height = ASPECT_SIZES[ratio]
    credits = CREDITS_PER_IMAGE * num if backend == BackendName.AIMLAPI else None
    row.update(
        status=RowStatus.OK.value,
        seed=seed_requested or rng.randint(1, 2**32 - 1),
        http_status=200,
        request_id=f"req-{n:06d}",
        download_s=round(download_s, 4),
        total_s=round(request_s + download_s, 4),
        width=width,
        height=height,
        nsfw=rng.random() < 0.02,
        credits_used=credits,
        cost_usd=credits / CREDITS_PER_USD if credits is not None else 0.0,
        rating=rng.choice((None, None, None, 3, 4, 5)),
        note="keeper" if rng.random() < 0.05 else None,
    )
    return row


def _small_image(rng: random.Random, ratio: str) -> bytes:
    width, height = ASPECT_SIZES[ratio]
    colour = tuple(rng.randint(30, 220) for _ in range(3))
    buffer = io.BytesIO()
    Image.new("RGB", (width // 32, height // 32), colour).save(buffer, "JPEG", quality=80)
    return buffer.getvalue()


def fill(
    log: LogStore,
    images: ImageStore | None = None,
    *,
    rows: int = 10_000,
    days: int = 7,
    with_images: int = 0,
    groups: int = 50,
    seed: int = 5,
    end: datetime | None = None,
) -> SampleLog:
    """Add `rows` rows in one transaction (through import_rows); the newest `with_images`
    successful rows get real image files. Deterministic for a given seed."""
    rng = random.Random(seed)
    end = end or datetime.now(UTC).replace(microsecond=0)
    span = timedelta(days=days).total_seconds()
    moments = sorted(end - timedelta(seconds=rng.uniform(0, span)) for _ in range(rows))
    records = [_row(rng, n, moment) for n, moment in enumerate(moments)]
    # Comparison groups: runs of 2-4 neighbouring requests sharing a prompt and a group id.
    for g in range(min(groups, rows // 4)):
        start = rng.randrange(0, max(1, rows - 4))
        size = rng.randint(2, 4)
        for k, record in enumerate(records[start : start + size]):
            record.update(group_id=f"g{g:04d}", group_label=f"seed {k + 1}")
            record["prompt"] = records[start]["prompt"]
    imaged: list[str] = []
    if images is not None and with_images:
        for record in reversed(records):
            if len(imaged) >= with_images:
                break
            if record["status"] != RowStatus.OK:
                continue
            record["num_images"] = 1
            stored = images.save(
                image_id(record["id"], 0),
                _small_image(rng, record["aspect_ratio"]),
                {"app": "FLUX Ultra Studio", **record},
                day=datetime.fromisoformat(record["created_at"]).date(),
            )
            record.update(image_paths=[stored.path], thumb_paths=[stored.thumb_path])
            imaged.append(record["id"])
    log.import_rows(json.dumps(records).encode(), "json")
    return SampleLog([r["id"] for r in records], imaged, end)
