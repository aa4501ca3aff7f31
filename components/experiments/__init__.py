"""Prompt experiments: what changed between requests (word-level prompt diffs and the
parameters that differ), never paying twice for the same request (a seeded request identical
to an earlier success is answered from the stored originals), and presets that reproduce.

Imports: api, log
"""
