"""A stand-in for the provider, for timing: answers after a set latency with images it made
before the clock started (so drawing 4-MP pictures on 2 cores is not what gets measured), and
notes when it finished sending each image's bytes and how many requests were in flight.

Each answer names a new URL, and files are sent with no-store: no browser cache flatters the
anchor app, which shows the provider's URL directly.
"""

from __future__ import annotations

import io
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from PIL import ImageDraw

from components.api.contract import BALANCE_PATH, GENERATE_PATH
from components.offline.art import ImageSpec, render_preview

# Distinct pictures, so no two results in a bench run share a thumbnail (the browser is handed
# media by content hash: a repeat would look like an image already on the page).
PREMADE = 100


def _premade() -> list[bytes]:
    base = render_preview(ImageSpec("bench", 1000, "16:9", "jpeg"))
    out = []
    for i in range(PREMADE):
        image = base.copy()
        ImageDraw.Draw(image).rectangle((0, 0, 400, 400), fill=(i * 37 % 256, i * 11 % 256, i))
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=88)
        out.append(buffer.getvalue())
    return out


class StandIn:
    def __init__(self, latency: float = 0.0, rate_limit: int | None = None) -> None:
        self.latency = latency
        # Like the provider's: a request beyond this many in flight is answered 429.
        self.rate_limit = rate_limit
        self.refused = 0
        self.images = _premade()
        self.sent: dict[str, float] = {}  # file id -> wall-clock time its last byte was sent
        self.in_flight = 0
        self.most_in_flight = 0
        self._lock = threading.Lock()
        self._files: dict[str, bytes] = {}
        self._next = 0
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def over_limit(self) -> bool:
        with self._lock:
            over = self.rate_limit is not None and self.in_flight >= self.rate_limit
            self.refused += over
            return over

    def answer(self, body: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            time.sleep(self.latency)
            images = []
            for _ in range(int(body.get("num_images") or 1)):
                with self._lock:
                    file_id = uuid.uuid4().hex
                    self._files[file_id] = self.images[self._next % PREMADE]
                    self._next += 1
                images.append({"url": f"{self.url}/files/{file_id}.jpg", "width": 2752,
                               "height": 1536})  # fmt: skip
            seed = body.get("seed") or 1 + self._next
            return {"images": images, "seed": seed, "has_nsfw_concepts": [False] * len(images)}
        finally:
            with self._lock:
                self.in_flight -= 1


def _handler(standin: StandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in two writes: without TCP_NODELAY, Nagle holds the body
        # for the client's delayed ACK, 40 ms on every reused connection (measured), which
        # no real provider's server adds and which only a keep-alive client pays.
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _send(self, status: int, data: bytes, kind: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store")
            self.send_header("Access-Control-Allow-Origin", "*")
            self.end_headers()
            self.wfile.write(data)
            self.wfile.flush()

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
            if self.path != GENERATE_PATH:
                self._send(404, b"{}", "application/json")
                return
            if standin.over_limit():
                busy = {"message": "Too many requests in flight", "statusCode": 429}
                self._send(429, json.dumps(busy).encode(), "application/json")
                return
            self._send(200, json.dumps(standin.answer(body)).encode(), "application/json")

        def do_GET(self) -> None:
            if self.path.startswith(BALANCE_PATH):
                answer = {"current_balance": 1000.0, "currency": "USD"}
                self._send(200, json.dumps(answer).encode(), "application/json")
                return
            file_id = self.path.rsplit("/", 1)[-1].removesuffix(".jpg")
            data = standin._files.get(file_id)
            if data is None:
                self._send(404, b"", "text/plain")
                return
            self._send(200, data, "image/jpeg")
            standin.sent[file_id] = time.time()

    return Handler
