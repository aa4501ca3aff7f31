"""Two processes writing to one database at once (two replicas), threads in each, on SQLite
and PostgreSQL: every row lands, and the change counter counts them all."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from components.log.store import LogStore

ROOT = Path(__file__).resolve().parents[2]
THREADS, ROWS = 4, 40

WRITER = """
import sys, threading
from components.log.store import LogStore
url, who = sys.argv[1], sys.argv[2]
store = LogStore(url)
go = threading.Barrier({threads})
def write(t):
    go.wait()
    for i in range({rows}):
        store.append({{"prompt": f"{{who}} t{{t}} #{{i}}", "session_id": who, "status": "ok"}})
threads = [threading.Thread(target=write, args=(t,)) for t in range({threads})]
for t in threads: t.start()
for t in threads: t.join()
print("done")
"""


def test_concurrent_appends_from_two_processes_lose_nothing(db_url: str) -> None:
    LogStore(db_url).close()  # made and migrated first, as a running studio's database is
    script = WRITER.format(threads=THREADS, rows=ROWS)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, db_url, name],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("replica-a", "replica-b")
    ]
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0 and out.strip() == "done", err
    with LogStore(db_url) as store:
        rows = store.query()
        assert len(rows) == 2 * THREADS * ROWS
        assert rows["id"].is_unique
        assert rows["prompt"].nunique() == 2 * THREADS * ROWS
        assert set(rows["session_id"]) == {"replica-a", "replica-b"}
