"""Fuzzing the Session log's import: whatever the bytes, the answer is a result or a ValueError
with a message (ImportRefused for a ZIP), nothing lands outside the data folder, and a refused
import leaves no row and no file behind."""

from __future__ import annotations

import io
import json
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from components.images.store import ImageStore
from components.log import archive as log_archive
from components.log.formats import export_csv
from components.log.schema import COLUMNS
from components.log.store import LogStore
from samples import image_bytes, png_declaring

FUZZ = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
JPEG = image_bytes(16, 9)
PNG = image_bytes(9, 16, "PNG")
DAY = "images/2026-05-01"


@dataclass
class Place:
    """A log and its data folder, with a neighbour folder that must never change."""

    root: Path
    log: LogStore
    images: ImageStore

    @property
    def data(self) -> Path:
        return self.images.root

    def files(self, under: Path) -> dict[str, bytes]:
        return {
            str(p.relative_to(self.root)): p.read_bytes() for p in under.rglob("*") if p.is_file()
        }

    def outside(self) -> dict[str, bytes]:
        """Every file but the data folder's and the database's."""
        found = self.files(self.root)
        return {k: v for k, v in found.items() if not k.startswith(("data/", "db/"))}

    def reset(self) -> None:
        self.log.delete(self.log.query(columns=["id"])["id"].tolist())
        for name in ("images", "thumbs"):
            shutil.rmtree(self.data / name, ignore_errors=True)


@pytest.fixture(scope="module")
def place() -> Iterator[Place]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "outside").mkdir()
        (root / "outside" / "keep.txt").write_bytes(b"untouched")
        log = LogStore(root / "db" / "studio.db")
        yield Place(root, log, ImageStore(root / "data"))
        log.close()


def check_import(place: Place, data: bytes, name: str) -> None:
    """Import once and hold the promises, then empty the log and the folder again."""
    outside = place.outside()
    assert place.log.count() == 0 and not place.files(place.data)
    try:
        result = log_archive.import_bytes(place.log, place.images, data, name)
    except ValueError as exc:
        assert str(exc)  # a message to show
        assert place.log.count() == 0, "rows added by a refused import"
        assert not place.files(place.data), "files left by a refused import"
    else:
        report = result.report
        assert place.log.count() == report.added
        written = place.files(place.data)
        assert len(written) == result.images_restored
        named = {
            p for paths in place.log.query(columns=["image_paths"])["image_paths"] for p in paths
        }
        for rel in written:
            assert rel.startswith("data/images/")
            assert rel.removeprefix("data/") in named, "an image no row names"
        assert len(report.problems) <= 20 and len(result.problems) <= 20
        assert all(len(p) < 600 for p in (*report.problems, *result.problems))
    finally:
        assert place.outside() == outside, "something was written outside the data folder"
        place.reset()


# --- Values ------------------------------------------------------------------------------

huge_ints = st.one_of(
    st.integers(),
    st.sampled_from([2**53 - 1, 2**53, 2**63 - 1, 2**63, -(2**63) - 1, 10**40, -(10**40)]),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    huge_ints,
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(
        ["", " ", "=1+1", "\r", "2026-05-01T10:00:00+00:00", "0001-01-01T00:00:00+14:00"]
    ),
)
values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
paths = st.sampled_from(
    [
        f"{DAY}/r1_0.jpg",
        f"{DAY}/r2_0.png",
        f"{DAY}/big_0.png",
        f"{DAY}/junk_0.jpg",
        f"{DAY}/../../escape.jpg",
        "../outside/evil.jpg",
        "images/../../outside/evil.jpg",
        "images\\..\\..\\outside\\evil.jpg",
        "/outside/evil.jpg",
        "thumbs/2026-05-01/r1_0.jpg",
        "images/x",
        "images",
        "",
    ]
)
ids = st.one_of(st.sampled_from(["r1", "r2", "r3", "big", "junk"]), st.text(max_size=10), huge_ints)


@st.composite
def records(draw) -> dict:
    record = {"id": draw(ids)}
    for name in draw(st.lists(st.sampled_from(COLUMNS), max_size=6, unique=True)):
        record[name] = draw(values)
    if draw(st.booleans()):
        record["seed"] = draw(huge_ints)
    if draw(st.booleans()):
        record["image_paths"] = draw(st.lists(paths, max_size=3))
    return record


def deep(depth: int) -> str:
    return "[" * depth + "]" * depth


json_texts = st.one_of(
    st.lists(records(), max_size=5).map(json.dumps),
    st.lists(records(), max_size=3).map(lambda r: json.dumps({"records": r})),
    values.map(json.dumps),
    st.integers(0, 50_000).map(deep),
    st.integers(0, 3_000).map(
        lambda d: json.dumps([{"id": "r1", "prompt": "x"}])[:-1] + "," + deep(d) + "]"
    ),
    st.text(max_size=200),
)


# --- JSON, CSV and any bytes ----------------------------------------------------------------


@FUZZ
@given(text=json_texts)
def test_any_json_gives_a_result_or_a_message(place, text):
    check_import(place, text.encode("utf-8", "surrogatepass"), "log.json")


cells = st.one_of(
    st.text(max_size=20),
    st.sampled_from(["=1+1", "'=1+1", "\r", "a\rb", '"', "9" * 30, "-1", "1e400", "nan", "[[[]]]"]),
    huge_ints.map(str),
    st.integers(0, 3_000).map(deep),
)


@FUZZ
@given(
    header=st.lists(st.sampled_from([*COLUMNS, "other", ""]), min_size=1, max_size=8),
    rows=st.lists(st.lists(cells, max_size=9), max_size=5),
    line_end=st.sampled_from(["\n", "\r\n", "\r"]),
)
def test_any_csv_gives_a_result_or_a_message(place, header, rows, line_end):
    buffer = io.StringIO()
    for row in [header, *rows]:
        buffer.write(",".join('"' + str(c).replace('"', '""') + '"' for c in row) + line_end)
    check_import(place, buffer.getvalue().encode("utf-8", "surrogatepass"), "log.csv")


@FUZZ
@given(data=st.binary(max_size=400), kind=st.sampled_from(["json", "csv", "parquet", "zip"]))
def test_any_bytes_give_a_result_or_a_message(place, data, kind):
    check_import(place, data, f"log.{kind}")


@settings(max_examples=60, deadline=None)
@given(prompt=st.text(max_size=40), note=st.text(max_size=10))
def test_any_prompt_survives_a_csv_round_trip(prompt, note):
    with tempfile.TemporaryDirectory() as tmp:
        source = LogStore(Path(tmp) / "a.db")
        source.append({"id": "r1", "prompt": prompt, "note": note})
        target = LogStore(Path(tmp) / "b.db")
        report = target.import_rows(export_csv(source.query()), "csv")
        assert report.added == 1
        row = target.get("r1")
        # CSV cannot tell empty text from none: both come back missing.
        assert row["prompt"] == (prompt or None) and row["note"] == (note or None)
        source.close()
        target.close()


# --- ZIPs ------------------------------------------------------------------------------------

member_data = st.one_of(
    st.sampled_from([JPEG, PNG, png_declaring(7000, 7000), png_declaring(10**5, 10**5)]),
    st.binary(max_size=64),
    st.just(b"\x89PNG\r\n\x1a\n" + bytes(2 * 1024 * 1024)),  # a small bomb: 2 MB of zeros
)
member_names = st.one_of(
    paths,
    st.sampled_from(["session-log.csv", "images/", f"{DAY}/", "a/b/c.txt"]),
    st.text(max_size=20).filter(lambda s: s != log_archive.LOG_JSON),
)
methods = st.sampled_from(
    [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA]
)


@st.composite
def zips(draw) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        if draw(st.integers(0, 9)):  # usually with a log
            log = draw(
                st.one_of(
                    st.lists(records(), max_size=4).map(json.dumps),
                    json_texts,
                )
            )
            archive.writestr(
                log_archive.LOG_JSON,
                log.encode("utf-8", "surrogatepass"),
                compress_type=draw(methods),
            )
        for name, data in draw(st.lists(st.tuples(member_names, member_data), max_size=5)):
            if not name.split("\x00")[0]:
                continue  # a ZIP member needs a name (zipfile cuts it at a NUL)
            if name.startswith("/outside/"):
                name = str(draw_root.get()) + name  # an absolute path into the neighbour folder
            archive.writestr(name, data, compress_type=draw(methods))
    data = bytearray(buffer.getvalue())
    damage = draw(st.sampled_from(["none", "none", "flip", "cut", "method"]))
    if damage == "flip" and data:
        at = draw(st.integers(0, len(data) - 1))
        data[at] ^= draw(st.integers(1, 255))
    elif damage == "cut":
        data = data[: draw(st.integers(0, len(data)))]
    elif damage == "method":
        at = data.find(b"PK\x01\x02")
        if at >= 0:
            data[at + 10 : at + 12] = draw(st.sampled_from([b"\x63\x00", b"\x63\x00", b"\x01\x00"]))
    return bytes(data)


class _Root:
    """The neighbour folder's parent, for absolute member names (set by the fixture)."""

    value: Path | None = None

    def get(self) -> Path:
        assert self.value is not None
        return self.value


draw_root = _Root()


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@pytest.mark.filterwarnings("ignore:Duplicate name")
@given(data=zips())
def test_any_zip_gives_a_result_or_a_message(place, data):
    check_import(place, data, "backup.zip")


@pytest.fixture(scope="module", autouse=True)
def _absolute_names_point_next_door(place):
    draw_root.value = place.root
    yield
    draw_root.value = None


def test_an_absolute_or_escaping_member_named_by_a_row_is_not_written(place):
    evil = str(place.root / "outside" / "evil.jpg")
    rows = [
        {"id": "r1", "image_paths": [evil, "../outside/evil.jpg", f"{DAY}/../../evil.jpg"]},
    ]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(log_archive.LOG_JSON, json.dumps(rows))
        for name in rows[0]["image_paths"]:
            archive.writestr(name, JPEG)
    check_import(place, buffer.getvalue(), "evil.zip")
    assert not (place.root / "outside" / "evil.jpg").exists()
    assert not (place.root / "evil.jpg").exists()
