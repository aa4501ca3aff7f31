"""Shared fixtures: real image bytes, a threaded fault server, a recording sleep, the offline
backend, a real log and image folder."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pytest_httpserver import HTTPServer

from components.images.store import ImageStore
from components.log.store import LogStore
from components.offline.server import OfflineBackend
from samples import threaded_server


@pytest.fixture
def fault_server() -> Iterator[HTTPServer]:
    yield from threaded_server()


class SleepRecorder:
    def __init__(self):
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


@pytest.fixture
def sleeps() -> SleepRecorder:
    return SleepRecorder()


DIALECTS = ("sqlite", "postgresql")


@pytest.fixture(scope="session")
def pg_server():
    """One PostgreSQL server for the whole run; skipped locally when none is installed, a
    failure under CI (the store's suite must run on both databases there)."""
    import os

    import pg

    bin_dir = pg.binaries()
    if bin_dir is None:
        message = "No PostgreSQL server installed (Debian: apt-get install postgresql)."
        if os.environ.get("CI"):
            pytest.fail(message + " The PostgreSQL tests must not be skipped in CI.")
        pytest.skip(message)
    server = pg.Server(bin_dir)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def pg_template(pg_server) -> str:
    """A database already at the newest schema: each test's copy starts in milliseconds."""
    from components.log.store import LogStore

    name = pg_server.create()
    LogStore(pg_server.url(name)).close()
    return name


@pytest.fixture(params=DIALECTS)
def db_url(request, tmp_path) -> Iterator[str]:
    """A fresh, migrated studio database on each dialect: a SQLite file, or a database of its
    own on the test PostgreSQL server."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'studio.db'}"
        return
    server = request.getfixturevalue("pg_server")
    name = server.create(template=request.getfixturevalue("pg_template"))
    yield server.url(name)
    server.drop(name)


@pytest.fixture(params=DIALECTS)
def empty_db_url(request, tmp_path) -> Iterator[str]:
    """A database with nothing in it yet, on each dialect (for migrations)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'studio.db'}"
        return
    server = request.getfixturevalue("pg_server")
    name = server.create()
    yield server.url(name)
    server.drop(name)


@pytest.fixture(scope="session")
def s3_server():
    """moto's standalone S3 server on localhost (it speaks the S3 HTTP protocol), with
    throwaway credentials in the environment, where boto3 looks for them."""
    import os
    import socket

    from moto.server import ThreadedMotoServer

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    saved = {k: os.environ.get(k) for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    os.environ["AWS_ACCESS_KEY_ID"] = "studio-test-access"
    os.environ["AWS_SECRET_ACCESS_KEY"] = "studio-test-secret"
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture
def s3_bucket(s3_server):
    """A fresh bucket's S3Bucket (prefix "studio/") on the test server."""
    import uuid

    from components.images.bucket import S3Bucket, Where

    name = "studio-" + uuid.uuid4().hex[:12]
    bucket = S3Bucket(Where(name, "studio/"), endpoint_url=s3_server, region="us-east-1")
    bucket.client.create_bucket(Bucket=name)
    return bucket


@pytest.fixture
def backend():
    """The offline backend's server at latency 0 (tests may change its latency)."""
    with OfflineBackend(latency=0) as server:
        yield server


@pytest.fixture
def stores(tmp_path):
    """A real SQLite log and image folder in the test's own folder."""
    return LogStore(tmp_path / "studio.db"), ImageStore(tmp_path)
