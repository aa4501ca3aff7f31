"""A stand-in for the provider that the browser tests of streaming and replicas share: each
request waits as long as `delay(seed)` says, and the requests in flight are counted (now, the
most at once, and how many were sent)."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from samples import image_bytes


def start(delay: Callable[[int], float], balance: float = 12.5) -> HTTPServer:
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    flight = {"now": 0, "most": 0, "sent": 0}
    lock = threading.Lock()

    def generate(request: Request) -> Response:
        seed = int(json.loads(request.data).get("seed") or 5)
        with lock:
            flight["now"] += 1
            flight["sent"] += 1
            flight["most"] = max(flight["most"], flight["now"])
        try:
            time.sleep(delay(seed))
        finally:
            with lock:
                flight["now"] -= 1
        answer = {
            "images": [{"url": server.url_for(f"/img/{seed}.jpg"), "width": 320, "height": 180}],
            "seed": seed,
            "has_nsfw_concepts": [False],
        }
        return Response(json.dumps(answer), 200, content_type="application/json")

    def image(request: Request) -> Response:
        seed = int(request.path.rsplit("/", 1)[1].split(".")[0])
        colour = (seed * 37 % 256, seed * 11 % 256, 120)
        return Response(image_bytes(320, 180, color=colour), 200, content_type="image/jpeg")

    server.expect_request("/v1/images/generations", method="POST").respond_with_handler(generate)
    server.expect_request(re.compile(r"/img/\d+\.jpg")).respond_with_handler(image)
    server.expect_request("/v2/billing").respond_with_json({"current_balance": balance})
    server.flight = flight  # type: ignore[attr-defined]
    return server


def stop(server: HTTPServer) -> None:
    server.clear()
    server.stop()
