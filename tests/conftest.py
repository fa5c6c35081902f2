"""Shared test helpers: drive the installed `sohoa` command like a user."""
import hashlib
import os
import shutil
import sqlite3
import subprocess
import sys
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


# ----------------------------------------------------------------- configuration

@pytest.fixture
def isolated_config(tmp_path, monkeypatch, catalogue_db):
    """A working folder and user config folder of the test's own (the catalogue back end
    of the run stays: SOHOA_DB under --catalogue postgresql)."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    for key in list(os.environ):
        if key.startswith("SOHOA_"):
            monkeypatch.delenv(key)
    if catalogue_db:
        monkeypatch.setenv("SOHOA_DB", catalogue_db)
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
