"""The HTML report as a reader gets it: a file opened from disk in Chromium with the network
off shows every picture, fits a phone, and prints to PDF (A4 and Letter) with no picture split
across pages.

How "no picture split" is proved: from the PDF that page.pdf() writes, not from the page. The
test reads the PDF's cross-reference table, walks its pages, and replays each page's content
stream (q/Q/cm, the transforms only) to find every image XObject drawn and the rectangle it is
drawn in. A picture cut by a page break would be drawn on two pages, each time running past the
page's printable area (the clipped part); so the report passes when every picture is drawn
exactly once and inside the margins of its page. The same check run on the report with its
print rules removed must find split pictures, so the check is shown to see what it claims to.
(Measuring boxes in the live page cannot do this: a screen layout is not fragmented, so it
shows neither where Chromium breaks pages nor whether break-inside: avoid was honoured.)
"""

from __future__ import annotations

import io
import re
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageDraw, ImageFilter

from components.images.store import ImageStore, image_id
from components.report.build import PAGE_MARGIN_MM, Report, VoteSection, build_report, report_items

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT = ROOT / "docs" / "report.png"
PHONE_SCREENSHOT = ROOT / "docs" / "report-390.png"
MM = 72 / 25.4  # PDF points per millimetre
# (width, height) of each original: landscape, portrait, square, the extreme ratios.
SHAPES = [(2752, 1536), (1536, 2752), (2048, 2048), (1344, 3136), (3136, 1344), (1536, 2752)]
RATIOS = ["16:9", "9:16", "1:1", "9:21", "21:9", "9:16"]
LONG_PROMPT = ("a red car on a wet street at dusk, neon reflections, " * 80)[:4000]
WITHOUT_PRINT_RULES = """
@media print {
  .cards, .card { display: block !important; }
  .card, .card img { break-inside: auto !important; page-break-inside: auto !important; }
  .card img { max-height: none !important; width: 100% !important; }
}
"""


def picture(width: int, height: int, n: int) -> bytes:
    """A photo-like original, different for each n (the PDF keeps one object per picture)."""
    ramp = Image.linear_gradient("L").resize((width, height))
    grain = Image.effect_noise((width, height), 20).filter(ImageFilter.GaussianBlur(1.2))
    im = Image.merge("RGB", (ramp, grain, ramp.transpose(Image.Transpose.FLIP_LEFT_RIGHT)))
    draw = ImageDraw.Draw(im)
    for k in range(8):
        x, y = (k * width) // 8, ((k + n) % 4) * height // 4
        draw.ellipse((x, y, x + width // 10, y + height // 6), fill=(30 * n, 200 - 20 * k, 80))
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=90)
    return buf.getvalue()


@pytest.fixture(scope="module")
def report_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("report")
    store = ImageStore(folder / "data")
    rows: list[dict[str, Any]] = []
    for n, ((width, height), ratio) in enumerate(zip(SHAPES, RATIOS, strict=True)):
        row_id = f"report{n}"
        saved = store.save(image_id(row_id, 0), picture(width, height, n), {"seed": n + 1})
        rows.append(
            {
                "id": row_id,
                "created_at": datetime(2026, 11, 29, 14, n, tzinfo=UTC),
                "backend": "offline" if n % 3 == 0 else "aimlapi",
                "model": "flux-pro/v1.1-ultra",
                "prompt": LONG_PROMPT if n == 4 else f"a red car, take {n + 1} <b>not bold</b>",
                "seed": 1000 + n,
                "aspect_ratio": ratio,
                "raw": n % 2 == 1,
                "output_format": "jpeg",
                "safety_tolerance": "2",
                "enable_safety_checker": True,
                "num_images": 1,
                "status": "ok",
                "total_s": 8.5 + n,
                "cost_usd": 0.06,
                "credits_used": 1575.0,
                "rating": n % 6,
                "note": "client's favourite" if n == 1 else None,
                "width": width,
                "height": height,
                "image_paths": [saved.path],
                "thumb_paths": [saved.thumb_path],
            }
        )
    items, left_out = report_items(rows, store)
    vote = VoteSection(
        title="Poster",
        question="Which one goes on the poster?",
        voters=3,
        answers=18,
        agreement=0.67,
        ranking=[
            ("A", "seed 1001", 0.61, 1.23, -0.2, 2.6),
            ("B", "seed 1000", 0.39, -1.23, -2.6, 0.2),
        ],
    )
    report = Report(
        title="Comparison · a red car",
        subtitle=f"{len(items)} images · 29 Nov 2026",
        items=items,
        left_out=left_out,
        vote=vote,
        generated_at=datetime(2026, 11, 29, 15, 0, tzinfo=UTC),
    )
    path = folder / "report.html"
    path.write_bytes(build_report(report))
    return path


# ---- a minimal reader for the PDFs Chromium (Skia) writes ----------------------------------

_NUMBER = rb"[-+]?(?:\d+\.?\d*|\.\d+)"


@dataclass(frozen=True)
class Drawn:
    page: int
    image: int  # the image XObject's object number
    box: tuple[float, float, float, float]  # x0, y0, x1, y1 in points, origin bottom left


def _find(pattern: bytes, data: bytes) -> re.Match[bytes]:
    found = re.search(pattern, data)
    assert found, f"not in the PDF: {pattern!r}"
    return found


def _dictionary(data: bytes, pos: int) -> tuple[bytes, int]:
    """The << ... >> starting at pos (nested ones included) and where it ends."""
    assert data.startswith(b"<<", pos)
    depth, k = 0, pos
    while k < len(data):
        step = data[k : k + 2]
        if step in (b"<<", b">>"):
            depth, k = depth + (1 if step == b"<<" else -1), k + 2
            if depth == 0:
                return data[pos:k], k
        else:
            k += 1
    raise AssertionError("unbalanced dictionary")


class Pdf:
    """Objects by number (through the classic xref table Skia writes), pages in order, and
    the images each page draws. Anything this does not know fails loudly, never passes."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        start = int(re.findall(rb"startxref\s+(\d+)", data)[-1])
        head = re.compile(rb"xref\s+(\d+)\s+(\d+)\s+").match(data, start)
        assert head, "no classic xref table (the reader would need extending)"
        first, count = int(head.group(1)), int(head.group(2))
        table = data[head.end() : head.end() + 20 * count]
        entries = re.findall(rb"(\d{10}) (\d{5}) ([nf])", table)
        self.offsets = {
            first + k: int(at) for k, (at, _, kind) in enumerate(entries) if kind == b"n"
        }

    def obj(self, number: int) -> tuple[bytes, bytes | None]:
        """An object's dictionary and, for a stream, its decoded bytes."""
        match = re.compile(rb"\d+\s+\d+\s+obj\s*").match(self.data, self.offsets[number])
        assert match, number
        if not self.data.startswith(b"<<", match.end()):
            return self.data[match.end() : self.data.index(b"endobj", match.end())], None
        body, end = _dictionary(self.data, match.end())
        stream = re.compile(rb"\s*stream\r?\n").match(self.data, end)
        if not stream:
            return body, None
        length = int(_find(rb"/Length (\d+)", body).group(1))
        raw = self.data[stream.end() : stream.end() + length]
        return body, zlib.decompress(raw) if b"/FlateDecode" in body else raw

    def pages(self) -> list[int]:
        catalog, _ = self.obj(int(_find(rb"/Root (\d+) 0 R", self.data).group(1)))
        queue = [int(_find(rb"/Pages (\d+) 0 R", catalog).group(1))]
        out: list[int] = []
        while queue:
            number = queue.pop(0)
            body, _ = self.obj(number)
            if re.search(rb"/Type\s*/Pages\b", body):
                kids = _find(rb"/Kids\s*\[([^\]]*)\]", body).group(1)
                queue = [int(n) for n in re.findall(rb"(\d+) 0 R", kids)] + queue
            else:
                out.append(number)
        return out

    def _entry(self, body: bytes, name: bytes) -> bytes:
        """A sub-dictionary of body (/Resources, /XObject), following a reference; empty when
        there is none (a page of text only has no /XObject)."""
        at = re.search(rb"/" + name + rb"\s*(<<|(\d+) 0 R)", body)
        if at is None:
            return b""
        if at.group(2):
            return self.obj(int(at.group(2)))[0]
        return _dictionary(body, at.start(1))[0]

    def drawn_images(self) -> tuple[list[Drawn], list[tuple[float, float]]]:
        """Every image drawn, page by page, with its box; and each page's size."""
        drawn: list[Drawn] = []
        sizes: list[tuple[float, float]] = []
        for index, number in enumerate(self.pages()):
            page, _ = self.obj(number)
            media = _find(rb"/MediaBox\s*\[([^\]]*)\]", page).group(1)
            x0, y0, x1, y1 = (float(v) for v in re.findall(_NUMBER, media))
            sizes.append((x1 - x0, y1 - y0))
            named = self._entry(self._entry(page, b"Resources"), b"XObject")
            xobjects = {k: int(v) for k, v in re.findall(rb"/([^\s/<>\[\]()]+)\s+(\d+) 0 R", named)}
            contents = _find(rb"/Contents\s*(\[[^\]]*\]|\d+ 0 R)", page).group(1)
            streams = [self.obj(int(n))[1] or b"" for n in re.findall(rb"(\d+) 0 R", contents)]
            for name, ctm in _image_draws(b"\n".join(streams)):
                target = xobjects[name]
                kind, _ = self.obj(target)
                assert re.search(rb"/Subtype\s*/Image\b", kind), f"{name!r} is not an image"
                drawn.append(Drawn(index, target, _unit_square(ctm)))
        return drawn, sizes


Matrix = tuple[float, float, float, float, float, float]
IDENTITY: Matrix = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)


def _times(m: Matrix, n: Matrix) -> Matrix:
    """m then n (PDF's row-vector convention: cm's matrix is applied before the CTM)."""
    a, b, c, d, e, f = m
    a2, b2, c2, d2, e2, f2 = n
    return (
        a * a2 + b * c2,
        a * b2 + b * d2,
        c * a2 + d * c2,
        c * b2 + d * d2,
        e * a2 + f * c2 + e2,
        e * b2 + f * d2 + f2,
    )


def _image_draws(stream: bytes) -> list[tuple[bytes, Matrix]]:
    """(XObject name, CTM) for each Do: replays q, Q and cm; strings are removed first so
    glyph codes are never read as operators."""
    text = re.sub(rb"\((?:\\.|[^\\)])*\)|<[0-9A-Fa-f\s]*>", b" ", stream)
    tokens = re.findall(rb"/[^\s/<>\[\]()]+|" + _NUMBER + rb"|[A-Za-z'\"*]+", text)
    ctm = IDENTITY
    stack: list[Matrix] = []
    operands: list[bytes] = []
    draws: list[tuple[bytes, Matrix]] = []
    for token in tokens:
        if token.startswith(b"/") or re.fullmatch(_NUMBER, token):
            operands.append(token)
            continue
        if token == b"q":
            stack.append(ctm)
        elif token == b"Q":
            ctm = stack.pop()
        elif token == b"cm":
            a, b, c, d, e, f = (float(v) for v in operands[-6:])
            ctm = _times((a, b, c, d, e, f), ctm)
        elif token == b"Do":
            draws.append((operands[-1][1:], ctm))
        elif token in (b"BI", b"ID"):
            raise AssertionError("inline image: the reader would need extending")
        operands = []
    return draws


def _unit_square(m: Matrix) -> tuple[float, float, float, float]:
    a, b, c, d, e, f = m
    xs = [e, a + e, c + e, a + c + e]
    ys = [f, b + f, d + f, b + d + f]
    return min(xs), min(ys), max(xs), max(ys)


def split_pictures(pdf: bytes) -> list[str]:
    """What is wrong with the pictures of a PDF: drawn more than once, or past the margins."""
    drawn, sizes = Pdf(pdf).drawn_images()
    problems: list[str] = []
    seen: dict[int, list[int]] = {}
    for d in drawn:
        seen.setdefault(d.image, []).append(d.page + 1)
    problems += [f"image {k} drawn on pages {p}" for k, p in seen.items() if len(p) > 1]
    margin, slack = PAGE_MARGIN_MM * MM, 1.0
    for d in drawn:
        width, height = sizes[d.page]
        x0, y0, x1, y1 = d.box
        inside = (
            x0 >= margin - slack
            and y0 >= margin - slack
            and x1 <= width - margin + slack
            and y1 <= height - margin + slack
        )
        if not inside:
            problems.append(f"image {d.image} on page {d.page + 1} runs past the margins: {d.box}")
    return problems


# ---- the tests -----------------------------------------------------------------------------


def offline_page(browser, report_file: Path, **context: Any):
    ctx = browser.new_context(offline=True, **context)
    page = ctx.new_page()
    page.set_default_timeout(15_000)
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))
    page.goto(report_file.as_uri())
    page.wait_for_load_state("load")
    return ctx, page, asked


def test_every_picture_shows_from_disk_with_the_network_off(browser, report_file: Path) -> None:
    ctx, page, asked = offline_page(browser, report_file, viewport={"width": 1440, "height": 900})
    try:
        shown = page.evaluate(
            "[...document.images].map(i => [i.complete, i.naturalWidth, i.naturalHeight,"
            " i.currentSrc.slice(0, 23)])"
        )
        assert len(shown) == len(SHAPES)
        for complete, width, height, source in shown:
            assert complete and width > 0 and height > 0
            assert max(width, height) <= 1600
            assert source == "data:image/jpeg;base64,"
        # Only the file itself was asked for (data: URIs are not requests).
        assert [u for u in asked if not u.startswith("data:")] == [report_file.as_uri()]
        assert page.locator("h1").inner_text() == "Comparison · a red car"
        assert page.get_by_text("a red car, take 1 <b>not bold</b>").count() == 1
        assert page.locator("b").count() == 0
        SCREENSHOT.parent.mkdir(exist_ok=True)
        page.screenshot(path=str(SCREENSHOT))
    finally:
        ctx.close()


def test_it_fits_a_phone(browser, report_file: Path) -> None:
    ctx, page, _ = offline_page(browser, report_file, viewport={"width": 390, "height": 844})
    try:
        widths = page.evaluate(
            "[document.scrollingElement.scrollWidth, innerWidth,"
            " Math.max(...[...document.images].map(i => i.getBoundingClientRect().right))]"
        )
        scroll_width, inner, rightmost = widths
        assert scroll_width <= inner and rightmost <= inner
        page.screenshot(path=str(PHONE_SCREENSHOT))
    finally:
        ctx.close()


@pytest.mark.parametrize("paper", ["A4", "Letter"])
def test_printing_never_splits_a_picture(
    browser, report_file: Path, tmp_path: Path, paper: str
) -> None:
    ctx, page, _ = offline_page(browser, report_file)
    try:
        pdf = page.pdf(
            path=str(tmp_path / f"report-{paper}.pdf"), format=paper, print_background=True
        )
        drawn, sizes = Pdf(pdf).drawn_images()
        assert len(sizes) >= 2  # the pictures do run over several pages
        assert sorted({d.image for d in drawn}) == sorted(d.image for d in drawn)
        assert len(drawn) == len(SHAPES)
        assert split_pictures(pdf) == []
    finally:
        ctx.close()


def test_the_check_sees_a_split_picture(browser, report_file: Path) -> None:
    """The same report with its print rules undone: pictures are cut by page breaks, and the
    check says so (so a pass above is not the check being blind)."""
    ctx, page, _ = offline_page(browser, report_file)
    try:
        page.add_style_tag(content=WITHOUT_PRINT_RULES)
        problems = split_pictures(page.pdf(format="A4"))
        assert any("drawn on pages" in p for p in problems), problems
        assert any("runs past the margins" in p for p in problems), problems
    finally:
        ctx.close()
