"""Present: a full-screen slideshow of a comparison, the starred images, log rows or a vote."""

import streamlit as st

from components.ui.frame_guard import require_frame
from components.ui.present import slideshow, sources

require_frame()
sources.take_handoff()

st.title("Present", anchor=False)
pictures, pairs = sources.picker()
if pictures:
    left_out = slideshow.slideshow(pictures, pairs=pairs, key="present_show")
    note = f" The first {slideshow.MAX_SLIDES} slides are shown." if left_out else ""
    st.caption(
        f"{len(pictures)} image(s). Click the slides, then ← → or Space to move, F for full "
        f"screen, C to hide captions.{note}"
    )
