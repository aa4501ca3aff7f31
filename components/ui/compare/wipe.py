"""Two images stacked, a handle wipes between them: built on st.components.v2, no iframe.

The HTML, CSS and JS below are constants. The images arrive only through `data=` as
`data:image/jpeg` URLs and are set as `src` attributes by the script; labels stay in
Streamlit captions (escaped), so no user text ever reaches the component's markup.
"""

from __future__ import annotations

import base64

import streamlit as st

from components.compare.sheet import SheetCell
from components.images import letterbox
from components.ui import resources
from components.ui.safe import md_escape

LONG_SIDE = 1024

HTML = """
<div class="wipe" tabindex="0" aria-label="Image comparison: drag or use arrow keys">
  <img class="under" alt="" draggable="false">
  <img class="over" alt="" draggable="false">
  <div class="handle"><span></span></div>
  <input class="range" type="range" min="0" max="100" step="0.5" value="50"
         aria-label="Wipe position">
</div>
"""

CSS = """
.wipe { position: relative; width: 100%; overflow: hidden; border-radius: 0.6rem;
        background: #1A1D24; user-select: none; touch-action: none; cursor: ew-resize; }
.wipe img { position: absolute; inset: 0; width: 100%; height: 100%; object-fit: contain;
            pointer-events: none; }
.wipe .handle { position: absolute; top: 0; bottom: 0; width: 2px; margin-left: -1px;
                background: #F2A93B; pointer-events: none; }
.wipe .handle span { position: absolute; top: 50%; left: -11px; width: 24px; height: 24px;
                     margin-top: -12px; border-radius: 50%; background: #F2A93B;
                     box-shadow: 0 0 0 3px rgba(0, 0, 0, 0.35); }
.wipe .range { position: absolute; left: 0; right: 0; bottom: 6px; width: 100%;
               opacity: 0.0; }
.wipe:focus-visible { outline: 2px solid #F2A93B; }
"""

JS = """
export default function (component) {
  const { data, parentElement } = component;
  const root = parentElement.querySelector(".wipe");
  if (!root || !data) return;
  const under = root.querySelector(".under");
  const over = root.querySelector(".over");
  const handle = root.querySelector(".handle");
  const range = root.querySelector(".range");
  const safe = (url) => (typeof url === "string" && url.startsWith("data:image/") ? url : "");
  under.src = safe(data.right);
  over.src = safe(data.left);
  root.style.aspectRatio = String(Number(data.aspect) || 1.5);
  const set = (pct) => {
    const p = Math.max(0, Math.min(100, pct));
    over.style.clipPath = `inset(0 ${100 - p}% 0 0)`;
    handle.style.left = `${p}%`;
    range.value = String(p);
    root.dataset.position = String(Math.round(p));
  };
  const fromPointer = (event) => {
    const box = root.getBoundingClientRect();
    set(((event.clientX - box.left) / box.width) * 100);
  };
  let dragging = false;
  root.onpointerdown = (event) => {
    dragging = true;
    root.setPointerCapture(event.pointerId);
    fromPointer(event);
  };
  root.onpointermove = (event) => { if (dragging) fromPointer(event); };
  root.onpointerup = () => { dragging = false; };
  root.onkeydown = (event) => {
    if (event.key === "ArrowLeft") set(Number(range.value) - 5);
    if (event.key === "ArrowRight") set(Number(range.value) + 5);
  };
  range.oninput = () => set(Number(range.value));
  set(Number(range.value) || 50);
}
"""

_WIPE = st.components.v2.component("flux_studio_compare_wipe", html=HTML, css=CSS, js=JS)


@st.cache_data(max_entries=32, show_spinner=False)
def _data_url(image_path: str | None, aspect: float) -> str | None:
    """A larger letterboxed copy than the grid's (worth zooming into), as a data URL."""
    _, images = resources.stores()
    data = images.read_bytes(image_path) if image_path else None
    boxed = letterbox.letterboxed_jpeg(data, aspect, LONG_SIDE)
    return "data:image/jpeg;base64," + base64.b64encode(boxed).decode() if boxed else None


def wipe(left: SheetCell, right: SheetCell, aspect: float) -> None:
    left_url = _data_url(left.image_path, round(aspect, 4))
    right_url = _data_url(right.image_path, round(aspect, 4))
    if not left_url or not right_url:
        st.caption("The overlay needs both original files in the data folder.")
        return
    st.caption(
        f":material/arrow_back: {md_escape(left.label)} · drag the handle · "
        f"{md_escape(right.label)} :material/arrow_forward:"
    )
    _WIPE(data={"left": left_url, "right": right_url, "aspect": aspect}, key="cmp_wipe_view")
