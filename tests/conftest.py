"""Shared fixtures: real image bytes, a threaded fault server, a recording sleep."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pytest_httpserver import HTTPServer

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
