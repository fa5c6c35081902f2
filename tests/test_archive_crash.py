"""Crashes and concurrency: `sohoa archive add` killed at each step (SOHOA_FAULT=<step> makes
the process os._exit there) and by random SIGKILLs, and two `add` at once.

After every crash: every bag at a final path is complete and valid (bagit-python), the
catalogue passes `PRAGMA integrity_check`, no catalogue row points at a missing bag, the
audit chain is intact; the next run completes the work without duplicating anything.
"""
from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import SOHOA, catalogue_exists, integrity, open_catalogue, unpublished
from test_archive import (AGENCY, NO_MARKS_TEXT, OTHER_PLACE_TEXT, QD_TEXT, RECEIPT_TEXT, TWO_MARKS_TEXT,
                          make_dossier, metadata, qd_meta, validate_all_bags)

STEPS = ["copy", "payload", "bag", "intent", "upload", "rename", "commit", "cleanup"]
FAULT_EXIT = 86


def build_inputs(base: Path, count: int = 6) -> Path:
    texts = [QD_TEXT, RECEIPT_TEXT, NO_MARKS_TEXT, OTHER_PLACE_TEXT, TWO_MARKS_TEXT]
    for i in range(count):
        kind = ("jpg", "tif", "pdf")[i % 3]
        make_dossier(base, f"000.00.12.H27-2306{10 + i:02d}-{i + 1:04d}", f"000.00.12.H27-2306{10 + i:02d}-{i + 1:04d}", [
            {"name": "tiep_nhan", "text": texts[(i + 1) % 5], "meta": metadata(doc_type="Giấy tiếp nhận")},
            {"name": "quyet_dinh", "text": texts[i % 5], "meta": qd_meta(), "pages": 2},
            {"name": "don", "text": texts[(i + 2) % 5], "pages": 3},
        ], kind=kind)
    return base / "out"


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> Path:
    return build_inputs(tmp_path_factory.mktemp("crash-in"))


def env(**extra) -> dict:
    kept = {k: v for k, v in os.environ.items() if not k.startswith("SOHOA_") or k in ("SOHOA_DB", "SOHOA_STORE")}
    return {**kept, "COLUMNS": "200", **extra}


def add(arch: Path, inputs: Path, **extra_env) -> subprocess.CompletedProcess:
    return subprocess.run([str(SOHOA), "archive", "add", str(inputs), "--archive", str(arch), "--agency-code", AGENCY,
                           "--json"], capture_output=True, text=True, env=env(**extra_env), timeout=300)


def consistent(arch: Path) -> tuple[set[str], set[str]]:
    """The invariants that must hold at any moment; returns (bags on disk, catalogued versions)."""
    from sohoa.archive import audit

    bags = set(validate_all_bags(arch))  # every folder at a final path (on S3: every published bag)
    for p in bags:
        assert p.split("/")[-1].startswith("v"), f"not a version at a final path: {p}"
    if not catalogue_exists(arch):
        return bags, set()
    con = open_catalogue(arch)
    try:
        assert integrity(con) == "ok"
        catalogued = {r[0] for r in con.execute("SELECT path FROM versions")}
        assert catalogued <= bags, f"catalogue rows pointing at nothing: {catalogued - bags}"
        orphans = con.execute("SELECT COUNT(*) FROM documents d LEFT JOIN versions v ON v.id = d.version_id "
                              "WHERE v.id IS NULL").fetchone()[0]
        assert orphans == 0
        latest = con.execute("SELECT COUNT(*) FROM dossiers s LEFT JOIN versions v ON v.id = s.latest_version_id "
                             "WHERE v.id IS NULL").fetchone()[0]
        assert latest == 0
        chain = audit.verify(con)
        assert chain.ok, chain.problems
    finally:
        con.close()
    return bags, catalogued


def staging_leftovers(arch: Path) -> list[str]:
    return sorted(p.name for p in (arch / ".staging").iterdir()) if (arch / ".staging").is_dir() else []


@pytest.mark.parametrize("step", STEPS)
def test_killed_at_each_step_then_the_next_run_completes(inputs, tmp_path, step):
    arch = tmp_path / "arch"
    crashed = add(arch, inputs, SOHOA_FAULT=step)
    assert crashed.returncode == FAULT_EXIT, crashed.stderr
    bags, catalogued = consistent(arch)
    if step in ("copy", "payload", "bag", "intent", "upload"):
        assert bags == set(), "nothing reaches a final path before the rename"
    else:
        assert len(bags) == 1  # renamed into place, catalogued (commit... cleanup) or not yet
        assert len(catalogued) == (1 if step == "cleanup" else 0)
    if step != "cleanup":
        assert staging_leftovers(arch), "the dead ingest's staging area is still there"
    done = add(arch, inputs)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    bags, catalogued = consistent(arch)
    assert len(bags) == 6 and bags == catalogued
    assert all(b.endswith("/v0001") for b in bags), "a crash never makes a second version"
    assert staging_leftovers(arch) == []
    assert unpublished(arch) == [], "what an interrupted upload left is gone"
    assert report["failed"] == 0 and report["added"] + (1 if step in ("rename", "commit", "cleanup") else 0) == 6
    con = open_catalogue(arch)
    events = con.execute("SELECT object FROM events WHERE type = 'ingestion' AND outcome = 'success' "
                         "AND detail NOT LIKE '%unchanged%'").fetchall()
    assert sorted(e[0] for e in events) == sorted(bags), "one ingest event per stored version"
    assert con.execute("SELECT COUNT(*) FROM documents").fetchone()[0] == 18


def test_random_sigkills_never_corrupt_the_archive(inputs, tmp_path):
    """Runs each changing every dossier (so that each has real work), killed with SIGKILL
    at a random moment of a whole run's time, until 20 were killed; the archive is
    checked after each."""
    arch = tmp_path / "arch"
    inputs = Path(shutil.copytree(inputs, tmp_path / "out"))
    rng = random.Random(7)
    killed, run, durations = 0, 0, []
    while killed < 20:  # the first run goes to its end: how long a whole run takes here
        assert run < 60, f"only {killed} of {run} runs were killed"
        for folder in sorted(inputs.iterdir()):
            dossier = json.loads((folder / "dossier.json").read_text(encoding="utf-8"))
            dossier["documents"][1]["metadata"]["subject"] = f"Về việc điều chỉnh lần {run}"
            (folder / "dossier.json").write_text(json.dumps(dossier, ensure_ascii=False), encoding="utf-8")
        process = subprocess.Popen([str(SOHOA), "archive", "add", str(inputs), "--archive", str(arch),
                                    "--agency-code", AGENCY], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                   env=env())
        limit = rng.uniform(0.05, 0.95) * sum(durations) / len(durations) if durations else 300
        started = time.monotonic()
        try:
            process.wait(timeout=limit)
            durations.append(time.monotonic() - started)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGKILL)
            process.wait()
            killed += 1
        consistent(arch)
        run += 1
    done = add(arch, inputs)
    assert done.returncode == 0, done.stderr
    bags, catalogued = consistent(arch)
    assert bags == catalogued
    assert staging_leftovers(arch) == [] and unpublished(arch) == []
    again = json.loads(add(arch, inputs).stdout)
    assert again["unchanged"] == 6, "the last content is stored exactly once"
    con = open_catalogue(arch)
    rows = con.execute("SELECT s.folder, v.version, v.fingerprint FROM versions v JOIN dossiers s ON s.id = v.dossier_id "
                       "ORDER BY s.folder, v.version").fetchall()
    for (f1, n1, fp1), (f2, n2, fp2) in zip(rows, rows[1:]):
        if f1 == f2:
            assert n2 == n1 + 1, "versions are numbered without gaps"
            assert fp1 != fp2, "no version repeats the content of the one before"


def test_two_adds_at_once_are_safe(inputs, tmp_path):
    arch = tmp_path / "arch"
    command = [str(SOHOA), "archive", "add", str(inputs), "--archive", str(arch), "--agency-code", AGENCY, "--json"]
    processes = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env())
                 for _ in range(2)]
    outputs = [p.communicate(timeout=300) for p in processes]
    for p, (out, errors) in zip(processes, outputs):
        assert p.returncode == 0, errors
    reports = [json.loads(out) for out, _ in outputs]
    assert sum(r["added"] for r in reports) == 6 and sum(r["unchanged"] for r in reports) == 6
    bags, catalogued = consistent(arch)
    assert len(bags) == 6 and bags == catalogued and all(b.endswith("/v0001") for b in bags)
    con = open_catalogue(arch)
    assert con.execute("SELECT COUNT(*) FROM events").fetchone()[0] == 12


def test_ctrl_c_stops_cleanly_and_leaves_nothing_half_done(inputs, tmp_path):
    arch = tmp_path / "arch"
    command = [str(SOHOA), "archive", "add", str(inputs), "--archive", str(arch), "--agency-code", AGENCY]
    for _ in range(2):
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env())
        seen = []
        for line in process.stderr:  # wait until a dossier is in, then press Ctrl-C
            seen.append(line)
            if line.startswith(("✓", "=")):
                process.send_signal(signal.SIGINT)
                break
        seen += process.stderr.readlines()
        assert process.wait(timeout=120) in (0, 130), "".join(seen)
        text = "".join(seen)
        assert "Traceback" not in text
        if process.returncode == 130:
            assert "Interrupted" in text
        consistent(arch)
        assert staging_leftovers(arch) == []
    done = add(arch, inputs)
    assert done.returncode == 0, done.stderr
    bags, catalogued = consistent(arch)
    assert len(bags) == 6 and bags == catalogued
