"""Start the real app (`streamlit run app.py`) on a free port with its own data folder."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str | None:
    """FLUX_STUDIO_CHROMIUM wins, so users on other systems can point at their own browser."""
    override = os.environ.get("FLUX_STUDIO_CHROMIUM")
    if override:
        return override if Path(override).exists() else None
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class App:
    url: str
    data_dir: Path
    proc: subprocess.Popen
    log_path: Path
    env: dict = field(default_factory=dict)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def start_app(
    tmp: Path, address: str = "127.0.0.1", script: str = "app.py", **env_overrides: str
) -> App:
    """`streamlit run app.py` on a free port; ready when /_stcore/health answers 200.
    `address` is where the server listens (the URL uses it too); `script` another app to run
    the same way (the bench's anchor app)."""
    port = free_port()
    data = tmp / "data"
    data.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k not in ("AIMLAPI_API_KEY", "AIMLAPI_BASE_URL")}
    env.update(
        FLUX_STUDIO_DATA_DIR=str(data),
        FLUX_STUDIO_OFFLINE_LATENCY="0",
        STREAMLIT_BROWSER_GATHER_USAGE_STATS="false",
        STREAMLIT_CLIENT_SHOW_ERROR_DETAILS="full",
        # The app under test must not reload its modules when a file changes during a run.
        STREAMLIT_SERVER_FILE_WATCHER_TYPE="none",
    )
    env.update(env_overrides)
    log_path = tmp / f"streamlit-{port}.log"
    cmd = [
        sys.executable, "-m", "streamlit", "run", script,
        "--server.headless", "true", "--server.port", str(port),
        "--server.address", address, "--browser.gatherUsageStats", "false",
    ]  # fmt: skip
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://{address}:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited early:\n{log_path.read_text()}")
        try:
            if requests.get(url + "/_stcore/health", timeout=1).status_code == 200:
                return App(url, data, proc, log_path, env)
        except requests.RequestException:
            pass
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"streamlit did not become healthy:\n{log_path.read_text()}")
