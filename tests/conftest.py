"""Shared test helpers: drive the installed `sohoa` command like a user."""
import hashlib
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import pytest

pytest_plugins = ["conftest_pki"]

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
SOHOA = Path(sys.executable).parent / "sohoa"
SAMPLES = REPO / "samples" / "dossiers"
CASES = sorted(SAMPLES.glob("case*"))


def run_sohoa(*args, cwd=None, env=None, input=None) -> subprocess.CompletedProcess:
    """Run the installed console script; returns the completed process (text mode)."""
    full_env = {**os.environ, "COLUMNS": "200", **(env or {})}
    return subprocess.run([str(SOHOA), *map(str, args)], cwd=cwd, env=full_env, input=input,
                          capture_output=True, text=True, timeout=600)


@pytest.fixture
def sohoa():
    return run_sohoa


# ----------------------------------------------------------------- catalogue back end

def pytest_addoption(parser):
    parser.addoption("--catalogue", choices=("sqlite", "postgresql"),
                     default=os.environ.get("SOHOA_TEST_CATALOGUE", "sqlite"),
                     help="Back end of the archive catalogues the tests make: sqlite (in the archive) "
                          "or postgresql (a throwaway server, a database per test, in SOHOA_DB).")
    parser.addoption("--store", choices=("disk", "s3"), default=os.environ.get("SOHOA_TEST_STORE", "disk"),
                     help="Where the archives the tests make keep their bags: disk (fonds/ in the archive) "
                          "or s3 (a throwaway S3-compatible server, a bucket per test, in SOHOA_STORE).")


@pytest.fixture(scope="session")
def s3_server():
    from s3_server import S3Server

    server = S3Server().start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def bag_store(request, monkeypatch):
    """Where this test's archives keep their bags (SOHOA_STORE): an s3:// URL on a
    throwaway S3-compatible server (a bucket per test), or None for the archive folder."""
    monkeypatch.delenv("SOHOA_STORE", raising=False)
    if request.config.getoption("--store") != "s3":
        yield None
        return
    server = request.getfixturevalue("s3_server")
    bucket = f"t-{uuid.uuid4().hex[:20]}"
    server.create_bucket(bucket)
    for key, value in server.env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("SOHOA_STORE", f"s3://{bucket}/sohoa")
    yield f"s3://{bucket}/sohoa"


@pytest.fixture(scope="session")
def pg_server(request):
    from pg_server import PgServer

    server = PgServer().start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def catalogue_db(request, monkeypatch):
    """The catalogue URL of this test's archives (SOHOA_DB), or None for SQLite."""
    monkeypatch.delenv("SOHOA_DB", raising=False)
    if request.config.getoption("--catalogue") != "postgresql":
        yield None
        return
    server = request.getfixturevalue("pg_server")
    name = server.create_database()
    url = server.url(name)
    monkeypatch.setenv("SOHOA_DB", url)
    yield url
    server.drop_database(name)


def open_catalogue(arch: Path):
    """An archive's catalogue for the tests to read or tamper with: an sqlite3 connection,
    or sohoa's PostgreSQL connection (the same execute(sql with ?, args) interface)."""
    if (arch / "catalogue.url").exists():
        from sohoa.archive import pg

        return pg.connect((arch / "catalogue.url").read_text(encoding="utf-8").strip())
    return sqlite3.connect(arch / "catalogue.sqlite3")


def catalogue_exists(arch: Path) -> bool:
    return (arch / "catalogue.sqlite3").exists() or (arch / "catalogue.url").exists()


def integrity(con) -> str:
    """'ok' when the catalogue's storage is sound (SQLite's integrity_check, amcheck)."""
    if isinstance(con, sqlite3.Connection):
        return con.execute("PRAGMA integrity_check").fetchone()[0]
    from sohoa.archive import pg

    return pg.integrity_check(con)


def lose_catalogue(arch: Path) -> None:
    """The catalogue is gone (its file deleted, its tables dropped); the bags stay."""
    if (arch / "catalogue.url").exists():
        con = open_catalogue(arch)
        con.execute("DROP SCHEMA public CASCADE")
        con.execute("CREATE SCHEMA public")
        con.close()
        return
    for suffix in ("", "-wal", "-shm"):
        Path(str(arch / "catalogue.sqlite3") + suffix).unlink(missing_ok=True)


# ----------------------------------------------------------------- bag store

def _s3_bags(arch: Path):
    """sohoa's own reader of the archive's store, or None for bags on disk."""
    if not (arch / "store.url").exists():
        return None
    from sohoa.archive.bags import S3Bags

    return S3Bags((arch / "store.url").read_text(encoding="utf-8").strip())


def stored_versions(arch: Path) -> list[str]:
    """The version paths (fonds/…/vNNNN) stored in the archive: folders on disk, published
    bags (their tag manifest written) on S3."""
    bags = _s3_bags(arch)
    if bags is None:
        return sorted(p.relative_to(arch).as_posix() for p in (arch / "fonds").glob("*/*/*/*") if p.is_dir())
    return bags.all_versions()


def stored_files(arch: Path) -> list[str]:
    """Every file (object) under fonds/, published or not."""
    bags = _s3_bags(arch)
    if bags is None:
        return sorted(p.relative_to(arch).as_posix() for p in (arch / "fonds").rglob("*") if p.is_file())
    return sorted(bags.store.list("fonds/"))


def unpublished(arch: Path) -> list[str]:
    """Objects on S3 under no published version (what an interrupted upload left)."""
    published = set(stored_versions(arch))
    return [f for f in stored_files(arch) if "/".join(f.split("/")[:5]) not in published]


def bag_dir(arch: Path, version: str) -> Path:
    """A folder holding the stored bag: itself on disk, a fresh download of it from S3."""
    bags = _s3_bags(arch)
    if bags is None:
        return arch / version
    local = Path(tempfile.mkdtemp(prefix="bag-", dir=arch.parent)) / version.split("/")[-1]
    local.mkdir()
    store = bags.store
    for name in store.list(version + "/"):
        target = local / name[len(version) + 1:]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(store.read_bytes(name))
    return local


def damage(arch: Path, name: str, data: bytes | None) -> None:
    """What bit rot or a careless hand does to a stored file (fonds/…): new bytes, or gone
    (data None). On S3 the object is replaced behind sohoa's back."""
    bags = _s3_bags(arch)
    if bags is None:
        path = arch / name
        if data is None:
            path.unlink()
            return
        if path.exists():
            os.chmod(path, 0o644)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return
    store = bags.store
    key = store.location.prefix + name
    if data is None:
        store.client.delete_object(Bucket=store.location.bucket, Key=key)
    else:
        store.client.put_object(Bucket=store.location.bucket, Key=key, Body=data)


# ----------------------------------------------------------------- configuration

@pytest.fixture
def isolated_config(tmp_path, monkeypatch, catalogue_db, bag_store):
    """A working folder and user config folder of the test's own (the back ends of the run
    stay: SOHOA_DB under --catalogue postgresql, SOHOA_STORE under --store s3)."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    for key in list(os.environ):
        if key.startswith("SOHOA_"):
            monkeypatch.delenv(key)
    if catalogue_db:
        monkeypatch.setenv("SOHOA_DB", catalogue_db)
    if bag_store:
        monkeypatch.setenv("SOHOA_STORE", bag_store)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return work


def need(program: str) -> str:
    path = shutil.which(program)
    if not path:
        pytest.skip(f"{program} is not installed (make setup installs it)")
    return path


def tree_hashes(folder: Path) -> dict:
    return {p: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in folder.rglob("*") if p.is_file() and not p.is_symlink()}


@pytest.fixture(scope="session")
def dossiers_out(tmp_path_factory):
    """`sohoa ocr` run once on the committed sample dossiers, shared by every test
    module that reads its output: (output folder, completed process)."""
    need("tesseract")
    out = tmp_path_factory.mktemp("ocr") / "out"
    before = tree_hashes(SAMPLES)
    result = subprocess.run([str(SOHOA), "ocr", *map(str, CASES), "-o", str(out), "--json"],
                            capture_output=True, text=True, timeout=900)
    assert tree_hashes(SAMPLES) == before, "sohoa ocr must never modify its inputs"
    return out, result


@pytest.fixture(scope="session")
def batch_out(tmp_path_factory):
    need("tesseract")
    out = tmp_path_factory.mktemp("ocr-batch") / "out"
    result = subprocess.run([str(SOHOA), "ocr", str(SAMPLES / "batch"), "-o", str(out),
                             "--split", "qr", "--json"], capture_output=True, text=True,
                            timeout=900)
    return out, result
