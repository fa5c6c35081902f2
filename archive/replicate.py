"""`sohoa archive replicate --to PATH`: a second copy of the archive, verified after copy.

Circular 05/2025/TT-BNV asks for at least two copies on independent media. Each bag
version not yet at PATH is copied into PATH/.staging/, fsync'ed, evicted from the page
cache (so that the check reads the medium, not memory), checked against its manifests
(both algorithms), then renamed into place; versions already there are compared by
their tag manifest. A consistent snapshot of the catalogue (SQLite backup; a PostgreSQL catalogue is copied
into a new SQLite one) goes to PATH/catalogue.sqlite3: the replica stands on its own. Copying to the same device as the archive works but is reported:
it is not an independent medium.
"""
from __future__ import annotations

import os
import sqlite3
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from sohoa.cli.errors import UsageError
from sohoa.cli.fsio import fsync_dir

from . import layout as L
from .bag import ALGORITHMS
from .bags import DiskBags
from .s3 import StoreError
from .fixity import Problem, check_paths
from .store import Archive, mkdirs_durable, remove_tree


@dataclass
class ReplicaReport:
    destination: str
    copied: int = 0
    present: int = 0
    bytes: int = 0
    seconds: float = 0.0
    same_device: bool = False
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self) -> dict:
        return {"destination": self.destination, "ok": self.ok, "copied": self.copied,
                "present": self.present, "bytes": self.bytes, "seconds": round(self.seconds, 3),
                "same_device": self.same_device, "problems": [p.to_json() for p in self.problems]}


def _copy_bag(bags, version: str, dst: Path) -> int:
    stored = bags.files(version)
    if stored is None:
        raise FileNotFoundError(f"{version}: not in {bags}")
    dst.mkdir()
    dirs = {dst}
    size = 0
    for name in sorted(stored):
        target = dst / name
        for parent in reversed(target.relative_to(dst).parents[:-1]):
            if dst / parent not in dirs:
                (dst / parent).mkdir()
                dirs.add(dst / parent)
        size += bags.copy_to(version, name, target)
    for d in sorted(dirs, key=lambda p: -len(p.parts)):
        fsync_dir(d)
    return size


def _same_tags(bags, version: str, copy: Path) -> bool:
    name = "tagmanifest-sha256.txt"
    try:
        return bags.read(version, name) == (copy / name).read_bytes()
    except OSError:
        return False


def replicate(arch: Archive, destination: Path, on_start=None, on_version=None) -> ReplicaReport:
    started = time.perf_counter()
    dest = destination.absolute()
    src_root = arch.paths.root
    if dest == src_root or src_root in dest.parents or dest in src_root.parents:
        raise UsageError(f"{dest}: the replica must be outside the archive (and not contain it)")
    dest_paths = L.ArchivePaths(dest)
    for d in (dest, dest_paths.fonds, dest_paths.staging):
        mkdirs_durable(d)
    same_device = arch.bags.kind == "disk" and os.stat(dest).st_dev == os.stat(src_root).st_dev
    report = ReplicaReport(str(dest), same_device=same_device)
    versions = arch.bags.all_versions()
    if on_start:
        on_start(len(versions))
    for rel in versions:
        target = dest / rel
        if target.exists():
            if _same_tags(arch.bags, rel, target):
                report.present += 1
            else:
                report.problems.append(Problem("conflict", rel, "a different bag is already at this path in the replica"))
        else:
            staging = dest_paths.staging / f"{uuid.uuid4().hex}"
            try:
                report.bytes += _copy_bag(arch.bags, rel, staging)
                [result] = check_paths(DiskBags(dest_paths.staging), [staging.name], ALGORITHMS)
                if result.problems:
                    for p in result.problems:
                        report.problems.append(Problem(p.kind, rel + p.path[len(staging.name):], "in the copy: " + p.detail))
                else:
                    mkdirs_durable(target.parent)
                    os.rename(staging, target)
                    fsync_dir(target.parent)
                    report.copied += 1
            except (OSError, StoreError) as exc:
                report.problems.append(Problem("unreadable", rel, f"copy failed: {getattr(exc, 'strerror', None) or exc}"))
            finally:
                remove_tree(staging)
        if on_version:
            on_version()
    _snapshot_catalogue(arch, dest_paths.catalogue)
    report.seconds = time.perf_counter() - started
    return report


def _snapshot_catalogue(arch: Archive, target: Path) -> None:
    partial = target.with_name(f".{target.name}.partial-{os.getpid()}")
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(str(partial) + suffix).unlink(missing_ok=True)
    if arch.postgres:  # the replica gets an SQLite catalogue of its own
        arch.catalogue.copy_to_sqlite(partial)
    else:
        dst = sqlite3.connect(partial)
        try:
            arch.catalogue.con.backup(dst)
            dst.execute("PRAGMA journal_mode = DELETE")
        finally:
            dst.close()
    with open(partial, "rb+") as f:
        os.fsync(f.fileno())
    for suffix in ("-wal", "-shm"):
        Path(str(target) + suffix).unlink(missing_ok=True)
    os.replace(partial, target)
    fsync_dir(target.parent)
