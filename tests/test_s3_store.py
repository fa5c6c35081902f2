"""archive/s3.py against a real S3-compatible server (moto's server mode on loopback)."""
import hashlib

import pytest

from s3_server import S3Server

from sohoa.archive.s3 import AlreadyStored, S3Location, S3Store, StoreError
from sohoa.cli.errors import UsageError


@pytest.fixture(scope="module")
def s3():
    server = S3Server().start()
    server.create_bucket("archive")
    yield server
    server.stop()


@pytest.fixture
def store(s3, monkeypatch, request):
    for key, value in s3.env().items():
        monkeypatch.setenv(key, value)
    return S3Store(f"s3://archive/{request.node.name}/")


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_objects_are_stored_listed_and_read_back(store, tmp_path):
    scan = tmp_path / "scan.jpg"
    scan.write_bytes(b"\xff\xd8" + bytes(range(256)) * 5000)
    store.put_file("fonds/X/2025/D1/v0001/data/originals/scan.jpg", scan, sha(scan.read_bytes()))
    store.put_bytes("fonds/X/2025/D1/v0001/bagit.txt", b"BagIt-Version: 1.0\n")
    assert store.read_bytes("fonds/X/2025/D1/v0001/data/originals/scan.jpg") == scan.read_bytes()
    assert store.list("fonds/X/") == {"fonds/X/2025/D1/v0001/data/originals/scan.jpg": scan.stat().st_size,
                                      "fonds/X/2025/D1/v0001/bagit.txt": 19}
    assert store.exists("fonds/X/2025/D1/v0001/bagit.txt")
    assert not store.exists("fonds/X/2025/D1/v0002/bagit.txt")


def test_a_stored_object_is_never_replaced(store):
    store.put_bytes("v0001/data/text/doc.txt", "Quyết định".encode())
    store.put_bytes("v0001/data/text/doc.txt", "Quyết định".encode())  # the same again: a no-op
    with pytest.raises(AlreadyStored):
        store.put_bytes("v0001/data/text/doc.txt", "Quyết định đã sửa".encode())
    assert store.read_bytes("v0001/data/text/doc.txt") == "Quyết định".encode()


def test_what_does_not_hash_as_declared_is_refused(store, tmp_path):
    path = tmp_path / "doc.pdf"
    path.write_bytes(b"%PDF-1.7 real content")
    with pytest.raises(StoreError):
        store.put_file("v0001/data/ocr/doc.pdf", path, sha(b"something else"))


def test_bad_addresses_and_unreachable_services_are_one_line(s3, monkeypatch):
    with pytest.raises(UsageError):
        S3Location.parse("/srv/archive")
    assert str(S3Location.parse("s3://archive/province/")) == "s3://archive/province/"
    for key, value in s3.env().items():
        monkeypatch.setenv(key, value)
    with pytest.raises(StoreError, match="NoSuchBucket.*create the bucket"):
        S3Store("s3://no-such-bucket/x").put_bytes("a", b"b")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    with pytest.raises(StoreError, match="AWS_ENDPOINT_URL"):
        S3Store("s3://archive/x").list()
