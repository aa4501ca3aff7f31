"""Team figures, SQLite and PostgreSQL side by side (a local server the bench starts): one
append with 10,000 rows present, the Session log page's query at 10,000 rows, and 10 presenters
running 8-cell grids at once on 2 replicas (two processes) against a stand-in provider with a
rate limit: the most requests in flight, 429s, and rows lost.

Run: python -m bench.team   (needs Debian's postgresql package)
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.engine import _row
from bench.standin import StandIn
from bench.table import Figure, median, print_table
from components.api.client import FluxClient
from components.api.contract import GenerationRequest
from components.images.store import ImageStore
from components.log.stats import STATS_COLUMNS
from components.log.store import LogStore
from components.runner import Job, Runner
from components.sharing.leases import SharedGate

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import pg  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
ROWS = 10_000
PRESENTERS, CELLS, LIMIT = 10, 8, 4


def store_figures(url: str) -> tuple[float, float]:
    """Median ms of one append with 10,000 rows present, and of the page's query."""
    store = LogStore(url)
    base = datetime.now(UTC)
    for i in range(ROWS):
        store.append(_row(i, base))
    appends = []
    for i in range(200):
        started = time.perf_counter()
        store.append(_row(ROWS + i, base))
        appends.append(time.perf_counter() - started)
    loads = []
    for _ in range(7):
        started = time.perf_counter()
        frame = store.query(limit=ROWS, columns=STATS_COLUMNS)
        loads.append(time.perf_counter() - started)
        assert len(frame) == ROWS
    store.close()
    return median(appends) * 1000, median(loads) * 1000


def replica(url: str, provider: str, folder: str, presenters: int) -> None:
    """One app process: `presenters` sessions, each sending an 8-cell grid at once, through
    the slots every process shares in the database. Prints what came back."""
    store, images = LogStore(url), ImageStore(folder)
    gate = SharedGate(store, LIMIT)
    runners = [
        Runner(FluxClient("sk-bench-key-0000", provider), store, images, backend="aimlapi",
               session_id=f"presenter-{i}", concurrency=CELLS, gate=gate,
               reuse_from_log=False)
        for i in range(presenters)
    ]  # fmt: skip
    started = time.perf_counter()
    runs = [
        r.submit([Job(GenerationRequest(f"grid cell {c}", seed=c + 1)) for c in range(CELLS)])
        for r in runners
    ]
    for run in runs:
        run.wait(600)
    outcomes = [o for run in runs for o in run.outcomes.values()]
    print(json.dumps({"ok": sum(o.ok for o in outcomes), "all": len(outcomes),
                      "wall": time.perf_counter() - started}))  # fmt: skip


def grids(server: pg.Server, tmp: Path) -> dict[str, float]:
    url = server.url(server.create())
    LogStore(url).close()
    standin = StandIn(latency=1.0, rate_limit=LIMIT)
    per = PRESENTERS // 2
    code = "import sys; from bench.team import replica; replica(*sys.argv[1:4], int(sys.argv[4]))"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, url, standin.url, str(tmp / "media"), str(per)],
            cwd=ROOT, stdout=subprocess.PIPE, text=True,
        )
        for _ in range(2)
    ]  # fmt: skip
    answers = [json.loads(p.communicate(timeout=900)[0].strip().splitlines()[-1]) for p in procs]
    standin.stop()
    with LogStore(url) as store:
        rows = store.query()
    return {
        "most": standin.most_in_flight,
        "refused": standin.refused,
        "ok": sum(a["ok"] for a in answers),
        "rows_ok": int((rows["status"] == "ok").sum()),
        "rows": len(rows),
        "wall": max(a["wall"] for a in answers),
    }


def main() -> None:
    bin_dir = pg.binaries()
    if bin_dir is None:
        sys.exit("No PostgreSQL server: apt-get install postgresql")
    server = pg.Server(bin_dir, durable=True)  # fsync on, as a team's server runs
    try:
        with tempfile.TemporaryDirectory() as tmp_name:
            tmp = Path(tmp_name)
            lite = store_figures(f"sqlite:///{tmp / 'bench.db'}")
            pgf = store_figures(server.url(server.create()))
            team = grids(server, tmp)
    finally:
        server.stop()
    asked = PRESENTERS * CELLS
    print_table(
        "Team: SQLite and PostgreSQL",
        "python -m bench.team",
        [
            Figure("append one row, 10,000 present: SQLite (median of 200)", lite[0], "ms", 0.5),
            Figure("append one row, 10,000 present: PostgreSQL", pgf[0], "ms", 2.0),
            Figure("Session log page's query, 10,000 rows: SQLite (median of 7)", lite[1], "ms",
                   200),
            Figure("Session log page's query, 10,000 rows: PostgreSQL", pgf[1], "ms", 200),
            Figure(f"{PRESENTERS} presenters x {CELLS}-cell grids on 2 replicas: most in flight",
                   team["most"], "requests", LIMIT,
                   f"limit {LIMIT}; 429s from the stand-in: {team['refused']:g}"),
            Figure("same: rows lost (asked - rows ok in the log)", asked - team["rows_ok"],
                   "rows", 0, f"{team['rows']:g} rows; all {asked} done in {team['wall']:.1f} s"),
        ],
    )  # fmt: skip


if __name__ == "__main__":
    main()
