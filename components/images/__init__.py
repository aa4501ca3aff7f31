"""Image files and pixels: originals and thumbnails on disk with their parameters embedded,
letterboxing to one cell size, and text drawn into pictures.

Imports: config, api
"""
