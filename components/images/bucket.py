"""Images in an S3-compatible bucket (AWS S3, MinIO, R2, GCS's S3 interface), for a team whose
replicas share no disk. `FLUX_STUDIO_MEDIA_URL=s3://bucket/prefix` turns it on; the endpoint
(MinIO and friends) and region are settings, and credentials come the way boto3 finds them
(environment, profile, instance role): never from a page, never in a log row or an export.

The bucket is the truth; the data folder is a cache and a spool. A save writes the local file
first, then uploads it (an S3 PUT is atomic: readers never see half an object). An upload that
fails leaves the file in the folder and a marker in `.pending/`; `flush` tries again. A read
takes the local copy, else fetches the object into the folder first.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

log = logging.getLogger(__name__)

MEDIA_URL = "FLUX_STUDIO_MEDIA_URL"  # the setting's name, for messages (components/config.py)


class BucketError(RuntimeError):
    """A bucket the studio cannot use, or an object it could not move; never a credential."""


@dataclass(frozen=True)
class Where:
    bucket: str
    prefix: str  # "" or "team/studio/" (always ending in "/")

    def key(self, rel: str) -> str:
        return self.prefix + rel

    def shown(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"


def parse_media_url(raw: str) -> Where:
    parts = urlsplit(raw.strip())
    if parts.scheme != "s3" or not parts.netloc:
        raise BucketError(
            f"{MEDIA_URL} must look like s3://bucket/prefix (got a {parts.scheme or 'bare'} value)"
        )
    if parts.username or parts.password or "@" in parts.netloc:
        # It would be shown in messages; credentials come from boto3's own sources.
        raise BucketError(
            f"{MEDIA_URL} must not hold credentials: set AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY (or a profile) instead"
        )
    if not re.fullmatch(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", parts.netloc):
        raise BucketError(f"{MEDIA_URL} names a bucket S3 does not allow: {parts.netloc!r}")
    prefix = parts.path.strip("/")
    return Where(parts.netloc, prefix + "/" if prefix else "")


class S3Bucket:
    """put / get / delete / exists / usage over one bucket and prefix."""

    def __init__(
        self, where: Where, *, endpoint_url: str | None = None, region: str | None = None
    ) -> None:
        import boto3
        from botocore.config import Config

        self.where = where
        # Short timeouts and a few retries: a save waits for its upload on a runner thread.
        config = Config(
            connect_timeout=5,
            read_timeout=30,
            retries={"max_attempts": 3, "mode": "standard"},
            s3={"addressing_style": "path"} if endpoint_url else None,
        )
        self.client: Any = boto3.client(
            "s3", endpoint_url=endpoint_url or None, region_name=region or None, config=config
        )

    def check(self) -> None:
        """Reach the bucket once (at start), so a wrong name or endpoint says so at once."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.head_bucket(Bucket=self.where.bucket)
        except (BotoCoreError, ClientError) as exc:
            raise BucketError(
                f"{MEDIA_URL}={self.where.shown()}: cannot reach the bucket ({_why(exc)})."
            ) from None

    def put(self, rel: str, data: bytes, content_type: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.put_object(
                Bucket=self.where.bucket, Key=self.where.key(rel), Body=data,
                ContentType=content_type,
            )  # fmt: skip
        except (BotoCoreError, ClientError) as exc:
            raise BucketError(f"upload to {self.where.shown()} failed ({_why(exc)})") from None

    def get(self, rel: str) -> bytes | None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            answer = self.client.get_object(Bucket=self.where.bucket, Key=self.where.key(rel))
            return bytes(answer["Body"].read())
        except ClientError as exc:
            if _code(exc) in ("NoSuchKey", "404", "NotFound"):
                return None
            log.error("could not read %s from the bucket: %s", rel, _why(exc))
            return None
        except BotoCoreError as exc:
            log.error("could not read %s from the bucket: %s", rel, _why(exc))
            return None

    def exists(self, rel: str) -> bool:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.head_object(Bucket=self.where.bucket, Key=self.where.key(rel))
            return True
        except (BotoCoreError, ClientError):
            return False

    def delete(self, rel: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.delete_object(Bucket=self.where.bucket, Key=self.where.key(rel))
        except (BotoCoreError, ClientError) as exc:
            raise BucketError(f"delete from {self.where.shown()} failed ({_why(exc)})") from None

    def _listing(self, folder: str) -> list[Any]:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.where.bucket, Prefix=self.where.key(folder.rstrip("/") + "/")
            )
            return [item for page in pages for item in page.get("Contents", [])]
        except (BotoCoreError, ClientError) as exc:
            raise BucketError(f"listing {self.where.shown()} failed ({_why(exc)})") from None

    def usage(self, folder: str) -> tuple[int, int]:
        """Objects and bytes under one folder (images/ or thumbs/)."""
        files = total = 0
        for item in self._listing(folder):
            files += 1
            total += int(item.get("Size", 0))
        return files, total

    def names(self, folder: str) -> list[str]:
        """The stored paths (relative, as the log names them) under one folder."""
        cut = len(self.where.prefix)
        return [str(item["Key"])[cut:] for item in self._listing(folder)]


def _code(exc: Any) -> str:
    return str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))


def _why(exc: Exception) -> str:
    # The first line of botocore's message names the operation and the error code; it does
    # not carry the credentials (they sign the request, they are not part of it). Scrubbed
    # all the same: this text reaches a log row and the page.
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    for name in ("AWS_SECRET_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SESSION_TOKEN"):
        secret = os.environ.get(name, "")
        if len(secret) >= 8:
            text = text.replace(secret, "***")
    return text[:300]
