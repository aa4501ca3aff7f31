"""FLUX Ultra Studio engine and UI pieces."""
