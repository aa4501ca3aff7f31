"""Both pages draw a result's picture while its original and log row are still being written.

Saving is held (a wrapper around the real ImageStore.save) until the page has drawn that job's
picture; a page that drew only finished results would keep every save waiting until it gave
up. Only the timing is steered: the backend, the files and the log are real."""

from __future__ import annotations

import base64
import io
import threading
from collections.abc import Callable
from pathlib import Path

from PIL import Image
from streamlit.testing.v1 import AppTest

from apptest_utils import button, new_app, rendered, run_until
from components.images.store import THUMB_MAX_SIDE, ImageStore
from components.log.store import LogStore
from components.ui import inline_image
from components.ui.compare import grid as compare_grid
from components.ui.generate import results as gen_results

COMPARE = str(Path(__file__).resolve().parents[2] / "pages" / "compare.py")


class Held:
    """Saves wait for `drawn(job id)`; `in_order` records, per save, whether it came."""

    def __init__(self, monkeypatch, fail: str | None = None) -> None:
        self._events: dict[str, threading.Event] = {}
        self._lock = threading.Lock()
        self.in_order: list[bool] = []
        real_save = ImageStore.save

        def save(store, image_id, *args, **kwargs):
            job_id = image_id.rsplit("_", 1)[0]
            self.in_order.append(self.event(job_id).wait(10))
            if fail is not None and image_id.startswith(fail):
                raise OSError(28, "No space left on device")
            return real_save(store, image_id, *args, **kwargs)

        monkeypatch.setattr(ImageStore, "save", save)

    def event(self, job_id: str) -> threading.Event:
        with self._lock:
            return self._events.setdefault(job_id, threading.Event())

    def drawn(self, job_id: str | None) -> None:
        self.event(job_id or "").set()


def wrap(monkeypatch, module, name: str, after: Callable) -> None:
    real = getattr(module, name)

    def wrapped(*args, **kwargs):
        out = real(*args, **kwargs)
        after(*args, out=out)
        return out

    monkeypatch.setattr(module, name, wrapped)


def inline_pictures(monkeypatch) -> list[Image.Image]:
    """Every picture a page sends inside its message (a data: URL), decoded."""
    sent: list[Image.Image] = []

    def keep(picture, out):
        head, payload = out.split(",", 1)
        assert head == "data:image/jpeg;base64"
        sent.append(Image.open(io.BytesIO(base64.b64decode(payload))))

    wrap(monkeypatch, inline_image, "data_url", keep)
    return sent


def test_compare_cells_show_their_pictures_before_they_are_saved(data, monkeypatch):
    held = Held(monkeypatch)
    inline = inline_pictures(monkeypatch)
    wrap(
        monkeypatch,
        compare_grid,
        "fill_preview",
        lambda slot, cell, aspect, out: held.drawn(cell.row_id),
    )
    at = AppTest.from_file(COMPARE, default_timeout=30)
    at.run()
    at.text_area(key="cmp_prompt").input("a red car").run()
    at.button(key="cmp_run").click().run()
    at.run()  # the waiting run: pictures, then the rest as each cell lands
    at.run()
    assert not at.exception
    assert held.in_order == [True] * 4
    assert len(at.get("feedback")) == 4  # the judging view: every cell landed and can be rated
    # Each preview went inside the page's message, smaller than a thumbnail (four columns);
    # the judging view that follows shows the saved thumbnails as media URLs (cached by the
    # browser, sent once).
    assert [max(i.size) for i in inline] == [compare_grid.FIRST_LOOK_SIDE] * 4
    shown = [i.url for e in at.image for i in e.proto.imgs if i.alt.startswith("result")]
    assert len(shown) == 4 and not any(url.startswith("data:") for url in shown)
    rows = LogStore(data / "studio.db").query(status="ok")
    assert len(rows) == 4
    for thumbs in rows["thumb_paths"]:
        (thumb,) = thumbs
        assert max(Image.open(ImageStore(data).abs_path(thumb)).size) == THUMB_MAX_SIDE


def test_a_cell_whose_save_fails_after_its_picture_says_so(data, monkeypatch):
    held = Held(monkeypatch, fail="")  # every save fails, each after its picture was drawn
    wrap(
        monkeypatch,
        compare_grid,
        "fill_preview",
        lambda slot, cell, aspect, out: held.drawn(cell.row_id),
    )
    said: list[bool] = []  # whether each cell's completion drew its error in the live grid
    wrap(monkeypatch, compare_grid, "complete", lambda box, cell, later, out: said.append(out))
    at = AppTest.from_file(COMPARE, default_timeout=30)
    at.run()
    at.text_area(key="cmp_prompt").input("a red car").run()
    at.button(key="cmp_run").click().run()
    at.run()
    at.run()
    assert not at.exception
    assert held.in_order == [True] * 4
    assert said == [True] * 4
    assert "No space left on device" in rendered(at)
    rows = LogStore(data / "studio.db").query()
    assert set(rows["status"]) == {"error"} and set(rows["error_type"]) == {"storage"}


def generate(monkeypatch, held: Held, shown: Callable[[AppTest], bool]) -> AppTest:
    """Click Generate on the whole app, with saving held until the page drew the picture."""
    wrap(
        monkeypatch,
        gen_results,
        "_preview",
        lambda slot, entry, early, out: out and held.drawn(entry.job.id),
    )
    at = new_app()
    at.run()
    at.text_area(key="prompt").input("a lighthouse").run()
    button(at, "Generate").click()
    run_until(at, shown)
    assert not at.exception
    assert held.in_order == [True]
    return at


def test_generate_shows_the_picture_before_it_is_saved_and_the_card_after(data, monkeypatch):
    inline = inline_pictures(monkeypatch)
    at = generate(
        monkeypatch, Held(monkeypatch), lambda a: any(b.label == "View" for b in a.button)
    )
    assert "seed" in rendered(at) and len(LogStore(data / "studio.db").query(status="ok")) == 1
    # The first look was the thumbnail inside the page's message; the card is a media URL.
    assert len(inline) == 1 and max(inline[0].size) == THUMB_MAX_SIDE
    (card,) = [i.url for e in at.image for i in e.proto.imgs if i.alt.startswith("result")]
    assert card.startswith("/") and "media" in card


def test_a_generate_card_whose_save_fails_after_its_picture_says_so(data, monkeypatch):
    at = generate(monkeypatch, Held(monkeypatch, fail=""), lambda a: "not saved" in rendered(a))
    assert "No space left on device" in rendered(at)
    (status,) = LogStore(data / "studio.db").query()["status"]
    assert status == "error"
