"""A picture sent inside the page's own message (a data: URL) instead of a media URL the
browser must fetch afterwards: for the first look at a fresh result only.

Measured with bench/latency.py (alternating rounds, 30 each, latency 0): click Generate ->
picture 0.237 s with the thumbnail as a media file, 0.176 s inline; from the provider's last
byte 0.195 -> 0.128 s. The media request waited for the server's event loop, which the script
run drawing the rest of the page kept busy. The redraw that follows shows the same thumbnail
from its file (a media URL the browser caches), so a data URL is sent about once per result
(again only when a click stopped the waiting run and the next one draws it before it lands).
The browser keeps showing the inline picture until the media one is decoded (no blank frame
was measured beyond what the redraw itself causes).
"""

from __future__ import annotations

import base64

from components.images.store import sniff_format


def data_url(picture: bytes) -> str:
    """A data: URL for a JPEG or PNG (a thumbnail is a JPEG)."""
    mime = "image/png" if sniff_format(picture) == "png" else "image/jpeg"
    return f"data:{mime};base64,{base64.b64encode(picture).decode('ascii')}"
