"""The server's Python heap: garbage collections that do not stop the studio for 70 ms."""

from __future__ import annotations

import gc
import sys
import threading
import time

# Measured (bench/latency.py with traces in the app): the imports leave about 150,000 objects
# (Streamlit, pandas, SQLAlchemy, Pillow...), and a full collection walked them all in 70 ms
# with every thread stopped, about twice per click: runner threads waiting to log their row,
# the websocket holding back the picture. Frozen (moved out of the collector's way), the same
# collections take under 1 ms.
#
# A frozen object in a reference cycle is never freed, and a freeze also catches what sessions
# hold at that moment: each settle thaws everything first, collects it all, then freezes again.
# So memory a closed session left in a cycle is collected at the first script run that ends
# normally after REFREEZE_S (runs that end in st.rerun() skip it), in one pass of 70-150 ms at
# the end of that run, not twice per click.
REFREEZE_S = 600.0
_frozen_at = (0, float("-inf"))  # (modules loaded, monotonic time) at the last freeze
_lock = threading.Lock()


def _due(now: float) -> bool:
    modules, when = _frozen_at
    return len(sys.modules) != modules or now - when >= REFREEZE_S


def settle() -> None:
    """After a script run: when modules were imported since the last time (a page's first
    visit) or REFREEZE_S has passed, thaw, collect everything once, and freeze what is alive."""
    global _frozen_at
    if not _due(time.monotonic()):
        return
    if not _lock.acquire(blocking=False):
        return  # another session is settling now: this one need not wait for it
    try:
        if _due(time.monotonic()):
            gc.unfreeze()
            gc.collect()
            gc.freeze()
            _frozen_at = (len(sys.modules), time.monotonic())
    finally:
        _lock.release()
