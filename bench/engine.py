"""Engine figures: concurrency, client overhead per image, log append and load.

Run: python -m bench.engine
"""

from __future__ import annotations

import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.table import Figure, median, print_table
from components.api.client import FluxClient
from components.api.contract import GenerationRequest
from components.images.store import ImageStore
from components.log.stats import STATS_COLUMNS
from components.log.store import LogStore
from components.offline.server import OfflineBackend
from components.runner import Job, Runner


def _runner(base_url: str, folder: Path, concurrency: int) -> Runner:
    client = FluxClient(base_url=base_url)
    stores = LogStore(folder / "studio.db"), ImageStore(folder)
    # Every job is sent: a repeated seeded request would be answered from the log.
    return Runner(client, *stores, backend="offline", session_id="bench", concurrency=concurrency,
                  reuse_from_log=False)  # fmt: skip


def concurrency_wall(folder: Path) -> float:
    with OfflineBackend(latency=1.0) as backend:
        runner = _runner(backend.base_url, folder, concurrency=8)
        runner.run([Job(GenerationRequest("warm up", seed=1))], timeout=30)
        jobs = [Job(GenerationRequest(f"bench {i}", seed=i + 1)) for i in range(8)]
        started = time.perf_counter()
        outcomes = runner.run(jobs, timeout=60)
        wall = time.perf_counter() - started
        assert len(outcomes) == 8 and all(o.ok for o in outcomes), outcomes
        return wall


def client_overhead(folder: Path, rounds: int = 15) -> float:
    """Build, send, parse, download, decode, thumbnail, save, log: one 2752x1536 JPEG.

    The offline backend renders deterministically and caches what it rendered, so after the
    first round the server's own drawing is out of the figure: what is left is the client.
    """
    with OfflineBackend(latency=0) as backend:
        runner = _runner(backend.base_url, folder, concurrency=1)
        request = GenerationRequest("client overhead", seed=42, aspect_ratio="16:9")
        runner.run([Job(request)], timeout=30)
        times = []
        for _ in range(rounds):
            started = time.perf_counter()
            (outcome,) = runner.run([Job(request)], timeout=30)
            times.append(time.perf_counter() - started)
            assert outcome.ok and outcome.stored
        return median(times) * 1000


def _row(i: int, base: datetime) -> dict:
    return {
        "id": uuid.uuid4().hex,
        "created_at": (base + timedelta(seconds=i)).isoformat(),
        "session_id": "bench",
        "backend": "offline",
        "model": "flux-pro/v1.1-ultra",
        "prompt": f"a benchmark prompt number {i} with some words",
        "seed": i + 1,
        "aspect_ratio": "16:9",
        "raw": False,
        "status": "ok",
        "request_s": 1.0,
        "total_s": 1.2,
        "image_paths": [f"images/2026-11-26/{i}_0.jpg"],
    }


def log_figures(folder: Path) -> tuple[float, float, float]:
    store = LogStore(folder / "bench-log.db")
    base = datetime.now(UTC)
    for i in range(10_000):
        store.append(_row(i, base))
    appends = []
    for i in range(200):
        started = time.perf_counter()
        store.append(_row(10_000 + i, base))
        appends.append(time.perf_counter() - started)
    loads, page_loads = [], []
    for _ in range(5):
        started = time.perf_counter()
        df = store.query(limit=10_000)
        loads.append(time.perf_counter() - started)
        assert len(df) == 10_000
        started = time.perf_counter()
        df = store.query(limit=10_000, columns=STATS_COLUMNS)
        page_loads.append(time.perf_counter() - started)
        assert len(df) == 10_000
    store.close()
    return median(appends) * 1000, median(page_loads) * 1000, median(loads) * 1000


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        wall = concurrency_wall(folder)
        overhead = client_overhead(folder)
        append_ms, page_ms, load_ms = log_figures(folder)
    print_table(
        "Engine",
        "python -m bench.engine",
        [
            Figure(
                "8 requests at concurrency 8, backend latency 1.0 s (wall)",
                wall,
                "s",
                1.2,
                "one after another would take 8 s",
            ),
            Figure(
                "client overhead per 2752x1536 JPEG, latency 0 (median of 15)",
                overhead,
                "ms",
                100,
                "build, send, parse, download, decode, thumbnail, save, log",
            ),
            Figure("append one log row with 10,000 present (median of 200)", append_ms, "ms", 0.5),
            Figure(
                "load 10,000 rows, the Session log page's columns (median of 5)",
                page_ms,
                "ms",
                100,
                "the columns its figures and charts read",
            ),
            Figure("load 10,000 rows, every column, typed (median of 5)", load_ms, "ms", 200),
        ],
    )


if __name__ == "__main__":
    main()
