"""Reports: a comparison, a vote or picked log rows as one self-contained HTML file to send
or print. Pictures are embedded as downscaled JPEGs with nothing else in them; every text is
escaped; nothing is fetched when it opens (no server, no network). Built from log rows only,
never from settings, so no key can reach a report.

Imports: images, log, compare
"""
