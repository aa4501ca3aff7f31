"""Shared fixtures: real image bytes, a threaded fault server, a recording sleep."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
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


@pytest.fixture
def fault_server():
    """A threaded local server so slow handlers do not block the client's retries."""
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    yield server
    server.clear()
    server.stop()


class SleepRecorder:
    def __init__(self):
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


@pytest.fixture
def sleeps() -> SleepRecorder:
    return SleepRecorder()
