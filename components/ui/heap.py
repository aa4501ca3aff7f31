"""The server's Python heap: garbage collections that do not stop the studio for 70 ms."""

from __future__ import annotations

import gc
import sys
import threading

# Measured (bench/latency.py with traces in the app): the imports leave about 150,000 objects
# (Streamlit, pandas, SQLAlchemy, Pillow...), and a full collection walked them all in 70 ms
# with every thread stopped, about twice per click: runner threads waiting to log their row,
# the websocket holding back the picture. Moved to the permanent generation once they exist,
# the same collections take under 1 ms. New objects are collected as before.
_frozen_at = 0  # how many modules were loaded at the last freeze
_lock = threading.Lock()


def settle() -> None:
    """After a script run: if modules were imported since the last time (a page's first
    visit), collect once, then freeze what is alive. A few times per process, then never."""
    global _frozen_at
    if len(sys.modules) == _frozen_at:
        return
    with _lock:
        loaded = len(sys.modules)
        if loaded == _frozen_at:
            return
        gc.collect()  # garbage is freed first: frozen objects are never collected again
        gc.freeze()
        _frozen_at = loaded
