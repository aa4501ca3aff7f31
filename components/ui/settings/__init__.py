"""The Settings page's pieces: key, limits, connection check, data folder."""
