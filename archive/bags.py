"""Where an archive keeps its bags: the archive folder's `fonds/` (the default), or an
S3-compatible object store (`--store s3://bucket/prefix`, recorded in `store.url`).

Both hold the same layout, `fonds/<agency>/<year>/<dossier>/vNNNN/<bag files>`, and are
used through the same calls, by version path (`fonds/…/vNNNN`) and a file's path inside
the bag. A bag is built in the archive folder's `.staging/` either way; it is then
published: renamed into `fonds/` on disk; on S3, uploaded write-once, every file but the
tag manifests first, then `tagmanifest-sha512.txt`, then `tagmanifest-sha256.txt`. A
version exists on S3 when its `tagmanifest-sha256.txt` does: what an interrupted upload
left has none, is never read as a bag, and is removed before that version is written again.
"""
from __future__ import annotations

import hashlib
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path, PurePosixPath

from sohoa.cli.fsio import fsync_dir

from . import layout as L
from .bag import ALGORITHMS, READ_ONLY, read_manifest

CHUNK = 4 << 20
MARKER = "tagmanifest-sha256.txt"  # written last: the version is published
UPLOADERS = 8


def _durable_copy(write_into, dst: Path) -> int:
    """Create `dst` from `write_into(file)`, fsync'ed, read-only, out of the page cache (so
    that a check after the copy reads the medium, not memory)."""
    with open(dst, "xb", buffering=0) as out:
        size = write_into(out)
        os.fsync(out.fileno())
        try:
            os.posix_fadvise(out.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
        except (AttributeError, OSError):
            pass
    os.chmod(dst, READ_ONLY)
    return size


def copy_file(src: Path, out) -> int:
    size = 0
    with open(src, "rb", buffering=0) as fin:
        while block := fin.read(CHUNK):
            view = memoryview(block)
            while view:
                view = view[out.write(view):]
            size += len(block)
    return size


def _advise(fd: int, advice: int) -> None:
    try:
        os.posix_fadvise(fd, 0, 0, advice)
    except (AttributeError, OSError):
        pass


def prefetch(path: Path) -> None:
    """Ask the kernel to start reading the file now (the disk queue stays full while
    earlier files are being hashed)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        _advise(fd, getattr(os, "POSIX_FADV_WILLNEED", 3))
    finally:
        os.close(fd)


_buffers = threading.local()


def _read_buffer() -> bytearray:
    """This thread's read buffer, reused: a fresh 4 MB buffer for every file cost ≈0.3
    CPU-seconds per GB in page faults (SHA-256 itself: ≈0.85)."""
    buffer = getattr(_buffers, "buffer", None)
    if buffer is None:
        buffer = _buffers.buffer = bytearray(CHUNK)
    return buffer


def digest_file(path: Path, algorithms: tuple[str, ...]) -> tuple[dict[str, str], int]:
    digests = [hashlib.new(a) for a in algorithms]
    size = 0
    fd = os.open(path, os.O_RDONLY)
    try:
        _advise(fd, getattr(os, "POSIX_FADV_SEQUENTIAL", 2))
        buffer = _read_buffer()
        view = memoryview(buffer)
        while n := os.readv(fd, [buffer]):
            block = view[:n]
            for d in digests:
                d.update(block)
            size += n
    finally:
        os.close(fd)
    return {a: d.hexdigest() for a, d in zip(algorithms, digests)}, size


def _digest(chunks, algorithms: tuple[str, ...]) -> tuple[dict[str, str], int]:
    digests = [hashlib.new(a) for a in algorithms]
    size = 0
    for chunk in chunks:
        for d in digests:
            d.update(chunk)
        size += len(chunk)
    return {a: d.hexdigest() for a, d in zip(algorithms, digests)}, size


class DiskBags:
    """Bags in the archive folder: `ARCH/fonds/…`. A check reads them with two threads a
    core while the kernel is asked to read the next files ahead."""

    kind = "disk"
    readers_per_core = 2
    prefetches = True

    def __init__(self, root: Path):
        self.root = root
        self.paths = L.ArchivePaths(root)

    def __str__(self) -> str:
        return str(self.paths.fonds)

    def find_dossier(self, agency: str, folder: str) -> str | None:
        found = L.find_dossier_dir(self.paths, agency, folder)
        return self.paths.rel(found) if found else None

    def versions(self, dossier: str) -> list[int]:
        return L.existing_versions(self.root / dossier)

    def all_versions(self) -> list[str]:
        return [self.paths.rel(p) for p in L.iter_version_dirs(self.paths)]

    def strays(self) -> list[str]:
        return [self.paths.rel(p) for p in L.iter_strays(self.paths)]

    def published(self, version: str) -> bool:
        return (self.root / version).is_dir()

    def read(self, version: str, name: str) -> bytes:
        return (self.root / version / name).read_bytes()

    def files(self, version: str) -> dict[str, int] | None:
        bag = self.root / version
        if not bag.is_dir():
            return None
        found = {}
        for dirpath, _, filenames in os.walk(bag):
            for name in filenames:
                path = Path(dirpath, name)
                try:
                    found[path.relative_to(bag).as_posix()] = path.stat().st_size
                except OSError:
                    found[path.relative_to(bag).as_posix()] = 0
        return found

    def digest(self, version: str, name: str, algorithms: tuple[str, ...]) -> tuple[dict[str, str], int]:
        return digest_file(self.root / version / name, algorithms)

    def prefetch(self, version: str, name: str) -> None:
        prefetch(self.root / version / name)

    def copy_to(self, version: str, name: str, dst: Path) -> int:
        return _durable_copy(lambda out: copy_file(self.root / version / name, out), dst)

    def upload(self, bag: Path, version: str) -> None:
        """Nothing to do before the rename."""

    def publish(self, bag: Path, version: str) -> None:
        from .store import mkdirs_durable

        target = self.root / version
        mkdirs_durable(target.parent)
        os.rename(bag, target)
        fsync_dir(target.parent)

    def discard_unpublished(self, version: str) -> int:
        return 0  # a rename is whole: there is never half a bag at a final path


class S3Bags:
    """Bags on an S3-compatible object store, under `s3://bucket/prefix/fonds/…`. A check
    reads them with eight threads a core (the wait is the network's)."""

    kind = "s3"
    readers_per_core = 8
    prefetches = False

    def __init__(self, url: str, client=None):
        from .s3 import S3Store

        self.store = S3Store(url, client)

    def __str__(self) -> str:
        return f"{self.store.location}fonds/"

    def find_dossier(self, agency: str, folder: str) -> str | None:
        base = f"fonds/{agency}/"
        for year in self.store.folders(base):
            if self.store.folders(f"{base}{year}/{folder}/"):
                return f"{base}{year}/{folder}"
        return None

    def versions(self, dossier: str) -> list[int]:
        numbers = []
        for name in self.store.list(dossier + "/"):
            parts = name[len(dossier) + 1:].split("/")
            if len(parts) == 2 and parts[1] == MARKER and (n := L.version_number(parts[0])) is not None:
                numbers.append(n)
        return sorted(numbers)

    def all_versions(self) -> list[str]:
        found = []
        for name in self.store.list("fonds/"):
            parts = name.split("/")
            if len(parts) == 6 and parts[5] == MARKER and L.version_number(parts[4]) is not None:
                found.append("/".join(parts[:5]))
        return sorted(found)

    def strays(self) -> list[str]:
        """Objects outside any fonds/<agency>/<year>/<dossier>/vNNNN/ (an unpublished version
        is not one: it may be an upload in progress, and the next ingest removes it)."""
        return sorted(name for name in self.store.list("fonds/")
                      if len(parts := name.split("/")) < 6 or L.version_number(parts[4]) is None)

    def published(self, version: str) -> bool:
        return self.store.exists(f"{version}/{MARKER}")

    def read(self, version: str, name: str) -> bytes:
        return self.store.read_bytes(f"{version}/{name}")

    def files(self, version: str) -> dict[str, int] | None:
        if not self.published(version):
            return None
        prefix = version + "/"
        return {name[len(prefix):]: size for name, size in self.store.list(prefix).items()}

    def digest(self, version: str, name: str, algorithms: tuple[str, ...]) -> tuple[dict[str, str], int]:
        return _digest(self.store.chunks(f"{version}/{name}"), algorithms)

    def copy_to(self, version: str, name: str, dst: Path) -> int:
        return _durable_copy(lambda out: self.store.download(f"{version}/{name}", out), dst)

    def upload(self, bag: Path, version: str) -> None:
        """Every file of the staged bag but its tag manifests, each checked by SHA-256."""
        hashes = read_manifest(bag / "manifest-sha256.txt")
        hashes.update(read_manifest(bag / "tagmanifest-sha256.txt"))
        names = sorted(hashes)
        with ThreadPoolExecutor(UPLOADERS) as pool:
            list(pool.map(lambda n: self.store.put_file(f"{version}/{n}", bag / n, hashes[n]), names))
        stored = self.store.list(version + "/")
        for name in names:
            if stored.get(f"{version}/{name}") != (bag / name).stat().st_size:
                raise OSError(f"{self.store.location}{version}/{name}: not stored whole after upload")

    def publish(self, bag: Path, version: str) -> None:
        for algorithm in reversed(ALGORITHMS):  # tagmanifest-sha256.txt last
            name = f"tagmanifest-{algorithm}.txt"
            data = (bag / name).read_bytes()
            self.store.put_file(f"{version}/{name}", bag / name, hashlib.sha256(data).hexdigest())

    def discard_unpublished(self, version: str) -> int:
        """Remove what an interrupted upload of this version left (the caller holds the
        dossier's lock, so no live ingest is writing it)."""
        if self.published(version):
            return 0
        left = sorted(self.store.list(version + "/"))
        if left:
            self.store.delete(left)
        return len(left)


def open_bags(root: Path, store: str | None):
    return S3Bags(store) if store else DiskBags(root)


def version_parts(version: str) -> tuple[str, str, str, str]:
    """fonds/<agency>/<year>/<dossier>/vNNNN → (agency, year, dossier, vNNNN)."""
    parts = PurePosixPath(version).parts
    return parts[1], parts[2], parts[3], parts[4]
