"""Prompt experiments at scale: the Session log page rerun that draws a row's family (200
descendants) and the diff of two selected rows, in a 10,000-row log (AppTest).

Run: python -m bench.experiments
"""

from __future__ import annotations

import os
import tempfile
import uuid
from pathlib import Path

from streamlit.testing.v1 import AppTest

from bench.session_log import timed as _timed
from bench.table import Figure, median, print_table
from components.images.store import ImageStore
from components.log.sample import fill
from components.log.store import LogStore

ROOT = Path(__file__).resolve().parent.parent
ROWS = 10_000
DESCENDANTS = 200


def make_log(folder: Path) -> str:
    """10,000 rows, then one root with 200 descendants (a few levels deep), the newest rows."""
    log = LogStore(folder / "studio.db")
    fill(log, ImageStore(folder), rows=ROWS, with_images=100)
    # Ids made up front, the root written last: the newest row, first in the table.
    ids = [uuid.uuid4().hex for _ in range(DESCENDANTS + 1)]
    root = ids[0]
    for n in range(DESCENDANTS):
        parent = ids[n // 4]  # four children each: a tree about four levels deep
        prompt = f"a lighthouse at dusk, oil painting, take {n} with {'fog' if n % 2 else 'rain'}"
        log.append({"id": ids[n + 1], "prompt": prompt, "seed": 100 + n, "parent_id": parent,
                    "lineage": "refine" if n % 3 else "vary"})  # fmt: skip
    log.append({"id": root, "prompt": "a lighthouse at dusk, oil painting", "seed": 1})
    log.close()
    return root


def figures(folder: Path, root: str) -> dict[str, float]:
    os.environ["FLUX_STUDIO_DATA_DIR"] = str(folder)
    os.environ["FLUX_STUDIO_OFFLINE_LATENCY"] = "0"
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    at.switch_page("pages/session_log.py")
    _timed(at)
    table = next(d for d in at.dataframe if (d.key or "").startswith("log_table_"))
    assert table.key is not None
    position = 0  # the root is the newest row
    family = []
    for _ in range(7):  # the root selected: its detail with a 200-member family tree
        at.session_state[table.key] = {"selection": {"rows": [position]}}
        family.append(_timed(at))
        at.session_state[table.key] = {"selection": {"rows": []}}
        _timed(at)
    at.session_state[table.key] = {"selection": {"rows": [position]}}
    _timed(at)
    expander = next(e for e in at.expander if "Family" in e.label)
    assert f"{DESCENDANTS} descendant(s)" in expander.label, expander.label
    diff = []
    for n in range(7):  # two rows selected: the word diff and the parameter table
        at.session_state[table.key] = {"selection": {"rows": [n, n + 1]}}
        diff.append(_timed(at))
    return {"family": median(family), "family_max": max(family), "diff": median(diff)}


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp_name:
        folder = Path(tmp_name) / "data"
        root = make_log(folder)
        found = figures(folder, root)
    print_table(
        "Prompt experiments at 10,000 rows",
        "python -m bench.experiments",
        [
            Figure(
                f"rerun selecting a row with {DESCENDANTS} descendants: detail and family tree "
                "(median of 7)",
                found["family"],
                "s",
                0.3,
                f"slowest {found['family_max']:.2f} s",
            ),
            Figure(
                "rerun selecting two rows: word diff and parameter table (median of 7)",
                found["diff"],
                "s",
                0.3,
            ),
        ],
    )


if __name__ == "__main__":
    main()
