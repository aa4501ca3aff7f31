"""The embedded stand-in server that speaks the provider's contract, for demos with no key.

- `server`: the HTTP server (`python -m components.offline --port 8787 --latency 1.5`).
- `validation`: checks bodies the way the provider does.
- `art`: draws real-size, deterministic preview images.
- `process`: runs the server as a child process of the app.

Imports: config, api, images
"""
