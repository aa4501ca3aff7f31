"""The embedded default backend: a local HTTP server that speaks the provider's image contract.

Why it exists: with no API key the app still runs its real client code path end to end (HTTP,
JSON, status codes, error bodies, image downloads, billing) against this server on 127.0.0.1
instead of the provider. Answers are deterministic and free, so demos, tests and benchmarks
exercise exactly the code that production uses. Stdlib + Pillow only; never imports streamlit.

Standalone: ``python -m components.offline --port 8787 --latency 1.5``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import random
import socket
import socketserver
import sys
import threading
import time
import uuid
from collections import OrderedDict
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from components.api.contract import (
    BALANCE_PATHS,
    CLIENT_REQUEST_ID_ECHO_HEADER,
    CLIENT_REQUEST_ID_HEADER,
    CREDITS_PER_USD,
    CREDITS_USED_HEADER,
    GENERATE_PATH,
    INFERENCE_ID_HEADER,
    LATENCY_HEADER,
    PRICE_USD_PER_IMAGE,
    RANDOM_SEED_MAX,
    SEED_MIN,
    USD_SPENT_HEADER,
    valid_client_request_id,
)
from components.config import DEFAULT_OFFLINE_LATENCY_S
from components.offline.art import ImageSpec, render_image, render_preview
from components.offline.validation import BodyValidationError, validate_generation_body

__all__ = [
    "BodyValidationError",
    "ImageSpec",
    "OfflineBackend",
    "render_image",
    "render_preview",
    "start_offline_backend",
    "validate_generation_body",
]

FILES_PREFIX = "/files/"
# Cap on the per-request latency override (LATENCY_HEADER), which lets each browser session pick
# its own latency without touching the shared server.
LATENCY_MAX_S = 30.0
# Generated URLs stay valid for this many images (like a CDN, they are not promised forever).
MAX_FILE_TOKENS = 512
# Rendering is deterministic, so a small cache of encoded bytes absorbs repeated downloads.
RENDER_CACHE_SIZE = 32
MAX_BODY_BYTES = 1 << 20
FILE_EXTENSIONS = {"jpeg": "jpg", "png": "png"}


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class _Server(ThreadingHTTPServer):
    """Threaded server that remembers open connections so ``stop`` can close keep-alives."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], backend: OfflineBackend):
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.backend = backend
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind calls socket.getfqdn, which can stall on a bad resolver.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = str(self.server_address[0]), self.server_address[1]

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        with self._connections_lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Quiet: a client hanging up is normal; anything else is one line on stderr."""
        exc = sys.exc_info()[1]
        if isinstance(exc, ConnectionError | TimeoutError):
            return
        print(f"offline backend: {type(exc).__name__}: {exc}", file=sys.stderr)


class _Handler(BaseHTTPRequestHandler):
    """One request: routes to the backend and always answers with an ``x-request-id``.

    Answers on the generation path also carry the provider's tracing headers: ``x-inference-id``
    always, ``x-client-request-id`` echoing a valid ``X-Client-Request-Id``.
    """

    protocol_version = "HTTP/1.1"
    server_version = "FluxStudioOffline/1.0"
    timeout = 60  # idle keep-alive connections are closed after this
    # Headers and body go out in two writes: without TCP_NODELAY, Nagle holds the body for the
    # client's delayed ACK, 40 ms per answer on a reused connection (measured: bench.engine).
    disable_nagle_algorithm = True
    server: _Server
    # Headers every answer to the current request carries (set per request by _route).
    _trace: dict[str, str] = {}

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: the app's own log records what matters."""

    def parse_request(self) -> bool:
        self._trace = {}  # a keep-alive connection's next request starts with no trace headers
        return super().parse_request()

    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str,
        request_id: str,
        extra: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("x-request-id", request_id)
        for name, value in {**self._trace, **(extra or {})}.items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _send_json(
        self,
        status: int,
        payload: dict[str, Any],
        request_id: str,
        extra: dict[str, str] | None = None,
    ) -> None:
        body = json.dumps(payload, ensure_ascii=False).encode()
        self._send(status, body, "application/json; charset=utf-8", request_id, extra)

    def _send_error(
        self, status: int, message: str, request_id: str, extra: dict[str, str] | None = None
    ) -> None:
        """The provider's error body: message, path, requestId, statusCode, timestamp."""
        payload = {
            "message": message,
            "path": urlsplit(getattr(self, "path", "") or "").path,
            "requestId": request_id,
            "statusCode": status,
            "timestamp": _now_iso(),
        }
        body = json.dumps(payload, ensure_ascii=False).encode()
        self._send(status, body, "application/json; charset=utf-8", request_id, extra)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Errors raised by the stdlib parser (bad request line, unknown method) in our shape."""
        self.close_connection = True
        if code == 501 and getattr(self, "path", None):
            # A method we have no handler for (TRACE, CONNECT...): 405 on a path we serve.
            self._route(self.command)
            return
        text = message or self.responses.get(code, ("Error",))[0]
        self._send_error(code, text, str(uuid.uuid4()))

    def _read_body(self) -> bytes | None:
        """The request body, or None (connection then closes) when it cannot be read safely."""
        if self.headers.get("Transfer-Encoding", "").lower() not in ("", "identity"):
            self.close_connection = True
            return None
        try:
            length = int(self.headers.get("Content-Length", "0") or 0)
        except ValueError:
            self.close_connection = True
            return None
        if length < 0 or length > MAX_BODY_BYTES:
            self.close_connection = True
            return None
        return self.rfile.read(length) if length else b""

    def _route(self, method: str) -> None:
        request_id = str(uuid.uuid4())
        path = urlsplit(self.path).path
        self._trace = generation_trace_headers(self.headers) if path == GENERATE_PATH else {}
        body = self._read_body()  # always drained, or the next keep-alive request breaks
        allow = allowed_methods(path)
        if allow and method not in allow:
            self._send_error(
                405, f"Cannot {method} {path}", request_id, {"Allow": ", ".join(allow)}
            )
            return
        try:
            backend = self.server.backend
            if method == "POST" and path == GENERATE_PATH:
                if body is None:
                    self._send_error(
                        400,
                        "Body validation error: Expected JSON body of at most 1 MiB "
                        "with a Content-Length, Received something else",
                        request_id,
                    )
                    return
                backend._handle_generation(self, body, request_id)
            elif method in ("GET", "HEAD") and path in BALANCE_PATHS:
                self._send_json(200, backend.balance_payload(), request_id)
            elif method in ("GET", "HEAD") and path.startswith(FILES_PREFIX):
                backend._handle_file(self, path[len(FILES_PREFIX) :], request_id)
            else:
                self._send_error(404, f"Cannot {method} {path}", request_id)
        except (ConnectionError, TimeoutError):
            raise
        except Exception as exc:  # a bug here must still answer in the contract's shape
            self.close_connection = True
            self._send_error(500, f"Offline backend error: {type(exc).__name__}", request_id)

    def do_GET(self) -> None:
        self._route("GET")

    def do_HEAD(self) -> None:
        self._route("HEAD")

    def do_POST(self) -> None:
        self._route("POST")

    def do_PUT(self) -> None:
        self._route("PUT")

    def do_PATCH(self) -> None:
        self._route("PATCH")

    def do_DELETE(self) -> None:
        self._route("DELETE")

    def do_OPTIONS(self) -> None:
        self._route("OPTIONS")


def generation_trace_headers(request_headers: Any) -> dict[str, str]:
    """What the provider sends on every answer of an inference endpoint: a fresh
    ``x-inference-id``, and the caller's ``X-Client-Request-Id`` echoed when it is valid (an
    invalid one is dropped silently, as the provider does)."""
    headers = {INFERENCE_ID_HEADER: f"inf-{uuid.uuid4().hex}"}
    client_id = request_headers.get(CLIENT_REQUEST_ID_HEADER)
    if valid_client_request_id(client_id):
        headers[CLIENT_REQUEST_ID_ECHO_HEADER] = client_id
    return headers


def cost_headers(images: int) -> dict[str, str]:
    """The provider's cost headers for a successful JSON answer with this many images."""
    usd = images * PRICE_USD_PER_IMAGE
    return {
        CREDITS_USED_HEADER: str(round(usd * CREDITS_PER_USD)),
        USD_SPENT_HEADER: f"{round(usd, 6):g}",
    }


def allowed_methods(path: str) -> tuple[str, ...]:
    """The methods a path is served with; empty for a path that does not exist (404)."""
    if path == GENERATE_PATH:
        return ("POST",)
    if path in BALANCE_PATHS or (path.startswith(FILES_PREFIX) and len(path) > len(FILES_PREFIX)):
        return ("GET", "HEAD")
    return ()


def parse_latency(value: str | None, default: float) -> float:
    """Seconds from the latency header, clamped to 0..30; ``default`` when absent or bad."""
    if value is None or not value.strip():
        return default
    try:
        seconds = float(value)
    except ValueError:
        return default
    if not math.isfinite(seconds):
        return default
    return min(max(seconds, 0.0), LATENCY_MAX_S)


class OfflineBackend:
    """The local stand-in for the provider: same paths, bodies, errors; instant and free.

    One instance is shared by every browser session, so nothing here is per-user state except
    the demo balance; per-session latency comes with each request as a header.
    """

    def __init__(
        self,
        latency: float = DEFAULT_OFFLINE_LATENCY_S,
        host: str = "127.0.0.1",
        port: int = 0,
        balance_usd: float = 25.0,
    ):
        self.latency = float(latency)
        self.host = host
        self.port = port
        self._balance = float(balance_usd)
        self._lock = threading.Lock()
        self._files: OrderedDict[str, ImageSpec] = OrderedDict()
        self._cache: OrderedDict[ImageSpec, bytes] = OrderedDict()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._base_url: str | None = None

    def start(self) -> str:
        """Bind (port 0 picks a free one), serve in a daemon thread; the base URL."""
        if self._server is not None and self._base_url is not None:
            return self._base_url
        self._stopping.clear()
        self._server = _Server((self.host, self.port), self)
        self.port = self._server.server_address[1]
        shown = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}.get(self.host, self.host)
        shown = f"[{shown}]" if ":" in shown else shown
        self._base_url = f"http://{shown}:{self.port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.2},
            name=f"offline-backend-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self._base_url

    def stop(self) -> None:
        """Stop serving, close open connections and wake any sleeping generation."""
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        server.close_connections()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._thread = None
        self._base_url = None

    @property
    def base_url(self) -> str:
        if self._base_url is None:
            raise RuntimeError("OfflineBackend is not running; call start() first")
        return self._base_url

    @property
    def running(self) -> bool:
        return self._server is not None

    def __enter__(self) -> OfflineBackend:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def balance_usd(self) -> float:
        with self._lock:
            return self._balance

    def balance_payload(self) -> dict[str, Any]:
        return {"current_balance": round(self.balance_usd, 2), "currency": "USD"}

    def _charge(self, images: int) -> None:
        with self._lock:
            self._balance = max(0.0, round(self._balance - images * PRICE_USD_PER_IMAGE, 6))

    def _remember(self, spec: ImageSpec) -> str:
        token = uuid.uuid4().hex
        with self._lock:
            self._files[token] = spec
            while len(self._files) > MAX_FILE_TOKENS:
                self._files.popitem(last=False)
        return token

    def image_bytes(self, spec: ImageSpec) -> bytes:
        """Rendered bytes through a small LRU cache (rendering happens outside the lock)."""
        with self._lock:
            cached = self._cache.get(spec)
            if cached is not None:
                self._cache.move_to_end(spec)
                return cached
        data = render_image(spec)
        with self._lock:
            self._cache[spec] = data
            self._cache.move_to_end(spec)
            while len(self._cache) > RENDER_CACHE_SIZE:
                self._cache.popitem(last=False)
        return data

    def _handle_generation(self, handler: _Handler, raw_body: bytes, request_id: str) -> None:
        try:
            body = json.loads(raw_body.decode("utf-8"), parse_constant=_reject_constant)
        except (UnicodeDecodeError, ValueError) as exc:
            handler._send_error(
                400,
                f"Body validation error: Expected JSON object, Received invalid JSON ({exc})",
                request_id,
            )
            return
        try:
            params = validate_generation_body(body)
        except BodyValidationError as exc:
            handler._send_error(400, str(exc), request_id)
            return

        latency = parse_latency(handler.headers.get(LATENCY_HEADER), self.latency)
        started = time.monotonic()
        seed = params["seed"] or random.randint(SEED_MIN, RANDOM_SEED_MAX)
        specs = [
            ImageSpec(
                prompt=params["prompt"],
                seed=seed,
                aspect_ratio=params["aspect_ratio"],
                output_format=params["output_format"],
                index=index,
                raw=params["raw"],
            )
            for index in range(params["num_images"])
        ]
        # Like the real service, the images are made while the caller waits: render into the
        # cache first, then sleep only what is left of the simulated latency. Event.wait, not
        # time.sleep: concurrent requests sleep in their own threads, and stop() wakes them.
        for spec in specs:
            self.image_bytes(spec)
        self._stopping.wait(max(0.0, latency - (time.monotonic() - started)))
        host = handler.headers.get("Host")
        base = f"http://{host}" if host else self.base_url
        ext = FILE_EXTENSIONS[params["output_format"]]
        images = []
        for spec in specs:
            width, height = spec.size
            token = self._remember(spec)
            images.append(
                {
                    "url": f"{base}{FILES_PREFIX}{token}.{ext}",
                    "width": width,
                    "height": height,
                    "content_type": spec.content_type,
                }
            )
        self._charge(len(images))
        payload = {
            "images": images,
            "timings": {"inference": round(time.monotonic() - started, 3)},
            "seed": seed,
            "has_nsfw_concepts": [False] * len(images),
            "prompt": params["prompt"],
        }
        handler._send_json(200, payload, request_id, cost_headers(len(images)))

    def _handle_file(self, handler: _Handler, name: str, request_id: str) -> None:
        token, _, ext = name.partition(".")
        with self._lock:
            spec = self._files.get(token)
        if spec is None or FILE_EXTENSIONS[spec.output_format] != ext:
            handler._send_error(404, f"File not found: {name}", request_id)
            return
        data = self.image_bytes(spec)
        handler._send(
            200,
            data,
            spec.content_type,
            request_id,
            {"Cache-Control": "public, max-age=86400, immutable"},
        )


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def start_offline_backend(latency: float = DEFAULT_OFFLINE_LATENCY_S) -> OfflineBackend:
    """Start a backend on a free 127.0.0.1 port and return it (already serving)."""
    backend = OfflineBackend(latency=latency)
    backend.start()
    return backend


def main(argv: list[str] | None = None) -> int:
    """Serve until Ctrl+C, so any client (e.g. the provider's example) can use the base URL."""
    parser = argparse.ArgumentParser(
        prog="python -m components.offline",
        description="Offline stand-in for the AI/ML API FLUX 1.1 [pro] Ultra endpoint.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8787)
    parser.add_argument(
        "--latency", type=float, default=DEFAULT_OFFLINE_LATENCY_S, help="seconds per generation"
    )
    parser.add_argument("--balance", type=float, default=25.0, help="demo balance in USD")
    args = parser.parse_args(argv)
    backend = OfflineBackend(
        latency=args.latency, host=args.host, port=args.port, balance_usd=args.balance
    )
    url = backend.start()
    print(f"FLUX Ultra Studio offline backend on {url} (latency {backend.latency:g} s)")
    print(f"  POST {url}{GENERATE_PATH}   GET {url}{BALANCE_PATHS[0]}   Ctrl+C to stop")
    sys.stdout.flush()
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        backend.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
