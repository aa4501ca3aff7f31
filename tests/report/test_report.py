"""The HTML report (components/report): one item per stored image, embedded as a clean JPEG of
at most 1600 px; capped at 16 images and under 15 MB; every user text escaped; nothing that
loads from outside the file; only generation fields in it (no ids, paths, key or settings)."""

from __future__ import annotations

import base64
import dataclasses
import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from PIL import Image, ImageDraw, ImageFilter

from components.compare.plan import CellLabel
from components.images.store import ImageStore, image_id, read_params
from components.report import build as report_build
from components.report import facts as report_facts
from components.report.build import (
    MAX_IMAGES,
    MAX_SIDE,
    PAGE_MARGIN_MM,
    PRINT_IMAGE_MM,
    Report,
    ReportItem,
    VoteSection,
    build_report,
    report_items,
)
from components.report.pictures import IMAGE_BUDGET, REPORT_BYTES, embed_picture

WIDTH, HEIGHT = 2752, 1536  # the provider's 16:9 size
MOMENT = datetime(2026, 11, 29, 14, 3, tzinfo=UTC)
DATA_URI = re.compile(r"data:image/jpeg;base64,([A-Za-z0-9+/=]+)")
# Internals that must never reach a report: distinctive values, so a substring check is exact.
SECRETS = {
    "session_id": "sess-zq81-internal",
    "request_id": "req-zq82-internal",
    "inference_id": "inf-zq83-internal",
    "error_type": "ZqErrorType",
    "error_message": "zq84 provider said something",
    "made_by": "viewer-zq85cafe",
    "group_id": "group-zq86",
}
KEY = "sk-zq99-this-key-must-never-leave-memory"


def photo(width: int = WIDTH, height: int = HEIGHT, shade: int = 0) -> Image.Image:
    """Photo-like: gradients, shapes and grain (neither flat nor pure noise)."""
    ramp = Image.linear_gradient("L").resize((width, height))
    grain = Image.effect_noise((width, height), 24).filter(ImageFilter.GaussianBlur(1.2))
    im = Image.merge("RGB", (ramp, grain, ramp.transpose(Image.Transpose.FLIP_LEFT_RIGHT)))
    draw = ImageDraw.Draw(im)
    for n in range(10):
        x, y = (n * width) // 10, (n % 4) * height // 4
        draw.ellipse((x, y, x + width // 12, y + height // 5), fill=(40 * (n % 6) + shade, 90, 60))
    return im


def noise(width: int = WIDTH, height: int = HEIGHT) -> Image.Image:
    """The worst case for JPEG: every pixel random in every channel."""
    bands = [Image.effect_noise((width, height), 128) for _ in range(3)]
    return Image.merge("RGB", bands)


def encoded(im: Image.Image, fmt: str = "JPEG", **extra: Any) -> bytes:
    out = io.BytesIO()
    im.save(out, fmt, **extra)
    return out.getvalue()


def row(row_id: str, **over: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "id": row_id,
        "created_at": datetime(2026, 11, 29, 14, 3, 5, tzinfo=UTC),
        "backend": "aimlapi",
        "model": "flux-pro/v1.1-ultra",
        "prompt": f"a red car, {row_id}",
        "seed_requested": None,
        "seed": 42,
        "aspect_ratio": "16:9",
        "raw": False,
        "safety_tolerance": "2",
        "output_format": "jpeg",
        "num_images": 1,
        "enable_safety_checker": True,
        "status": "ok",
        "request_s": 9.5,
        "total_s": 12.34,
        "width": WIDTH,
        "height": HEIGHT,
        "credits_used": 1234.0,
        "cost_usd": 0.06,
        "image_paths": [],
        "thumb_paths": [],
        "rating": None,
        "note": None,
        **SECRETS,
    }
    values.update(over)
    return values


def stored_row(store: ImageStore, row_id: str, pictures: list[bytes], **over: Any) -> dict:
    saved = [
        store.save(image_id(row_id, k), data, {"prompt": f"a red car, {row_id}", "seed": 42})
        for k, data in enumerate(pictures)
    ]
    return row(
        row_id,
        num_images=len(pictures),
        image_paths=[s.path for s in saved],
        thumb_paths=[s.thumb_path for s in saved],
        **over,
    )


def embedded(page: bytes) -> list[bytes]:
    return [base64.b64decode(m) for m in DATA_URI.findall(page.decode("utf-8"))]


def jpeg_markers(data: bytes) -> list[int]:
    """The markers before the image data (SOS)."""
    assert data[:2] == b"\xff\xd8"
    markers, pos = [], 2
    while pos < len(data):
        marker = data[pos + 1]
        markers.append(marker)
        if marker == 0xDA:
            return markers
        pos += 2 + int.from_bytes(data[pos + 2 : pos + 4], "big")
    return markers


class Tags(HTMLParser):
    """Every start tag with its attributes, and the text as a browser would show it."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parsed(page: bytes) -> Tags:
    parser = Tags()
    parser.feed(page.decode("utf-8"))
    parser.close()
    return parser


class CountingStore:
    """An ImageStore that counts reads (images past the cap must never be read)."""

    def __init__(self, store: ImageStore) -> None:
        self.store = store
        self.reads: list[str] = []

    def read_bytes(self, rel: str) -> bytes | None:
        self.reads.append(rel)
        return self.store.read_bytes(rel)


@pytest.fixture(scope="module")
def originals() -> dict[str, bytes]:
    return {
        "landscape": encoded(photo(), quality=92),
        "portrait": encoded(photo(HEIGHT, WIDTH, shade=30), quality=92),
        "small_png": encoded(photo(800, 600).convert("RGBA"), "PNG"),
        "noise": encoded(noise(), quality=92),
    }


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> ImageStore:
    return ImageStore(tmp_path_factory.mktemp("data"))


@pytest.fixture(scope="module")
def mixed_rows(store: ImageStore, originals: dict[str, bytes]) -> list[dict]:
    """A failure, a row of three, a portrait and a small PNG with alpha."""
    return [
        row("failed1", status="error", image_paths=[], seed=None, seed_requested=7),
        stored_row(store, "three", [originals["landscape"]] * 3, rating=4, note="the best one"),
        stored_row(store, "tall", [originals["portrait"]], aspect_ratio="9:16", raw=True),
        stored_row(store, "smallpng", [originals["small_png"]], backend="offline"),
    ]


@pytest.fixture(scope="module")
def mixed(mixed_rows: list[dict], store: ImageStore) -> tuple[list[ReportItem], int, bytes]:
    items, left_out = report_items(mixed_rows, store)
    page = build_report(Report("Comparison · a red car", "5 images", items, left_out))
    return items, left_out, page


def test_public_surface() -> None:
    assert set(report_build.__all__) == {
        "MAX_IMAGES",
        "MAX_SIDE",
        "Report",
        "ReportItem",
        "VoteSection",
        "build_report",
        "report_items",
    }
    assert (MAX_IMAGES, MAX_SIDE) == (16, 1600)
    assert dataclasses.is_dataclass(ReportItem)
    with pytest.raises(dataclasses.FrozenInstanceError):
        ReportItem(None, 0, 0, "x").heading = "y"  # type: ignore[misc]


def test_one_item_per_stored_image_in_order_and_failures_skipped(mixed) -> None:
    items, left_out, _ = mixed
    assert left_out == 0
    assert [i.heading for i in items] == [
        "seed 42 · 16:9 · image 1 of 3",
        "seed 42 · 16:9 · image 2 of 3",
        "seed 42 · 16:9 · image 3 of 3",
        "seed 42 · 9:16 · raw",
        "seed 42 · 16:9",
    ]
    assert all(i.jpeg is not None and i.problem == "" for i in items)


def test_embedded_jpegs_are_at_most_1600_px_and_carry_nothing(mixed) -> None:
    items, _, page = mixed
    pictures = embedded(page)
    assert len(pictures) == len(items)
    sizes = []
    for item, data in zip(items, pictures, strict=True):
        assert data == item.jpeg
        with Image.open(io.BytesIO(data)) as im:
            assert im.format == "JPEG" and im.mode == "RGB"
            assert max(im.size) <= MAX_SIDE
            assert im.size == (item.width, item.height)
            assert "icc_profile" not in im.info and "exif" not in im.info
            sizes.append(im.size)
        # Only the JFIF header, tables and frame: no EXIF (APP1), ICC (APP2) or comment (COM).
        assert not {0xE1, 0xE2, 0xFE} & set(jpeg_markers(data))
        assert read_params(data) is None and b"red car" not in data
    assert sizes[0] == (1600, 893) and sizes[3] == (893, 1600)
    assert sizes[4] == (800, 600)  # never upscaled
    # The card states the embedded size, so the layout is fixed before the picture decodes.
    assert f'width="{sizes[3][0]}" height="{sizes[3][1]}"' in page.decode()


def test_facts_say_how_each_image_was_made(mixed) -> None:
    items, _, page = mixed
    facts = dict(items[0].facts)
    assert facts == {
        "Prompt": "a red car, three",
        "Seed": "42",
        "Aspect ratio": "16:9",
        "Size": "2752×1536 px",
        "Raw": "no",
        "Format": "jpeg",
        "Safety tolerance": "2",
        "Safety checker": "on",
        "Model": "flux-pro/v1.1-ultra",
        "Time (total)": "12.3 s",
        "Cost (USD)": "$0.060 (1,234 credits) for 3 images",
        "Rating": "★★★★☆",
        "Note": "the best one",
        "Created": "2026-11-29 14:03 UTC",
        "Backend": "AI/ML API",
    }
    assert dict(items[3].facts)["Raw"] == "yes"
    offline = dict(items[4].facts)
    assert offline["Cost (USD)"] == "offline demo: no credits"
    assert offline["Backend"] == "offline demo"
    assert "Rating" not in offline and "Note" not in offline  # absent, not "None"
    text = page.decode()
    for shown in ("a red car, three", "$0.060", "★★★★☆", "the best one", "12.3 s"):
        assert shown in text


def test_comparison_cell_label_and_plain_values() -> None:
    """Rows as pandas gives them (pd.NA, numpy ints, Timestamps, ISO text) read the same."""
    label = CellLabel("seed=42", "ratio=1:1", 0, 1, "grid", 2, 1).to_json()
    source = row(
        "plain",
        group_label=label,
        seed=np.int64(42),
        rating=pd.NA,
        note=pd.NA,
        cost_usd=float("nan"),
        created_at=pd.Timestamp("2026-11-29T14:03:05Z"),
    )
    facts = dict(report_facts.facts(source))
    assert facts["Compared"] == "seed=42 · ratio=1:1"
    assert facts["Seed"] == "42"
    assert facts["Created"] == "2026-11-29 14:03 UTC"
    assert "Rating" not in facts and "Note" not in facts and "Cost (USD)" not in facts
    text = dict(report_facts.facts(row("iso", created_at="2026-11-29T14:03:05+00:00")))
    assert text["Created"] == "2026-11-29 14:03 UTC"


def test_cap_counts_what_is_left_out_and_never_reads_it(
    store: ImageStore, originals: dict[str, bytes]
) -> None:
    small = encoded(photo(320, 180))
    rows = [stored_row(store, f"cap{n}", [small] * 4) for n in range(6)]  # 24 images
    counting = CountingStore(store)
    items, left_out = report_items(rows, counting, limit=MAX_IMAGES)
    assert (len(items), left_out) == (16, 8)
    assert len(counting.reads) == 16
    page = build_report(Report("Capped", items=items, left_out=left_out)).decode()
    assert "16 of 24 images included; the report is capped at 16 to stay under about 15 MB." in (
        page
    )
    items, left_out = report_items(rows, store, limit=3)
    assert (len(items), left_out) == (3, 21)
    assert report_items(rows, store, limit=0) == ([], 24)
    everything, none_left = report_items(rows[:2], store)
    assert (len(everything), none_left) == (8, 0)
    assert "capped" not in build_report(Report("All", items=everything)).decode()


@pytest.mark.parametrize("kind", ["landscape", "noise"])
def test_sixteen_full_size_images_stay_under_15_mb(
    kind: str, store: ImageStore, originals: dict[str, bytes]
) -> None:
    """Photo-like originals at the provider's size embed at quality 82 as they are; pure noise
    (the worst case for JPEG) is stepped down until it fits the per-image budget."""
    rows = [stored_row(store, f"{kind}{n}", [originals[kind]]) for n in range(MAX_IMAGES)]
    items, left_out = report_items(rows, store)
    assert (len(items), left_out) == (MAX_IMAGES, 0)
    page = build_report(Report("Sixteen", items=items, vote=None, generated_at=MOMENT))
    assert len(page) < REPORT_BYTES
    assert all(item.jpeg and len(item.jpeg) <= IMAGE_BUDGET for item in items)
    assert all(max(item.width, item.height) <= MAX_SIDE for item in items)
    if kind == "landscape":
        # A realistic picture is untouched by the budget: full 1600 px at the usual quality.
        assert {(i.width, i.height) for i in items} == {(1600, 893)}
        assert 100_000 < len(items[0].jpeg or b"") < 700_000


def test_budget_steps_quality_then_size_for_a_tight_budget(originals: dict[str, bytes]) -> None:
    full = embed_picture(originals["noise"], budget=10**9)
    tight = embed_picture(originals["noise"], budget=150_000)
    assert (full.width, full.height) == (1600, 893)
    assert len(tight.jpeg) <= 150_000 < len(full.jpeg)
    assert tight.width < 1600 and abs(tight.width / tight.height - 1600 / 893) < 0.01
    with Image.open(io.BytesIO(tight.jpeg)) as im:
        assert im.size == (tight.width, tight.height)


def test_missing_or_unreadable_files_say_so(store: ImageStore, tmp_path: Path) -> None:
    good = stored_row(store, "kept", [encoded(photo(640, 360))])
    broken = stored_row(store, "broken", [encoded(photo(640, 360))])
    store.abs_path(broken["image_paths"][0]).write_bytes(b"\xff\xd8\xff not a jpeg at all")
    rows = [
        row("gone", image_paths=["images/2026-11-29/gone_0.jpg"]),
        row("escape", image_paths=["../../../etc/passwd", "/etc/passwd"]),
        row("nonsense", image_paths="not json"),
        broken,
        good,
    ]
    items, left_out = report_items(rows, store)
    assert left_out == 0
    assert [(i.jpeg is None, i.problem) for i in items] == [
        (True, "image file missing"),
        (True, "image file missing"),
        (True, "image file missing"),
        (True, "image file could not be read"),
        (False, ""),
    ]
    page = build_report(Report("Gaps", items=items)).decode()
    assert page.count('<p class="missing">image file missing</p>') == 3
    assert "image file could not be read" in page
    assert "4 of 5 image files could not be read; their cards say so." in page
    assert len(embedded(page.encode())) == 1
    assert "etc/passwd" not in page


def test_user_text_is_shown_never_run(store: ImageStore) -> None:
    script = "<script>alert(1)</script>"
    attribute = '"><img src=x onerror=alert(2)>'
    rows = [
        stored_row(
            store,
            "hostile",
            [encoded(photo(320, 180))],
            prompt=f"{script} a car",
            note=attribute,
            aspect_ratio="16:9<b>",
            model="m</td></tr></table><iframe src=//evil.test>",
        )
    ]
    items, _ = report_items(rows, store)
    vote = VoteSection(
        title=f"{script}title",
        question=attribute,
        voters=1,
        answers=1,
        agreement=None,
        ranking=[("A<i>", f"{script}what", None, 0.5, -0.1, 1.2)],
    )
    extra = dataclasses.replace(items[0], facts=[*items[0].facts, ("<u>Vote</u>", attribute)])
    report = Report(f"</title>{script}", attribute, [extra], vote=vote, generated_at=MOMENT)
    page = build_report(report)
    text = page.decode()
    assert "<script" not in text.lower() and "<iframe" not in text.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt; a car" in text
    tags = parsed(page)
    names = {name for name, _ in tags.tags}
    assert names <= {
        "html", "head", "meta", "title", "style", "body", "header", "h1", "h2", "h3", "p",
        "main", "section", "article", "figure", "img", "div", "table", "thead", "tbody", "tr",
        "th", "td", "span", "footer",
    }  # fmt: skip
    images = [attrs for name, attrs in tags.tags if name == "img"]
    assert len(images) == 1
    assert set(images[0]) == {"src", "width", "height", "alt"}
    assert (images[0]["src"] or "").startswith("data:image/jpeg;base64,")
    assert not any(k.startswith("on") for _, attrs in tags.tags for k in attrs)
    shown = "".join(tags.text)
    for payload in (script, attribute, "<u>Vote</u>", "A<i>", "16:9<b>"):
        assert payload in shown  # as text a reader sees
    assert f"</title>{script}" in shown


def test_nothing_loads_from_outside_the_file(mixed) -> None:
    _, _, page = mixed
    assert page.startswith(b"<!doctype html>\n")
    text = page.decode("utf-8")
    assert '<meta charset="utf-8">' in text
    outside = DATA_URI.sub("data:", text)
    for pattern in (
        r"https?://",
        r"""(?:src|href)\s*=\s*["']?//""",
        r"<link\b",
        r"@import",
        r"url\(",
        r"<script\b",
        r"\bsrcset\b",
        r"<(?:iframe|object|embed|base|form)\b",
    ):
        assert not re.search(pattern, outside, flags=re.I), pattern
    sources = re.findall(r"""\bsrc\s*=\s*["']?([^"' >]*)""", text)
    assert sources and all(s.startswith("data:image/jpeg;base64,") for s in sources)
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', text)
    assert csp and "default-src &#x27;none&#x27;; img-src data:" in csp.group(1)


def test_only_generation_fields_reach_the_report(
    mixed_rows: list[dict], store: ImageStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIMLAPI_API_KEY", KEY)
    monkeypatch.setenv("AIMLAPI_BASE_URL", "https://zq-private-gateway.example/v1")
    items, left_out = report_items(mixed_rows, store)
    page = build_report(Report("Shared", "for the client", items, left_out)).decode()
    assert KEY not in page and "zq-private-gateway" not in page
    for value in SECRETS.values():
        assert value not in page
    for r in mixed_rows:
        assert f"{r['id']}_0" not in page  # an image's id, its file's stem
        for path in [*r["image_paths"], *r["thumb_paths"]]:
            assert path not in page
    assert "images/" not in page and "thumbs/" not in page


def test_vote_section_ranks_and_says_how_sure() -> None:
    vote = VoteSection(
        title="Which car?",
        question="Which one would you put on the poster?",
        voters=3,
        answers=18,
        agreement=0.67,
        ranking=[("A", "seed 42", 0.61, 1.23, -0.2, 2.6), ("B", "seed 7", None, -1.23, -2.6, 0.2)],
    )
    page = build_report(Report("Vote", vote=vote, generated_at=MOMENT)).decode()
    assert "<h2>Vote · Which car?</h2>" in page
    assert "3 voters · 18 answers · agreement 67%" in page
    first, second = re.findall(r"<tr><td class=num>(\d)</td>(.*?)</tr>", page)
    assert first[0] == "1" and "seed 42" in first[1] and "61%" in first[1]
    assert "+1.23" in first[1] and "−0.20 to +2.60" in first[1]
    assert second[0] == "2" and "<td class=num>–</td>" in second[1]
    assert "No images in this report." in page
    unsure = dataclasses.replace(vote, agreement=None, ranking=[])
    page = build_report(Report("Vote", vote=unsure)).decode()
    assert "too few answers to measure agreement" in page and "No answers yet." in page


def test_header_and_extra_facts() -> None:
    item = ReportItem(encoded(photo(64, 36)), 64, 36, "seed 1 · 16:9", [("Prompt", "p")])
    scored = dataclasses.replace(item, facts=[*item.facts, ("Vote score", "+1.20")])
    page = build_report(
        Report("Comparison · a red car", "4 images · 29 Nov 2026", [scored], generated_at=MOMENT)
    ).decode()
    assert "<title>Comparison · a red car</title>" in page
    assert "<h1>Comparison · a red car</h1>" in page
    assert "4 images · 29 Nov 2026" in page
    assert "Generated 29 Nov 2026, 14:03 UTC · made with FLUX Ultra Studio" in page
    assert "<tr><th scope=row>Vote score</th><td>+1.20</td></tr>" in page


def test_print_rules_keep_every_card_on_one_page() -> None:
    """The CSS the browser test relies on: a known page box, cards that do not break, and a
    picture short enough that a card fits on the shorter of A4 and Letter."""
    css = report_build.STYLE
    assert f"@page {{ margin: {PAGE_MARGIN_MM}mm; }}" in css
    printed = css[css.index("@media print") :]
    card = printed[printed.index(".card {") : printed.index("}", printed.index(".card {"))]
    assert "break-inside: avoid" in card and "page-break-inside: avoid" in card
    assert f"max-height: {PRINT_IMAGE_MM}mm" in printed
    letter_mm, a4_mm = 279.4, 297
    assert min(letter_mm, a4_mm) - 2 * PAGE_MARGIN_MM > PRINT_IMAGE_MM + 20
    assert "background: #fff" in printed


def _iter_rows(n: int) -> Iterator[dict[str, Any]]:
    for k in range(n):
        yield row(f"lazy{k}")


def test_rows_may_be_any_iterable_and_rows_without_images_are_skipped(store) -> None:
    assert report_items(_iter_rows(3), store) == ([], 0)
