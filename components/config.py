"""Where the app keeps its files: one data folder, overridable for tests and deployments."""

from __future__ import annotations

import os
from pathlib import Path

APP_ROOT = Path(__file__).resolve().parent.parent


def data_dir() -> Path:
    """The data folder: FLUX_STUDIO_DATA_DIR, else data/ beside app.py (created on demand)."""
    raw = os.environ.get("FLUX_STUDIO_DATA_DIR", "").strip()
    path = Path(raw).expanduser() if raw else APP_ROOT / "data"
    path.mkdir(parents=True, exist_ok=True)
    return path


def db_path(folder: Path | None = None) -> Path:
    return (folder or data_dir()) / "studio.db"
