"""Shared test helpers: drive the installed `sohoa` command like a user."""
import hashlib
import os
import shutil
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


@pytest.fixture
def isolated_config(tmp_path, monkeypatch):
    """A working folder and user config folder of the test's own."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    for key in list(os.environ):
        if key.startswith("SOHOA_"):
            monkeypatch.delenv(key)
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
