"""`sohoa ocr --cluster`: the same pages read on a real Dask cluster (a LocalCluster of
worker processes on loopback, as a province runs `dask scheduler` + `dask worker`)."""
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import CASES, SOHOA, need, tree_hashes

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def scheduler():
    need("tesseract")
    from distributed import LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                           host="127.0.0.1", dashboard_address=None)
    try:
        yield cluster.scheduler_address
    finally:
        cluster.close()


def outputs(folder: Path) -> dict:
    """What a clerk reads out of a run: the text files, and dossier.json's documents."""
    found = {}
    for path in sorted(folder.rglob("*.txt")):
        found[path.relative_to(folder).as_posix()] = path.read_text(encoding="utf-8")
    for path in sorted(folder.glob("*/dossier.json")):
        found[path.relative_to(folder).as_posix()] = json.loads(path.read_text())["documents"]
    return found


def test_cluster_reads_the_same_as_local_workers(scheduler, dossiers_out, tmp_path):
    local, _ = dossiers_out
    out = tmp_path / "out"
    before = tree_hashes(CASES[0].parent)
    result = subprocess.run([str(SOHOA), "ocr", *map(str, CASES), "-o", str(out), "--json",
                             "--cluster", scheduler], capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr
    assert tree_hashes(CASES[0].parent) == before  # inputs untouched
    assert json.loads(result.stdout)["cached_pages"] == 0
    cluster, alone = outputs(out), outputs(local)
    assert cluster.keys() == alone.keys() and len(cluster) > 10
    assert cluster == alone


def _cache_entries(out: Path) -> dict[Path, int]:
    return {p: p.stat().st_mtime_ns for p in (out / ".sohoa-cache").rglob("*.json")}


def test_a_job_killed_halfway_resumes_without_redoing_finished_pages(scheduler, tmp_path):
    out = tmp_path / "out"
    args = [str(SOHOA), "ocr", *map(str, CASES), "-o", str(out), "--json", "--cluster", scheduler]
    job = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while len(_cache_entries(out)) < 3 and job.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    job.send_signal(signal.SIGKILL)
    job.wait()
    finished = _cache_entries(out)
    assert len(finished) >= 3

    rerun = subprocess.run(args, capture_output=True, text=True, timeout=900)
    assert rerun.returncode == 0, rerun.stderr
    report = json.loads(rerun.stdout)
    assert report["cached_pages"] == len(finished) < report["pages"]
    after = _cache_entries(out)
    assert {p: after[p] for p in finished} == finished  # not one finished page read again
    assert len(after) > len(finished)
    assert all((out / d["dossier"] / "dossier.json").is_file() for d in report["dossiers"])


def test_an_unreachable_scheduler_is_one_clear_line(tmp_path):
    result = subprocess.run([str(SOHOA), "ocr", str(CASES[0]), "-o", str(tmp_path / "out"),
                             "--cluster", "tcp://127.0.0.1:9"], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in result.stderr


def test_run_reads_its_pages_on_the_cluster_too(scheduler, tmp_path):
    result = subprocess.run([str(SOHOA), "run", str(CASES[0]), "--archive", str(tmp_path / "arch"),
                             "--work", str(tmp_path / "work"), "--no-sign", "--json",
                             "--cluster", scheduler], capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["archived"] == 1 and summary["pages"] > 0
    assert list((tmp_path / "work" / "ocr" / CASES[0].name).glob("*.txt"))


def test_with_a_postgresql_catalogue_any_machine_resumes_the_job(scheduler, tmp_path, pg_server):
    """Setting db: the job's state is the catalogue's ocr_pages; a job killed halfway on one
    machine is finished on another (here: another output folder) without a page read twice."""
    from sohoa.archive import pg

    url = pg_server.url(pg_server.create_database())
    env = {**os.environ, "SOHOA_DB": url}
    first, second = tmp_path / "desk-1", tmp_path / "desk-2"

    def args(out):
        return [str(SOHOA), "ocr", *map(str, CASES), "-o", str(out), "--json", "--cluster", scheduler]

    def rows() -> dict[str, str]:
        con = pg.connect(url)
        try:
            return dict(con.execute("SELECT key, read_at FROM ocr_pages").fetchall())
        except Exception:  # noqa: BLE001 - the table is not there yet
            return {}
        finally:
            con.close()

    job = subprocess.Popen(args(first), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    deadline = time.monotonic() + 300
    while len(rows()) < 3 and job.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    job.send_signal(signal.SIGKILL)
    job.wait()
    finished = rows()
    assert len(finished) >= 3
    assert not (first / ".sohoa-cache").exists(), "the state is in the catalogue, not the folder"
    rerun = subprocess.run(args(second), capture_output=True, text=True, timeout=900, env=env)
    assert rerun.returncode == 0, rerun.stderr
    report = json.loads(rerun.stdout)
    assert report["cached_pages"] == len(finished) < report["pages"]
    after = rows()
    assert {k: after[k] for k in finished} == finished  # not one finished page read again
    assert len(after) > len(finished)
    assert all((second / d["dossier"] / "dossier.json").is_file() for d in report["dossiers"])
