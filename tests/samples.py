"""Real parts for tests: small JPEG/PNG files, a decompression-bomb header, local servers."""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Iterator

from PIL import Image
from pytest_httpserver import HTTPServer


def image_bytes(width: int = 64, height: int = 36, fmt: str = "JPEG", color=(200, 80, 40)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buf, fmt)
    return buf.getvalue()


def png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims a huge size: the decompression-bomb shape."""
    data = bytearray(image_bytes(8, 8, "PNG"))
    ihdr = bytearray(data[16:29])
    ihdr[0:8] = struct.pack(">II", width, height)
    data[16:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + bytes(ihdr)) & 0xFFFFFFFF)
    return bytes(data)


def threaded_server() -> Iterator[HTTPServer]:
    """A threaded local server so slow handlers do not block the client's retries."""
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    yield server
    server.clear()
    server.stop()


class Clock:
    """A clock a test moves by hand: `clock.now += 30`."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now
