"""Two small helps for a prompt box, in the page itself (no iframe):

- a live character count that turns red past the limit, without capping what the user can type
  or paste (`max_chars` would silently refuse a long paste, losing it);
- optionally, Ctrl/Cmd+Enter in the prompt presses a submit button with what was just typed.
  The text area first gets the blur that commits its value, then the button is clicked, so the
  click never races the commit (the button's own shortcut covers the rest of the page).
"""

from __future__ import annotations

import streamlit as st

_HTML = '<div class="count" aria-live="polite"></div>'
_CSS = """
.count { font-size: 0.8rem; color: var(--st-gray-color, #8b8f98); text-align: right;
         margin-top: -0.4rem; font-variant-numeric: tabular-nums; }
.count.over { color: var(--st-red-color, #ff6b6b); font-weight: 600; }
"""
# Only numbers, a widget key and the box's own (constant) label pass through `data`; the prompt
# is read from the page, never injected into it.
_JS = """
export default function(component) {
  const { parentElement, data } = component;
  const el = parentElement.querySelector('.count');
  const max = Number(data.max);
  const paint = (n) => {
    el.textContent = `${n.toLocaleString()} / ${max.toLocaleString()} characters`;
    el.classList.toggle('over', n > max);
  };
  // Listen at the document (capture) rather than on the text area: Streamlit may replace the
  // element on a rerun, and a listener on the old node would silently stop working.
  const isPrompt = (t) =>
    t instanceof HTMLTextAreaElement && t.getAttribute('aria-label') === data.label;
  // Count what the box holds now, not what the server last saw: typing may have begun before
  // this script was loaded.
  const current = [...document.querySelectorAll('textarea')].find(isPrompt);
  paint(current ? [...current.value].length : Number(data.count));
  const onInput = (event) => { if (isPrompt(event.target)) paint([...event.target.value].length); };
  const onKey = (event) => {
    const combo = event.key === 'Enter' && (event.ctrlKey || event.metaKey);
    if (!data.submit || !combo || !isPrompt(event.target)) return;
    event.preventDefault();
    event.stopImmediatePropagation();
    event.target.blur();
    // The blur starts a rerun that may redraw the button: look for it for up to 3 s.
    let tries = 0;
    const press = () => {
      const button = document.querySelector('.st-key-' + data.submit + ' button');
      if (button && !button.disabled) return button.click();
      if (++tries < 60) setTimeout(press, 50);
    };
    setTimeout(press, 60);
  };
  document.addEventListener('input', onInput, true);
  document.addEventListener('keydown', onKey, true);
  return () => {
    document.removeEventListener('input', onInput, true);
    document.removeEventListener('keydown', onKey, true);
  };
}
"""

_assist = st.components.v2.component("flux_studio_prompt_assist", html=_HTML, css=_CSS, js=_JS)


def prompt_assist(
    label: str, count: int, limit: int, *, key: str, submit_key: str | None = None
) -> None:
    """Count (and shortcut) for the text area labelled `label`; `submit_key` is the widget key
    of the button Ctrl/Cmd+Enter presses, or None for no shortcut."""
    _assist(
        data={"label": label, "count": int(count), "max": int(limit), "submit": submit_key or ""},
        key=key,
    )
