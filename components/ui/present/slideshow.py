"""The slideshow itself: one component that holds every slide in the browser, so moving
between slides costs no rerun and no round trip. Keys: Left/Right or Space to move, F for
full screen, C to show or hide captions, Esc leaves full screen (the browser's own)."""

from __future__ import annotations

import base64
from dataclasses import dataclass

import streamlit as st

from components.images.store import clean_copy
from components.ui import resources

MAX_SLIDES = 24
SLIDE_SIDE = 1920  # a 1080p projector's width: sharp there, and a few hundred KB per slide

_HTML = """
<div class="show" tabindex="0">
  <div class="stage"></div>
  <div class="caption"></div>
  <div class="count"></div>
  <div class="help">← → or Space · F full screen · C captions · Esc leaves full screen</div>
</div>
"""

_CSS = """
.show { position: relative; background: #0b0d12; color: #f4f5f8; height: 64vh;
  border-radius: 8px; overflow: hidden; outline: none; display: flex; flex-direction: column; }
.show:fullscreen { height: 100vh; border-radius: 0; }
.stage { flex: 1; display: flex; gap: 1vw; align-items: center; justify-content: center;
  min-height: 0; padding: 1vh 1vw; }
.stage img { max-width: 100%; max-height: 100%; object-fit: contain; min-width: 0; flex: 1 1 0; }
.caption { padding: 1vh 2vw 1.2vh; font: 500 clamp(15px, 1.5vw, 30px)/1.35 sans-serif;
  background: rgba(11, 13, 18, 0.92); }
.caption.off { display: none; }
.caption .line { white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.caption .facts { opacity: 0.75; font-size: 0.8em; }
.count { position: absolute; top: 1vh; right: 1.2vw; font: 600 clamp(13px, 1.1vw, 22px) sans-serif;
  background: rgba(0, 0, 0, 0.55); padding: 0.2em 0.6em; border-radius: 1em; }
.help { position: absolute; top: 1vh; left: 1.2vw; font: 12px sans-serif; opacity: 0.55; }
.show:fullscreen .help { display: none; }
@media (max-width: 640px) { .help { display: none; } }  /* a phone has no keys to list */
"""

_JS = """
export default function(component) {
  const { parentElement, data } = component;
  const root = parentElement.querySelector('.show');
  const stage = parentElement.querySelector('.stage');
  const caption = parentElement.querySelector('.caption');
  const count = parentElement.querySelector('.count');
  const slides = data.slides || [];
  let at = 0;
  let captions = true;
  const paint = () => {
    stage.replaceChildren();
    caption.replaceChildren();
    if (!slides.length) { count.textContent = 'no slides'; return; }
    const slide = slides[at];
    for (const picture of slide.pictures) {
      const img = document.createElement('img');
      img.src = picture.src;
      img.alt = picture.alt;  // set as a property: text, never markup
      stage.appendChild(img);
      const line = document.createElement('div');
      line.className = 'line';
      line.textContent = picture.caption;
      const facts = document.createElement('div');
      facts.className = 'line facts';
      facts.textContent = picture.facts;
      caption.append(line, facts);
    }
    caption.classList.toggle('off', !captions);
    count.textContent = `${at + 1} / ${slides.length}`;
  };
  const typing = (t) => t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName));
  const onKey = (event) => {
    if (typing(event.target) || event.ctrlKey || event.metaKey || event.altKey) return;
    const key = event.key;
    if (key === 'ArrowRight' || key === ' ' || key === 'PageDown') {
      at = Math.min(slides.length - 1, at + 1);
    } else if (key === 'ArrowLeft' || key === 'PageUp') {
      at = Math.max(0, at - 1);
    } else if (key === 'Home') { at = 0; }
    else if (key === 'End') { at = Math.max(0, slides.length - 1); }
    else if (key === 'c' || key === 'C') { captions = !captions; }
    else if (key === 'f' || key === 'F') {
      if (document.fullscreenElement) document.exitFullscreen();
      else root.requestFullscreen().catch(() => {});
    } else { return; }
    event.preventDefault();
    paint();
  };
  document.addEventListener('keydown', onKey, true);
  root.addEventListener('click', () => { at = (at + 1) % Math.max(1, slides.length); paint(); });
  paint();
  return () => document.removeEventListener('keydown', onKey, true);
}
"""

_show = st.components.v2.component("flux_studio_slideshow", html=_HTML, css=_CSS, js=_JS)


@dataclass(frozen=True)
class Picture:
    image_path: str
    caption: str  # the prompt, or what the image was
    facts: str  # seed, time, cost, score


@st.cache_data(max_entries=64, show_spinner=False)
def _data_url(rel_path: str) -> str | None:
    _, images = resources.all_stores()
    data = images.read_bytes(rel_path)
    if not data:
        return None
    try:
        jpeg = clean_copy(data, SLIDE_SIDE)
    except (OSError, ValueError):
        return None
    return "data:image/jpeg;base64," + base64.b64encode(jpeg).decode("ascii")


def slideshow(pictures: list[Picture], *, pairs: bool, key: str) -> int:
    """Show the pictures (one or two per slide); returns how many slides were left out."""
    shown = pictures[: MAX_SLIDES * (2 if pairs else 1)]
    entries = []
    for picture in shown:
        src = _data_url(picture.image_path)
        if src is not None:
            entries.append({"src": src, "alt": picture.caption, "caption": picture.caption,
                            "facts": picture.facts})  # fmt: skip
    step = 2 if pairs else 1
    slides = [{"pictures": entries[i : i + step]} for i in range(0, len(entries), step)]
    _show(data={"slides": slides}, key=key)
    return len(pictures) - len(shown)
