"""Objects on S3-compatible storage, written once and checked (`--store s3://bucket/prefix`).

Any S3-compatible service: the endpoint and credentials come from the usual AWS
variables (`AWS_ENDPOINT_URL`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
`AWS_DEFAULT_REGION`) or files, as every AWS tool reads them. An object is written with
`If-None-Match: *`, so nothing stored is ever overwritten, and with its SHA-256, which
the service checks where it can; as not every service does, the object is then read
back and hashed. Writing the same content again is a no-op; other content under a
stored name is refused.
"""
from __future__ import annotations

import base64
import hashlib
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from sohoa.cli.errors import SohoaError, UsageError

CHUNK = 1 << 20


class StoreError(SohoaError):
    """The storage service refused or could not be reached."""


class AlreadyStored(StoreError):
    """Other content is stored under this name: stored objects are never replaced."""


@dataclass(frozen=True)
class S3Location:
    bucket: str
    prefix: str  # "" or ending in "/"

    @classmethod
    def parse(cls, url: str) -> "S3Location":
        if not url.startswith("s3://"):
            raise UsageError(f"{url}: not an S3 address: give s3://BUCKET/PREFIX")
        bucket, _, prefix = url[5:].partition("/")
        if not bucket:
            raise UsageError(f"{url}: no bucket: give s3://BUCKET/PREFIX")
        prefix = prefix.strip("/")
        return cls(bucket, prefix + "/" if prefix else "")

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"


class S3Store:
    """Named objects under one bucket and prefix (names are '/'-separated paths)."""

    def __init__(self, url: str, client=None):
        self.location = S3Location.parse(url)
        self._client = client
        self._lock = threading.Lock()

    @property
    def client(self):
        """One client, made when first needed (boto3 takes ≈0.2 s to load: a search never
        waits for it) and shared by the threads that upload or check."""
        with self._lock:
            if self._client is None:
                import boto3
                from botocore.config import Config

                self._client = boto3.session.Session().client("s3", config=Config(max_pool_connections=32))
        return self._client

    def check(self) -> None:
        """Reach the bucket now: a wrong address or key is said before any work starts."""
        try:
            self._call("reach", "", self.client.head_bucket, Bucket=self.location.bucket)
        except FileNotFoundError:
            raise StoreError(f"{self.location}: no such bucket — create the bucket first") from None

    def _key(self, name: str) -> str:
        return self.location.prefix + name

    def put_file(self, name: str, path: Path, sha256: str) -> None:
        """Store the file at `path` as `name`, once; `sha256` (hex) is what it must hash to."""
        digest = base64.b64encode(bytes.fromhex(sha256)).decode()
        try:
            with open(path, "rb") as body:
                self._call("upload", name, self.client.put_object, Bucket=self.location.bucket,
                           Key=self._key(name), Body=body, ChecksumSHA256=digest, IfNoneMatch="*")
        except AlreadyStored:
            if self.sha256(name) != sha256:
                raise
            return
        if self.sha256(name) != sha256:
            raise StoreError(f"{self.location}{name}: stored, but what was read back does not "
                             "hash to what was sent: check the storage service")

    def put_bytes(self, name: str, data: bytes) -> None:
        import tempfile

        with tempfile.NamedTemporaryFile(prefix="sohoa-s3-") as tmp:
            tmp.write(data)
            tmp.flush()
            self.put_file(name, Path(tmp.name), hashlib.sha256(data).hexdigest())

    def chunks(self, name: str) -> Iterator[bytes]:
        response = self._call("read", name, self.client.get_object, Bucket=self.location.bucket,
                              Key=self._key(name))
        yield from response["Body"].iter_chunks(CHUNK)

    def read_bytes(self, name: str) -> bytes:
        return b"".join(self.chunks(name))

    def sha256(self, name: str) -> str:
        digest = hashlib.sha256()
        for chunk in self.chunks(name):
            digest.update(chunk)
        return digest.hexdigest()

    def download(self, name: str, out) -> int:
        """Write the object into the open binary file `out`; returns its size."""
        size = 0
        for chunk in self.chunks(name):
            out.write(chunk)
            size += len(chunk)
        return size

    def delete(self, names: list[str]) -> None:
        for start in range(0, len(names), 1000):
            batch = [{"Key": self._key(n)} for n in names[start:start + 1000]]
            self._call("delete", names[start], self.client.delete_objects, Bucket=self.location.bucket,
                       Delete={"Objects": batch, "Quiet": True})

    def folders(self, prefix: str) -> list[str]:
        """The names of the 'folders' just below `prefix` (which ends in '/')."""
        found = []
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.location.bucket, Prefix=self._key(prefix), Delimiter="/")
        try:
            for page in pages:
                found += [p["Prefix"][len(self._key(prefix)):].rstrip("/") for p in page.get("CommonPrefixes", [])]
        except Exception as exc:  # noqa: BLE001 - botocore's errors, one line
            raise self._error("list", prefix, exc) from None
        return sorted(found)

    def exists(self, name: str) -> bool:
        try:
            self._call("look up", name, self.client.head_object, Bucket=self.location.bucket,
                       Key=self._key(name))
        except FileNotFoundError:
            return False
        return True

    def list(self, prefix: str = "") -> dict[str, int]:
        """{name: size} of every object whose name starts with `prefix`."""
        found: dict[str, int] = {}
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.location.bucket, Prefix=self._key(prefix))
        try:
            for page in pages:
                for item in page.get("Contents", []):
                    found[item["Key"][len(self.location.prefix):]] = item["Size"]
        except Exception as exc:  # noqa: BLE001 - botocore's errors, one line
            raise self._error("list", prefix, exc) from None
        return found

    def _call(self, action: str, name: str, method, **kwargs):
        try:
            return method(**kwargs)
        except Exception as exc:  # noqa: BLE001 - botocore's errors, one line
            code = _error_code(exc)
            if code in ("NoSuchKey", "404", "NotFound"):
                raise FileNotFoundError(f"{self.location}{name}") from None
            if code == "PreconditionFailed":
                raise AlreadyStored(f"{self.location}{name}: already stored with other content; "
                                    "stored objects are never replaced") from None
            raise self._error(action, name, exc) from None

    def _error(self, action: str, name: str, exc: Exception) -> StoreError:
        code = _error_code(exc)
        hint = {"NoSuchBucket": "create the bucket first",
                "AccessDenied": "check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY",
                "InvalidAccessKeyId": "check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY",
                "SignatureDoesNotMatch": "check AWS_SECRET_ACCESS_KEY"}.get(
            code, "check AWS_ENDPOINT_URL and that the service is running")
        return StoreError(f"cannot {action} {self.location}{name}: {code or exc.__class__.__name__} — {hint}")


def _error_code(exc: Exception) -> str | None:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return response.get("Error", {}).get("Code")
    return None
