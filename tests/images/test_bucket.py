"""Images in a bucket (moto's S3 server on localhost): what one app server saves, another with
an empty data folder reads; an upload cut off half-way leaves no object in the bucket and the
bytes on this server, marked, until a later upload succeeds; deleting removes the objects."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from components.images.bucket import BucketError, S3Bucket, Where, parse_media_url
from components.images.store import ImageStore, row_of
from samples import image_bytes

DAY = date(2026, 11, 29)


def test_media_urls_parse_and_bad_ones_say_how() -> None:
    assert parse_media_url("s3://team-bucket/studio/images/") == Where(
        "team-bucket", "studio/images/"
    )
    assert parse_media_url("s3://team-bucket") == Where("team-bucket", "")
    for bad in ("team-bucket/studio", "https://team-bucket/x", "s3:///nobucket"):
        with pytest.raises(BucketError, match="s3://bucket/prefix"):
            parse_media_url(bad)


def test_a_replica_with_an_empty_folder_reads_what_another_saved(
    tmp_path: Path, s3_bucket: S3Bucket
) -> None:
    one = ImageStore(tmp_path / "one", s3_bucket)
    data = image_bytes(640, 360)
    stored = one.save("row1_0", data, {"prompt": "a harbour"}, day=DAY)
    assert stored.upload_pending is None
    keys = {
        o["Key"]
        for o in s3_bucket.client.list_objects_v2(Bucket=s3_bucket.where.bucket)["Contents"]
    }
    assert keys == {"studio/" + stored.path, "studio/" + stored.thumb_path}
    two = ImageStore(tmp_path / "two", S3Bucket(s3_bucket.where, endpoint_url=_endpoint(s3_bucket)))
    assert not (tmp_path / "two" / stored.path).exists()
    assert two.exists(stored.path)
    original = two.read_bytes(stored.path)
    assert original == (tmp_path / "one" / stored.path).read_bytes()  # parameters embedded too
    assert two.read_params(stored.path) == {"prompt": "a harbour"}
    assert (
        two.thumbnail_bytes(stored.thumb_path)
        == (tmp_path / "one" / stored.thumb_path).read_bytes()
    )
    assert (tmp_path / "two" / stored.path).is_file()  # kept as a cache from then on
    assert two.disk_usage()["images_files"] == 1


def test_deleting_removes_the_objects(tmp_path: Path, s3_bucket: S3Bucket) -> None:
    store = ImageStore(tmp_path, s3_bucket)
    stored = store.save("gone1_0", image_bytes(64, 36), {}, day=DAY)
    other = ImageStore(tmp_path / "elsewhere", s3_bucket)
    assert other.delete([stored.path]) == 2  # the original and its thumbnail, from the bucket
    assert not s3_bucket.exists(stored.path) and not s3_bucket.exists(stored.thumb_path)
    assert store.read_bytes(stored.path) is not None  # the first server's cache is just a cache
    assert other.read_bytes(stored.path) is None


class _CutProxy:
    """Forwards to the S3 server but closes every connection after `limit` request bytes: an
    upload that dies half-way, as on a flaky network."""

    def __init__(self, upstream: str, limit: int) -> None:
        host, port = upstream.removeprefix("http://").split(":")
        self.upstream = (host, int(port))
        self.limit = limit
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._cut, args=(client,), daemon=True).start()

    def _cut(self, client: socket.socket) -> None:
        with client, socket.create_connection(self.upstream) as server:
            # The server's answers go back (an "100 Continue" lets the client send its body).
            threading.Thread(target=self._back, args=(server, client), daemon=True).start()
            sent = 0
            while sent < self.limit:
                chunk = client.recv(min(4096, self.limit - sent))
                if not chunk:
                    return
                server.sendall(chunk)
                sent += len(chunk)
        # Both sides closed with the body half sent.

    @staticmethod
    def _back(server: socket.socket, client: socket.socket) -> None:
        try:
            while chunk := server.recv(4096):
                client.sendall(chunk)
        except OSError:
            pass

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def cut(s3_server: str) -> Iterator[_CutProxy]:
    proxy = _CutProxy(s3_server, limit=6_000)
    yield proxy
    proxy.close()


def _endpoint(bucket: S3Bucket) -> str:
    return str(bucket.client.meta.endpoint_url)


def test_an_upload_cut_half_way_leaves_no_object_and_keeps_the_bytes(
    tmp_path: Path, s3_bucket: S3Bucket, cut: _CutProxy
) -> None:
    flaky = S3Bucket(s3_bucket.where, endpoint_url=cut.url, region="us-east-1")
    store = ImageStore(tmp_path, flaky)
    data = image_bytes(1280, 720)
    assert len(data) > cut.limit
    stored = store.save("cut1_0", data, {"prompt": "a lighthouse"}, day=DAY)
    assert stored.upload_pending and "upload" in stored.upload_pending
    assert "studio-test-secret" not in stored.upload_pending  # no credential in the reason
    # Nothing half-written is ever served: the bucket has no such object at all.
    assert not s3_bucket.exists(stored.path)
    # The paid-for bytes are safe on this server and show here.
    assert store.read_bytes(stored.path) == (tmp_path / stored.path).read_bytes()
    assert stored.path in store.pending()
    assert row_of(stored.path) == "cut1"
    # The network is back: the next flush uploads it, and the row can say so.
    healed = ImageStore(tmp_path, s3_bucket)
    assert healed.flush() == ["cut1"]
    assert healed.pending() == []
    assert s3_bucket.get(stored.path) == (tmp_path / stored.path).read_bytes()


def test_a_pending_upload_is_on_the_row_until_it_reaches_the_bucket(
    tmp_path: Path, s3_bucket: S3Bucket, cut: _CutProxy
) -> None:
    """The runner's row says the upload failed; once a flush gets the files there, the note
    goes (what every app server's flusher does each minute)."""
    from components.api.client import FluxClient
    from components.api.contract import GenerationRequest
    from components.log.store import LogStore
    from components.offline.server import OfflineBackend
    from components.runner import Job, Runner
    from components.ui.resources import clear_upload_notes

    log = LogStore(tmp_path / "studio.db")
    flaky = ImageStore(tmp_path, S3Bucket(s3_bucket.where, endpoint_url=cut.url))
    with OfflineBackend(latency=0) as backend:
        client = FluxClient(base_url=backend.base_url)
        runner = Runner(client, log, flaky, backend="offline", session_id="s")
        (outcome,) = runner.run([Job(GenerationRequest("a lighthouse", seed=11))], timeout=30)
        runner.shutdown()
    row = log.get(outcome.job.id)
    assert row is not None and row["status"] == "ok"  # the picture is safe, and shows here
    assert row["error_type"] == "storage" and row["error_message"].startswith("Not in the bucket")
    assert clear_upload_notes(log, flaky) == []  # still pending: the note stays
    healed = ImageStore(tmp_path, s3_bucket)
    assert healed.flush() == [outcome.job.id]
    assert clear_upload_notes(log, healed) == [outcome.job.id]
    row = log.get(outcome.job.id)
    assert row is not None and row["error_type"] is None and row["error_message"] is None
    assert all(s3_bucket.exists(p) for p in row["image_paths"] + row["thumb_paths"])


def test_marker_names_read_back_exactly(
    tmp_path: Path, s3_bucket: S3Bucket, cut: _CutProxy
) -> None:
    """Two paths a naive encoding would confuse ('/' and '%' in names an import may bring)."""
    flaky = ImageStore(tmp_path, S3Bucket(s3_bucket.where, endpoint_url=cut.url))
    data = image_bytes(1280, 720)
    for rel in ("images/a%2Fb/x_0.jpg", "images/a/b%2Fx_0.jpg"):
        flaky.abs_path(rel).parent.mkdir(parents=True, exist_ok=True)
        flaky.abs_path(rel).write_bytes(data)
        assert flaky.publish(rel, data) is not None
    assert flaky.pending() == ["images/a%2Fb/x_0.jpg", "images/a/b%2Fx_0.jpg"]


def test_a_delete_while_an_upload_is_pending_leaves_nothing_behind(
    tmp_path: Path, s3_bucket: S3Bucket, cut: _CutProxy
) -> None:
    flaky = ImageStore(tmp_path, S3Bucket(s3_bucket.where, endpoint_url=cut.url))
    stored = flaky.save("del1_0", image_bytes(1280, 720), {}, day=DAY)
    assert stored.upload_pending
    healed = ImageStore(tmp_path, s3_bucket)
    assert healed.delete([stored.path]) == 2
    assert healed.pending() == [] and healed.flush() == []
    assert not s3_bucket.exists(stored.path) and not s3_bucket.exists(stored.thumb_path)


def test_credentials_in_the_media_url_are_refused() -> None:
    with pytest.raises(BucketError, match="must not hold credentials") as caught:
        parse_media_url("s3://AKIAEXAMPLE:very-secret@team-bucket/studio")
    assert "very-secret" not in str(caught.value)
