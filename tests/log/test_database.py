"""The database URL setting: the default file, and a clear error (never a password) for a URL
the studio cannot use."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from components import config
from components.log.database import DatabaseURLError, open_engine
from components.log.store import LogStore

SECRET = "s3cret-Pa55word"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_default_url_is_the_data_folders_file(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv(config.DATA_DIR, str(tmp_path))
    monkeypatch.delenv(config.DB_URL, raising=False)
    assert config.db_url() == f"sqlite:///{tmp_path / 'studio.db'}"
    with LogStore() as store:
        store.append({"prompt": "default"})
        assert store.path == tmp_path / "studio.db"
    assert (tmp_path / "studio.db").exists()


def test_the_url_setting_picks_the_database(tmp_path: Path, monkeypatch) -> None:
    elsewhere = tmp_path / "team" / "log.sqlite"
    monkeypatch.setenv(config.DB_URL, f"sqlite:///{elsewhere}")
    with LogStore() as store:
        store.append({"prompt": "elsewhere"})
    assert elsewhere.exists() and LogStore(elsewhere).count() == 1


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("nosuchdb://user:{pw}@127.0.0.1/studio", "does not know the database kind 'nosuchdb'"),
        ("postgresql+pg8000://user:{pw}@127.0.0.1/studio", "driver 'pg8000' is not installed"),
        ("postgresql+psycopg://user:{pw}@127.0.0.1:{port}/studio", "cannot open the database"),
        ("sqlite://", "needs a file"),
        ("sqlite:////proc/no-such-folder/studio.db", "cannot make the folder"),
        ("::not a url {pw}::", "is not a database URL"),
    ],
)
def test_unusable_urls_fail_clearly_naming_the_setting_never_the_password(
    url: str, says: str
) -> None:
    raw = url.format(pw=SECRET, port=_closed_port())
    with pytest.raises(DatabaseURLError) as caught:
        open_engine(raw)
    message = str(caught.value)
    assert message.startswith(config.DB_URL) and says in message
    assert SECRET not in message
    assert SECRET not in repr(caught.value) and caught.value.__cause__ is None


@pytest.mark.parametrize("folder", ["50%20off", "what?", "semi;colon #1"])
def test_the_default_file_is_exactly_the_data_folders_whatever_its_name(
    tmp_path: Path, monkeypatch, folder: str
) -> None:
    data = tmp_path / folder
    monkeypatch.setenv(config.DATA_DIR, str(data))
    monkeypatch.delenv(config.DB_URL, raising=False)
    with LogStore() as store:
        store.append({"prompt": "here"})
        assert store.path == data / "studio.db"
    assert (data / "studio.db").exists()


def test_a_home_relative_sqlite_url_opens_in_the_home_folder(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    with LogStore("sqlite:///~/logs/studio.db") as store:
        store.append({"prompt": "home"})
    assert (tmp_path / "logs" / "studio.db").exists()


def test_a_log_that_cannot_be_upgraded_is_a_clear_error(tmp_path: Path) -> None:
    """A table of the log's name in the wrong shape: a message naming the setting."""
    import sqlite3

    db = tmp_path / "studio.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE request_log (id TEXT PRIMARY KEY, rating INTEGER, note TEXT)")
    with pytest.raises(DatabaseURLError) as caught:
        LogStore(db)
    assert str(caught.value).startswith(config.DB_URL) and "could not be opened" in str(
        caught.value
    )


def test_writers_in_one_process_queue_on_the_files_lock(tmp_path: Path) -> None:
    """SQLite's busy handler sleeps in growing steps and wakes late (a runner thread's row was
    seen 100 ms late); writers in one process wait on a lock instead, which every write of
    every store on that file takes first."""
    import threading

    from components.log import database

    first = LogStore(tmp_path / "studio.db")
    second = LogStore(tmp_path / "studio.db")  # another store (engine) on the same file
    done = threading.Event()

    def write() -> None:
        second.append({"id": "waited", "prompt": "p", "status": "ok"})
        done.set()

    with database.writer_lock(first.engine):
        worker = threading.Thread(target=write)
        worker.start()
        # Nothing holds SQLite's lock: only the file's in-process lock keeps the write back.
        assert not done.wait(0.3)
    worker.join(10)
    assert done.is_set() and first.count() == 1
    first.close()
    second.close()


def test_a_writer_behind_the_lock_gives_up_as_sqlite_would(tmp_path: Path, monkeypatch) -> None:
    """Behind another process's lock the first writer waits in SQLite; the others must not
    queue behind it for longer than their own busy timeout."""
    import threading

    from sqlalchemy import exc as sa_exc

    from components.log import database

    monkeypatch.setattr(database, "BUSY_TIMEOUT_S", 0.2)
    store = LogStore(tmp_path / "studio.db")
    held = threading.Event()
    release = threading.Event()

    def hold() -> None:
        with database.writer_lock(store.engine):
            held.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait(10)
    try:
        with pytest.raises(sa_exc.OperationalError, match="database is locked"):
            store.append({"id": "late", "prompt": "p", "status": "ok"})
    finally:
        release.set()
        holder.join(10)
    assert store.count() == 0
    store.close()
