"""A live character count under the prompt, without capping what the user can type or paste.

`max_chars` would refuse a paste past the limit (losing it); this counts as the user types and
turns red past the limit, and validation explains it before anything is sent.
"""

from __future__ import annotations

import streamlit as st

_HTML = '<div class="count" aria-live="polite"></div>'
_CSS = """
.count { font-size: 0.8rem; color: var(--st-gray-color, #8b8f98); text-align: right;
         margin-top: -0.4rem; font-variant-numeric: tabular-nums; }
.count.over { color: var(--st-red-color, #ff6b6b); font-weight: 600; }
"""
# Only numbers pass through `data`; the prompt itself is read from the page, never injected.
_JS = """
export default function(component) {
  const { parentElement, data } = component;
  const el = parentElement.querySelector('.count');
  const max = Number(data.max);
  const paint = (n) => {
    el.textContent = `${n.toLocaleString()} / ${max.toLocaleString()} characters`;
    el.classList.toggle('over', n > max);
  };
  paint(Number(data.count));
  const area = document.querySelector('textarea[aria-label="Prompt"]');
  if (!area) return;
  const onInput = () => paint([...area.value].length);
  area.addEventListener('input', onInput);
  return () => area.removeEventListener('input', onInput);
}
"""

_counter = st.components.v2.component("flux_studio_prompt_counter", html=_HTML, css=_CSS, js=_JS)


def prompt_counter(count: int, limit: int) -> None:
    _counter(data={"count": int(count), "max": int(limit)}, key="gen_prompt_counter")
