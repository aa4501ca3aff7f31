"""Session log: every request with its seed and timings (coming next)."""

import streamlit as st

st.title("Session log", anchor=False)
st.info("The full log view is coming next.", icon=":material/construction:")
