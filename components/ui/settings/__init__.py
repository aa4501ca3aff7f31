"""The Settings page's pieces: key, limits, connection check, data folder.

Imports: config, api, images, log, ui
"""
