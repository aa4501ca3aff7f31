"""Log rows as plain Python values, and what a row turns into when it is reused.

A row read through pandas carries pd.NA, numpy scalars and Timestamps; the request model, JSON
and the hand-offs to other pages want None, int and str. No Streamlit here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from components.api.contract import GenerationRequest


def plain(value: Any) -> Any:
    """pd.NA/NaN/NaT to None, numpy scalars to Python; lists and text as they are."""
    if isinstance(value, (list, tuple, dict, str, bytes)):
        return value
    if isinstance(value, np.ndarray):
        return value.tolist()
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return value.item() if isinstance(value, np.generic) else value


def row_dict(row: Mapping[str, Any] | pd.Series) -> dict[str, Any]:
    items = row.items() if isinstance(row, (Mapping, pd.Series)) else dict(row).items()
    return {str(k): plain(v) for k, v in items}


def rerun_request(row: Mapping[str, Any]) -> GenerationRequest:
    """The request that reproduces a row: the seed the provider used (or, for a failed row,
    the one that was asked for), so running it again gives the same image."""
    params = row_dict(row)
    params["seed"] = params.get("seed") or params.get("seed_requested")
    return GenerationRequest.from_params(params)


def file_paths(rows: Iterable[Mapping[str, Any]]) -> list[str]:
    """Every image and thumbnail file the rows point at, each once."""
    found: dict[str, None] = {}
    for row in rows:
        for name in ("image_paths", "thumb_paths"):
            for path in row.get(name) or []:
                if isinstance(path, str) and path:
                    found[path] = None
    return list(found)


def usable_seed(row: Mapping[str, Any]) -> int | None:
    seed = plain(row.get("seed"))
    return int(seed) if isinstance(seed, (int, float)) and seed >= 1 else None
