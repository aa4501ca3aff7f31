"""Compare: several runs side by side (coming next)."""

import streamlit as st

st.title("Compare", anchor=False)
st.info("Side-by-side comparisons are coming next.", icon=":material/construction:")
