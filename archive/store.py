"""An archive folder: its paths, catalogue, locks, staging areas and crash recovery.

Locks are `flock` locks on files under `.locks/` (released by the kernel when a process
dies): the archive lock is taken shared by every writer and exclusively by `reindex`; a
dossier lock serialises the ingests of one dossier (deciding its next version, renaming
the bag into place, cataloguing it). Two `sohoa archive add` at once are therefore safe.

A staging area is `.staging/<id>/` with a lock file `.staging/<id>.lock` held by its
owner. Its life: bag built in `<id>/bag/` → `<id>/intent.json` names the final path →
rename into `fonds/…` → catalogue commit → area removed. `recover()` looks at areas whose
owner died (their lock is free): if the rename happened, it catalogues the bag; anything
else is a bag that never reached its final path and is deleted.
"""
from __future__ import annotations

import errno
import fcntl
import json
import os
import shutil
import signal
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sohoa.cli.errors import UsageError
from sohoa.cli.fsio import fsync_dir, write_text

from . import pg
from .s3 import S3Location
from .bags import open_bags
from .catalogue import Catalogue
from .layout import ArchivePaths

FAULT_ENV = "SOHOA_FAULT"
FAULT_EXIT = 86


def fault(step: str) -> None:
    """Fault injection for the crash tests: SOHOA_FAULT=<step> exits hard at that step."""
    if os.environ.get(FAULT_ENV) == step:
        os._exit(FAULT_EXIT)


@contextmanager
def flocked(path: Path, *, shared: bool = False, blocking: bool = True):
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        flags = fcntl.LOCK_SH if shared else fcntl.LOCK_EX
        try:
            fcntl.flock(fd, flags | (0 if blocking else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)


@contextmanager
def deferred_interrupt():
    """Ctrl-C inside the block takes effect after it (the rename-and-commit step)."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: received.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if received:
            raise KeyboardInterrupt


def mkdirs_durable(path: Path) -> None:
    """mkdir -p, each new folder made durable in its parent."""
    missing = []
    p = path
    while not p.exists():
        missing.append(p)
        p = p.parent
    for d in reversed(missing):
        try:
            d.mkdir()
        except FileExistsError:
            pass
        fsync_dir(d.parent)


@dataclass
class StagingArea:
    folder: Path
    lock_path: Path
    fd: int

    @property
    def bag(self) -> Path:
        return self.folder / "bag"

    @property
    def intent(self) -> Path:
        return self.folder / "intent.json"

    def write_intent(self, target: str) -> None:
        with open(self.intent, "x", encoding="utf-8") as f:
            json.dump({"target": target, "pid": os.getpid()}, f)
            f.flush()
            os.fsync(f.fileno())
        fsync_dir(self.folder)


class Archive:
    """`db`: a postgresql:// URL for the catalogue of a new archive (setting `db`); an
    archive keeps the catalogue it was made with (`catalogue.url` records it), and `db`
    given with `db_given` (the --db flag) must then name that same catalogue. `store`
    (setting `store`, flag `--store`): likewise, where a new archive keeps its bags, an
    s3://bucket/prefix (`store.url` records it); else the archive folder's fonds/."""

    def __init__(self, root: Path, *, create: bool = False, db: str | None = None, db_given: bool = False,
                 store: str | None = None, store_given: bool = False):
        self.paths = ArchivePaths(Path(root).absolute())
        root = self.paths.root
        self._create = create
        self._record_url = False
        existed = self.paths.catalogue_url.is_file() or self.paths.catalogue.exists()
        self.catalogue_location = self._locate_catalogue(db, db_given)
        self.store_location = self._locate_store(store, store_given, existed)
        if create:
            mkdirs_durable(root)
            for d in (self.paths.staging, self.paths.locks):
                mkdirs_durable(d)
            if self.store_location is None:
                mkdirs_durable(self.paths.fonds)
        self._record_store = create and self.store_location is not None and not self.paths.store_url.is_file()
        self.bags = open_bags(root, self.store_location)
        self._catalogue: Catalogue | None = None

    def _locate_store(self, store: str | None, store_given: bool, existed: bool) -> str | None:
        root, paths = self.paths.root, self.paths
        if store:
            store = str(S3Location.parse(store))
        recorded = paths.store_url.read_text(encoding="utf-8").strip() if paths.store_url.is_file() else None
        if recorded:
            if store and store_given and store != recorded:
                raise UsageError(f"{root}: its bags are in {recorded} (store.url), not {store} "
                                 "— leave out --store or give that one")
            return recorded
        if existed:
            if store and store_given:
                raise UsageError(f"{root}: its bags are in its fonds/ folder — leave out --store for this archive")
            return None
        return store

    def _locate_catalogue(self, db: str | None, db_given: bool) -> Path | str:
        root, paths = self.paths.root, self.paths
        if db:
            pg.check_url(db)
        recorded = paths.catalogue_url.read_text(encoding="utf-8").strip() if paths.catalogue_url.is_file() else None
        if recorded:
            if db and pg.same_place(db, recorded):
                return db  # the same catalogue, maybe with its password
            if db and db_given:
                raise UsageError(f"{root}: its catalogue is {recorded} (catalogue.url), not {pg.redact(db)} "
                                 "— leave out --db or give that one")
            return recorded
        if paths.catalogue.exists():
            if db and db_given:
                raise UsageError(f"{root}: its catalogue is {paths.catalogue.name} in the archive "
                                 "— leave out --db for this archive")
            return paths.catalogue
        if not self._create:
            raise UsageError(f"{root}: not an archive (no catalogue.sqlite3) — "
                             "create one with: sohoa archive add OUT --archive "
                             f"{root}")
        if db:
            self._record_url = True
            return db
        return paths.catalogue

    def connect(self) -> None:
        """Open a PostgreSQL catalogue and reach the object store now: a server that cannot
        be reached is said before any work starts (an SQLite one is opened when first used)."""
        if self.postgres:
            self.catalogue
        if self.bags.kind == "s3":
            self.bags.store.check()
        self._write_store_url()

    @property
    def postgres(self) -> bool:
        return pg.is_url(self.catalogue_location)

    @property
    def catalogue(self) -> Catalogue:
        if self._catalogue is None:
            self._catalogue = Catalogue(self.catalogue_location, create=self._create or not self.postgres)
            if self.postgres:
                self._pair(self._catalogue)
            if self._record_url:
                self._write_catalogue_url()
            self._write_store_url()  # before any bag is stored there
        return self._catalogue

    def _pair(self, cat: Catalogue) -> None:
        """A PostgreSQL catalogue indexes the bags of one archive: it records where they are
        (meta `bags`), and an archive keeping its bags elsewhere is refused."""
        mine = self.store_location or "fonds/"
        row = cat.con.execute("SELECT value FROM meta WHERE key = 'bags'").fetchone()
        if row is None:
            with cat.write() as con:
                row = con.execute("SELECT value FROM meta WHERE key = 'bags'").fetchone()
                if row is None and not (mine != "fonds/" and con.execute("SELECT 1 FROM versions LIMIT 1").fetchone()):
                    con.execute("INSERT INTO meta (key, value) VALUES ('bags', ?)", (mine,))
                    return
        theirs = row[0] if row else "fonds/"
        if theirs != mine:
            cat.close()
            where = "an archive folder's fonds/" if theirs == "fonds/" else theirs
            raise UsageError(f"catalogue {cat.path} indexes the bags in {where}, not those of "
                             f"{self.paths.root} — give each archive a database of its own")

    def _write_store_url(self) -> None:
        """Every machine that opens this archive then finds its bags."""
        if self._record_store:
            write_text(self.paths.store_url, self.store_location + "\n")
            self._record_store = False

    def _write_catalogue_url(self) -> None:
        """Every machine that opens this archive then uses the same catalogue."""
        write_text(self.paths.catalogue_url, pg.redact(str(self.catalogue_location)) + "\n")
        self._record_url = False


    def close(self) -> None:
        if self._catalogue is not None:
            self._catalogue.close()
            self._catalogue = None

    def __enter__(self) -> "Archive":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ---------------------------------------------------------------- locks

    def archive_lock(self, *, exclusive: bool = False):
        return flocked(self.paths.locks / "archive.lock", shared=not exclusive)

    @contextmanager
    def dossier_lock(self, key: str):
        """This machine's lock of the dossier, and on a PostgreSQL catalogue every machine's."""
        with flocked(self.paths.lock_for(key)):
            if not self.postgres:
                yield
                return
            with self.catalogue.con.session_lock(f"sohoa dossier {key}"):
                yield

    # ---------------------------------------------------------------- staging

    @contextmanager
    def staging_area(self):
        """A fresh staging area, removed on exit (whatever happened, Ctrl-C included)."""
        area = None
        try:
            with deferred_interrupt():
                area = self._open_staging_area()
            yield area
        finally:
            if area is not None:
                with deferred_interrupt():
                    try:
                        remove_tree(area.folder)
                        area.lock_path.unlink(missing_ok=True)
                    finally:
                        os.close(area.fd)

    def _open_staging_area(self) -> StagingArea:
        staging = self.paths.staging
        mkdirs_durable(staging)
        ident = f"{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        tmp_lock = staging / f"{ident}.lock.tmp"
        fd = os.open(tmp_lock, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o666)
        fcntl.flock(fd, fcntl.LOCK_EX)
        lock_path = staging / f"{ident}.lock"
        os.rename(tmp_lock, lock_path)  # the lock is held before anyone can see it
        folder = staging / ident
        folder.mkdir()
        return StagingArea(folder, lock_path, fd)

    def dead_areas(self):
        """Staging areas whose owner is gone, each locked by us while handled."""
        staging = self.paths.staging
        if not staging.is_dir():
            return
        for lock_path in sorted(staging.glob("*.lock")):
            try:
                fd = os.open(lock_path, os.O_RDWR)
            except FileNotFoundError:
                continue
            try:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue  # its owner is at work
                if not lock_path.exists():
                    continue  # removed by its owner meanwhile
                yield StagingArea(staging / lock_path.name[:-5], lock_path, fd)
            finally:
                os.close(fd)
        now = time.time()
        for stray in staging.iterdir():
            try:
                if stray.name.endswith(".lock.tmp") and now - stray.stat().st_mtime > 3600:
                    stray.unlink()
                elif stray.is_dir() and not (staging / f"{stray.name}.lock").exists() \
                        and now - stray.stat().st_mtime > 3600:
                    remove_tree(stray)
            except FileNotFoundError:
                continue


def remove_tree(path: Path) -> None:
    """rmtree that also removes read-only files and does not mind a missing folder."""
    if not path.exists():
        return

    def onerror(func, name, exc_info):
        exc = exc_info[1]
        if isinstance(exc, FileNotFoundError):
            return
        if isinstance(exc, PermissionError) or getattr(exc, "errno", None) == errno.EACCES:
            os.chmod(os.path.dirname(name), 0o755)
            if os.path.isdir(name) and not os.path.islink(name):
                os.chmod(name, 0o755)
                shutil.rmtree(name, onerror=onerror)
            else:
                os.unlink(name)
            return
        raise exc

    shutil.rmtree(path, onerror=onerror)
