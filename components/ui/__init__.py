"""Streamlit pieces shared by the pages: state, form, cards, grids, badges."""
