"""The session log: one row per request that left the app, read back as pandas frames.

- `store`: the facade (`LogStore`); `schema`, `codec`, `filter`, `formats`: its parts.
- `stats`, `charts`: figures and Altair charts for the Session log page.
- `archive`: export and import with images; `rows`: a row back to a request.
- `sample`: a demo log for benchmarks and screenshots.

Imports: config, api, images
"""
