"""A throwaway PostgreSQL server for the tests, from Debian's `postgresql` package (installed by
scripts/test.sh when missing): initdb into a temporary folder, start it on a free port, and
hand out one fresh database per test. As root the server runs as the `postgres` user, which
is the only way it agrees to start."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import psycopg


def binaries() -> Path | None:
    """The newest installed server's bin folder (Debian keeps them off PATH)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"), key=_version)
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("postgres")
    return Path(on_path).parent if on_path else None


def _version(path: str) -> int:
    try:
        return int(Path(path).parts[-3])
    except ValueError:
        return 0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    def __init__(self, bin_dir: Path, *, durable: bool = False) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="studio-pg-"))
        self.port = _free_port()
        as_root = os.geteuid() == 0
        self._run_as = ["runuser", "-u", "postgres", "--"] if as_root else []
        if as_root:
            shutil.chown(self.folder, "postgres", "postgres")
        data = self.folder / "data"
        subprocess.run(
            [*self._run_as, str(bin_dir / "initdb"), "-D", str(data), "-A", "trust",
             "-U", "postgres", "--no-sync", "-E", "UTF8", "--locale", "C.UTF-8"],
            check=True, capture_output=True,
        )  # fmt: skip
        self._log = open(self.folder / "server.log", "wb")  # noqa: SIM115 (the server's life)
        # fsync off for tests: a test server's durability is not under test, and it is much
        # faster. The bench keeps PostgreSQL's defaults (`durable`), as a team's server would.
        fast = ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]
        self.proc = subprocess.Popen(
            [*self._run_as, str(bin_dir / "postgres"), "-D", str(data), "-p", str(self.port),
             "-k", str(self.folder), "-h", "127.0.0.1", "-c", "max_connections=300",
             *([] if durable else fast)],
            stdout=subprocess.DEVNULL, stderr=self._log,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while True:
            try:
                with psycopg.connect(self.dsn("postgres"), connect_timeout=1):
                    break
            except psycopg.OperationalError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    log = (self.folder / "server.log").read_text(errors="replace")
                    raise RuntimeError(f"PostgreSQL did not start:\n{log}") from None
                time.sleep(0.1)

    def dsn(self, database: str) -> str:
        return f"host=127.0.0.1 port={self.port} user=postgres dbname={database}"

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create(self, template: str | None = None) -> str:
        name = "t_" + uuid.uuid4().hex[:16]
        with psycopg.connect(self.dsn("postgres"), autocommit=True) as conn:
            suffix = f" TEMPLATE {template}" if template else ""
            conn.execute(f"CREATE DATABASE {name}{suffix}")
        return name

    def drop(self, name: str) -> None:
        with psycopg.connect(self.dsn("postgres"), autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self._log.close()
        shutil.rmtree(self.folder, ignore_errors=True)
