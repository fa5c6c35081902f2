"""`sohoa ocr --cluster` on a Dask LocalCluster against `sohoa ocr --jobs N` on the same pages.

    .venv/bin/python bench/ocr_cluster.py [--dossiers 8] [--seed 17] [--workers 1 2]

Generates degraded scanned dossiers (kept in bench/out/cluster/, not committed), then for
each N runs the same command twice, from a cold page cache (`--no-resume`): locally with
`--jobs N`, and with `--cluster` on a LocalCluster of N single-threaded worker processes
on loopback (started before the clock starts, as a province's cluster is already up).
Prints pages/min for each, Dask's overhead (target ≤ 10%) and how the cluster's
throughput scales from 1 to 2 workers, and the CPU-seconds a page costs, from which the
README works out a province's number of workers.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "out" / "cluster"
SOHOA = Path(sys.executable).parent / "sohoa"


def scans(dossiers: int, seed: int) -> list[Path]:
    folder = OUT / f"scans-{seed}-{dossiers}"
    if not folder.exists():
        from sohoa.samples.generate import generate

        generate(folder, dossiers=dossiers, seed=seed, stacked_batch=False)
    return sorted(folder.glob("case*"))


def run(cases: list[Path], extra: list[str]) -> tuple[float, int]:
    """(seconds, pages) of one cold `sohoa ocr` run."""
    out = OUT / "run"
    started = time.perf_counter()
    proc = subprocess.run([str(SOHOA), "ocr", *map(str, cases), "-o", str(out), "--json",
                           "--no-resume", *extra], capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        sys.exit(f"sohoa ocr {' '.join(extra)} failed: {proc.stderr[-500:]}")
    return seconds, json.loads(proc.stdout)["pages"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dossiers", type=int, default=8)
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    from distributed import LocalCluster

    cases = scans(args.dossiers, args.seed)
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
    rates = {}
    for n in args.workers:
        local, pages = run(cases, ["--jobs", str(n)])
        cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                               host="127.0.0.1", dashboard_address=None)
        try:
            cpu0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            remote, _ = run(cases, ["--cluster", cluster.scheduler_address])
            cpu1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        finally:
            cluster.close()  # its worker processes end: their CPU time is counted now
        cpu2 = resource.getrusage(resource.RUSAGE_CHILDREN)
        rates[n] = pages / remote * 60
        print(f"{n} worker(s), {pages} pages: --jobs {n} {pages / local * 60:.1f} pages/min, "
              f"--cluster {rates[n]:.1f} pages/min; Dask's overhead {remote / local - 1:+.1%} "
              f"(target ≤ +10%)")
        client_cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
        worker_cpu = (cpu2.ru_utime - cpu1.ru_utime) + (cpu2.ru_stime - cpu1.ru_stime)
        print(f"  CPU a page: {worker_cpu / pages:.2f} s on the workers (reading), "
              f"{client_cpu / pages:.2f} s in the client (PDFs, metadata, cache)")
    if len(rates) > 1:
        low, high = min(rates), max(rates)
        print(f"scaling {low} → {high} workers: ×{rates[high] / rates[low]:.2f} "
              f"(×{high / low:.0f} is linear)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
