"""Run the offline backend in its own process, beside the app rather than inside it.

Drawing preview images is CPU work; inside the Streamlit process it would compete with the page
scripts for the interpreter lock, so a demo's UI would stutter while eight 4-megapixel previews
are drawn. As a child process it only shares the CPU. The child ends with its parent: it exits
when the pipe to its stdin closes, however the parent ended.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

from components.config import DEFAULT_OFFLINE_LATENCY_S
from components.offline.server import OfflineBackend

ROOT = Path(__file__).resolve().parents[2]
READY = "ready "


class OfflineBackendProcess:
    """The same server as OfflineBackend, started with `python -m components.offline.process`."""

    def __init__(self, latency: float = DEFAULT_OFFLINE_LATENCY_S):
        self.latency = float(latency)
        self._proc: subprocess.Popen[str] | None = None
        self._url: str | None = None

    def start(self, timeout: float = 30.0) -> str:
        if self._url:
            return self._url
        self._proc = proc = subprocess.Popen(
            [sys.executable, "-m", "components.offline.process", f"{self.latency:g}"],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        stdout = proc.stdout
        assert stdout is not None  # stdout=PIPE
        line: list[str] = []
        reader = threading.Thread(target=lambda: line.append(stdout.readline()))
        reader.start()
        reader.join(timeout)
        if not line or not line[0].startswith(READY):
            self.stop()
            raise RuntimeError("the offline backend process did not start")
        self._url = line[0][len(READY) :].strip()
        return self._url

    @property
    def base_url(self) -> str:
        if not self._url:
            raise RuntimeError("the offline backend process is not running")
        return self._url

    def stop(self) -> None:
        if self._proc and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
        self._url = None


def _serve(latency: float) -> int:
    backend = OfflineBackend(latency=latency)
    print(READY + backend.start(), flush=True)
    sys.stdin.read()  # returns at EOF: the parent is gone (or stopped us)
    backend.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(_serve(float(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_OFFLINE_LATENCY_S))
