"""BagIt 1.0 (RFC 8493) bags, written by sohoa and readable by any BagIt tool.

A bag is written in a staging folder: every payload file is copied in one pass that also
computes its SHA-256 and SHA-512, then fsync'ed; `finish()` writes `bagit.txt`,
`bag-info.txt`, both payload manifests and both tag manifests, makes the files read-only
and fsyncs every folder, so that the bag can be renamed into place whole.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from sohoa.cli.fsio import FILE_MODE, fsync_dir

ALGORITHMS = ("sha256", "sha512")
CHUNK = 1 << 20
BAGIT_TXT = "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"
READ_ONLY = FILE_MODE & 0o444


@dataclass(frozen=True)
class PayloadFile:
    path: str  # relative to the bag, "data/…"
    size: int
    sha256: str
    sha512: str


def encode_path(path: str) -> str:
    """Manifest file names: % CR LF percent-encoded (RFC 8493 §2.1.3)."""
    return path.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def decode_path(path: str) -> str:
    return path.replace("%0A", "\n").replace("%0a", "\n").replace("%0D", "\r") \
        .replace("%0d", "\r").replace("%25", "%")


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{size} bytes"


def hash_file(path: Path, algorithms=ALGORITHMS) -> dict[str, str]:
    digests = {a: hashlib.new(a) for a in algorithms}
    with open(path, "rb", buffering=0) as f:
        while block := f.read(CHUNK):
            for d in digests.values():
                d.update(block)
    return {a: d.hexdigest() for a, d in digests.items()}


class BagWriter:
    """Builds one bag in `folder` (which must not exist yet)."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.folder.mkdir(parents=False)
        self.files: dict[str, PayloadFile] = {}
        self.dirs: set[Path] = {self.folder}

    def _target(self, rel: str) -> Path:
        pure = PurePosixPath(rel)
        if pure.is_absolute() or ".." in pure.parts or not pure.parts or pure.parts[0] != "data":
            raise ValueError(f"not a payload path: {rel}")
        if rel in self.files:
            raise ValueError(f"payload path used twice: {rel}")
        target = self.folder.joinpath(*pure.parts)
        parent = target.parent
        missing = []
        while parent not in self.dirs and parent != self.folder:
            missing.append(parent)
            parent = parent.parent
        for d in reversed(missing):
            d.mkdir(exist_ok=True)
            self.dirs.add(d)
        return target

    def add_file(self, rel: str, source: Path) -> PayloadFile:
        """Copy `source` into the payload, hashing on the way."""
        target = self._target(rel)
        digests = {a: hashlib.new(a) for a in ALGORITHMS}
        size = 0
        with open(source, "rb", buffering=0) as src, open(target, "xb", buffering=0) as dst:
            while block := src.read(CHUNK):
                view = memoryview(block)
                while view:
                    view = view[dst.write(view):]
                for d in digests.values():
                    d.update(block)
                size += len(block)
            os.fsync(dst.fileno())
        return self._record(rel, size, digests)

    def add_bytes(self, rel: str, data: bytes) -> PayloadFile:
        target = self._target(rel)
        with open(target, "xb") as dst:
            dst.write(data)
            dst.flush()
            os.fsync(dst.fileno())
        return self._record(rel, len(data), {a: hashlib.new(a, data) for a in ALGORITHMS})

    def _record(self, rel: str, size: int, digests) -> PayloadFile:
        entry = PayloadFile(rel, size, digests["sha256"].hexdigest(), digests["sha512"].hexdigest())
        self.files[rel] = entry
        return entry

    @property
    def oxum(self) -> str:
        return f"{sum(f.size for f in self.files.values())}.{len(self.files)}"

    def finish(self, info: list[tuple[str, str]]) -> None:
        """Tag files, read-only payload, everything fsync'ed."""
        total = sum(f.size for f in self.files.values())
        fields = [*info, ("Payload-Oxum", self.oxum), ("Bag-Size", human_size(total))]
        tags: dict[str, bytes] = {
            "bagit.txt": BAGIT_TXT.encode(),
            "bag-info.txt": "".join(f"{k}: {' '.join(str(v).split())}\n" for k, v in fields).encode(),
        }
        for algorithm in ALGORITHMS:
            lines = sorted(f"{getattr(f, algorithm)}  {encode_path(f.path)}\n" for f in self.files.values())
            tags[f"manifest-{algorithm}.txt"] = "".join(lines).encode()
        for name, data in tags.items():
            self._write_tag(name, data)
        for algorithm in ALGORITHMS:
            lines = sorted(f"{hashlib.new(algorithm, data).hexdigest()}  {name}\n" for name, data in tags.items())
            self._write_tag(f"tagmanifest-{algorithm}.txt", "".join(lines).encode())
        for rel in self.files:
            os.chmod(self.folder / rel, READ_ONLY)
        for d in sorted(self.dirs, key=lambda p: len(p.parts), reverse=True):
            fsync_dir(d)

    def _write_tag(self, name: str, data: bytes) -> None:
        path = self.folder / name
        with open(path, "xb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(path, READ_ONLY)


# ---------------------------------------------------------------------- reading


def read_manifest(path: Path) -> dict[str, str]:
    return parse_manifest(path.read_bytes(), path.name)


def parse_manifest(data: bytes, name: str) -> dict[str, str]:
    """{relative path: hex digest}; raises ValueError for a line that is not `hash path`."""
    entries: dict[str, str] = {}
    for number, line in enumerate(data.decode("utf-8").splitlines(), 1):
        if not line.strip():
            continue
        parts = line.strip().split(None, 1)
        if len(parts) != 2:
            raise ValueError(f"{name} line {number}: not 'checksum path'")
        entries[decode_path(parts[1].lstrip("*"))] = parts[0].lower()
    return entries


def parse_bag_info(text: str) -> dict[str, str]:
    """bag-info.txt as a dict (the last value of a repeated label; folded lines joined)."""
    info: dict[str, str] = {}
    key = None
    for line in text.splitlines():
        if line[:1] in (" ", "\t") and key:
            info[key] += " " + line.strip()
        elif ":" in line:
            key, _, value = line.partition(":")
            key = key.strip()
            info[key] = value.strip()
    return info
