"""Images in a bucket against images in the data folder: click -> image and the bytes a 4-image
grid costs the browser, side by side (offline backend, latency 0). The bucket is moto's S3
server on localhost; the figure to watch is what the upload adds to click -> image.

Run: python -m bench.media   (needs Chromium and moto[server])
"""

from __future__ import annotations

import os
import socket
import sys
import tempfile
from pathlib import Path

import boto3
from moto.server import ThreadedMotoServer

from bench.app import browser_figures
from bench.table import Figure, print_table

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "e2e"))

from playwright.sync_api import sync_playwright  # noqa: E402

from app_process import CHROMIUM_ARGS, chromium_path, start_app  # noqa: E402

ROUNDS = 11


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main() -> None:
    path = chromium_path()
    if path is None:
        sys.exit("No Chromium: install Debian's chromium or set FLUX_STUDIO_CHROMIUM.")
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench-access")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench-secret")
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(Bucket="bench")
    figures: dict[str, tuple[float, float]] = {}
    try:
        with tempfile.TemporaryDirectory() as tmp_name, sync_playwright() as p:
            tmp = Path(tmp_name)
            browser = p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
            setups = {
                "data folder": {},
                "bucket": {
                    "FLUX_STUDIO_MEDIA_URL": "s3://bench/studio",
                    "FLUX_STUDIO_S3_ENDPOINT": endpoint,
                    "FLUX_STUDIO_S3_REGION": "us-east-1",
                },
            }
            for name, env in setups.items():
                app = start_app(tmp / name.replace(" ", "-"), FLUX_STUDIO_REUSE="0", **env)
                try:
                    click, megabytes, _ = browser_figures(browser, app.url, ROUNDS)
                finally:
                    app.stop()
                figures[name] = (click, megabytes)
            browser.close()
    finally:
        server.stop()
    folder, bucket = figures["data folder"], figures["bucket"]
    added = (bucket[0] - folder[0]) * 1000
    print_table(
        "Images in a bucket",
        "python -m bench.media",
        [
            Figure(f"click Generate -> image, data folder (median of {ROUNDS})", folder[0], "s"),
            Figure("click Generate -> image, bucket (moto on localhost)", bucket[0], "s"),
            Figure("what the bucket adds to click -> image", added, "ms", 50),
            Figure("bytes for a 4-image grid, data folder", folder[1], "MB", 1.5),
            Figure("bytes for a 4-image grid, bucket", bucket[1], "MB", 1.5),
        ],
    )


if __name__ == "__main__":
    main()
