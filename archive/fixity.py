"""`sohoa archive check`: every file of every bag against the bag's own manifests.

Reports, with their paths in the archive: `changed` (checksum differs), `missing`
(listed in a manifest, not on disk), `unexpected` (on disk, in no manifest; on a full
check also anything in `fonds/` outside the bags), `unreadable` (a manifest or a file that
cannot be read), `bag missing` (catalogued, not on disk) and `not catalogued` (a bag on
disk that the catalogue does not know: `sohoa archive reindex`). Nothing is repaired. `--sample N` checks the N versions whose last check is
the oldest (never-checked first): run it daily for a rolling check of the whole archive.
Bags are listed and their manifests read by a few threads ahead of the hashing; files
are read once, in large blocks, by two threads per core (hashlib releases the GIL) while
the kernel reads the next 32 MB ahead (posix_fadvise WILLNEED): enough to keep the disk
busy, little enough that the listing's own small reads do not queue behind it (how each
store is read: `bags.py`).
"""
from __future__ import annotations

import hashlib
import os
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from .bag import parse_manifest
from .s3 import StoreError
from .store import Archive

PLANNERS = 4
PLANS_AHEAD = 16
PREFETCH_BYTES = 32 << 20


@dataclass
class Problem:
    kind: str
    path: str
    detail: str = ""

    def to_json(self) -> dict:
        return {"kind": self.kind, "path": self.path, "detail": self.detail}


@dataclass
class BagCheck:
    path: str
    files: int = 0
    bytes: int = 0
    problems: list[Problem] = field(default_factory=list)


@dataclass
class CheckReport:
    bags: int
    files: int
    bytes: int
    seconds: float
    problems: list[Problem]
    sample: int | None
    algorithms: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def mb_per_s(self) -> float:
        return self.bytes / self.seconds / 1e6 if self.seconds else 0.0

    def to_json(self) -> dict:
        return {"ok": self.ok, "bags": self.bags, "files": self.files, "bytes": self.bytes,
                "seconds": round(self.seconds, 3), "mb_per_s": round(self.mb_per_s, 1),
                "sample": self.sample, "algorithms": list(self.algorithms),
                "problems": [p.to_json() for p in self.problems]}


@dataclass
class _Task:
    plan: "_Plan"
    name: str
    want: dict[str, str]
    size: int


@dataclass
class _Plan:
    result: BagCheck
    version: str
    tasks: list[_Task] = field(default_factory=list)
    pending: int = 0

    def problem(self, kind: str, name: str, detail: str = "") -> None:
        self.result.problems.append(Problem(kind, f"{self.result.path}/{name}", detail))

    def done(self, task: _Task, found: dict[str, str] | None, size: int, error: str | None) -> None:
        self.pending -= 1
        if error is not None:
            self.problem("unreadable", task.name, error)
            return
        self.result.files += 1
        self.result.bytes += size
        for algorithm, value in task.want.items():
            if found[algorithm] != value:
                self.problem("changed", task.name, f"{algorithm} {found[algorithm]} ≠ manifest {value}")
                break


def _manifests(stored: dict[str, int], kind: str) -> dict[str, str]:
    """{algorithm: file name} of the bag's payload (or tag) manifests."""
    found = {}
    for name in stored:
        if "/" not in name and name.startswith(f"{kind}-") and name.endswith(".txt"):
            algorithm = name[len(kind) + 1:-4]
            if algorithm in hashlib.algorithms_available:
                found[algorithm] = name
    return found


def plan_bag(bags, version: str, algorithms: tuple[str, ...]) -> _Plan:
    """Everything but the checksums: manifests read, files missing or unexpected."""
    plan = _Plan(BagCheck(version), version)
    stored = bags.files(version)
    if stored is None:
        plan.result.problems.append(Problem("bag missing", version, f"catalogued, but not in {bags}"))
        return plan
    if "bagit.txt" not in stored:
        plan.problem("missing", "bagit.txt")
    payload = _manifests(stored, "manifest")
    tags = _manifests(stored, "tagmanifest")
    listed: dict[str, dict[str, str]] = {}
    for found in (payload, tags):
        for algorithm, name in found.items():
            try:
                for path, value in parse_manifest(bags.read(version, name), name).items():
                    listed.setdefault(path, {})[algorithm] = value
            except (OSError, UnicodeDecodeError, ValueError) as exc:
                plan.problem("unreadable", name, str(exc))
    for kind, found in (("manifest", payload), ("tagmanifest", tags)):
        for algorithm in algorithms:
            if algorithm not in found:
                plan.problem("missing", f"{kind}-{algorithm}.txt")
    manifest_files = {*payload.values(), *tags.values()}
    for name in sorted(set(stored) - set(listed)):
        if "/" not in name and name in manifest_files:
            continue  # a manifest itself (payload manifests are also in the tag manifests)
        plan.problem("unexpected", name, "in no manifest")
    for name in sorted(listed):
        if name not in stored:
            plan.problem("missing", name, "listed in the manifest, " + ("not on disk" if bags.kind == "disk" else "not stored"))
            continue
        want = {a: v for a, v in listed[name].items() if a in algorithms} or listed[name]
        plan.tasks.append(_Task(plan, name, want, stored[name]))
    plan.pending = len(plan.tasks)
    return plan


def _runner(bags):
    def run(task: _Task):
        try:
            found, size = bags.digest(task.plan.version, task.name, tuple(task.want))
            return found, size, None
        except (OSError, StoreError) as exc:
            return None, 0, getattr(exc, "strerror", None) or str(exc)
    return run


def check_paths(bags, paths: list[str], algorithms: tuple[str, ...], jobs: int | None = None,
                on_bag=None) -> list[BagCheck]:
    """Check the bags at these version paths. Bags are planned (listed, manifests read) by
    up to PLANNERS threads (no more than `jobs`: one for a single hard disk) ahead of the
    hashing, files are hashed by `jobs` threads (hashlib releases the GIL) and, on disk,
    the kernel reads the next PREFETCH_BYTES ahead."""
    jobs = jobs or bags.readers_per_core * max(1, os.cpu_count() or 1)
    run = _runner(bags)
    results: list[BagCheck] = []
    plans: deque[_Plan] = deque()  # taken from the planners, not yet reported
    queue: deque[_Task] = deque()  # not yet hashing; the first `ahead` of them prefetched
    running: deque[tuple[_Task, object]] = deque()
    ahead = ahead_bytes = 0
    versions = iter(paths)

    def finish_ready() -> None:
        while plans and plans[0].pending == 0:
            done = plans.popleft()
            results.append(done.result)
            if on_bag:
                on_bag(done.result)

    with ThreadPoolExecutor(jobs) as hashers, ThreadPoolExecutor(min(PLANNERS, jobs)) as planners:
        planning: deque = deque()
        while True:
            while len(planning) < PLANS_AHEAD and (version := next(versions, None)) is not None:
                planning.append(planners.submit(plan_bag, bags, version, algorithms))
            while planning and (len(queue) < 2 * jobs or planning[0].done()):
                plan = planning.popleft().result()
                plans.append(plan)
                queue.extend(plan.tasks)
            while bags.prefetches and ahead < len(queue) and ahead_bytes < PREFETCH_BYTES:
                bags.prefetch(queue[ahead].plan.version, queue[ahead].name)
                ahead_bytes += queue[ahead].size
                ahead += 1
            while queue and len(running) < 2 * jobs:
                task = queue.popleft()
                if ahead:
                    ahead -= 1
                    ahead_bytes -= task.size
                running.append((task, hashers.submit(run, task)))
            if not running:
                finish_ready()
                if not planning and not queue:
                    break
                continue
            task, future = running.popleft()
            task.plan.done(task, *future.result())
            finish_ready()
    finish_ready()
    return results


def select_versions(arch: Archive, sample: int | None) -> tuple[list[str], list[Problem]]:
    """Version paths to check; for a full check also bags the catalogue does not know."""
    cat = arch.catalogue
    if sample is not None:
        rows = cat.con.execute(
            "SELECT v.path, (SELECT MAX(checked_at) FROM fixity f WHERE f.version_path = v.path) AS last "
            "FROM versions v ORDER BY last NULLS FIRST, v.path LIMIT ?", (sample,)).fetchall()
        return [r[0] for r in rows], []
    stored = arch.bags.all_versions()
    known = cat.version_paths()
    extra = [Problem("not catalogued", p, "a bag the catalogue does not know: sohoa archive reindex")
             for p in stored if p not in known]
    extra += [Problem("unexpected", p, "outside any bag") for p in arch.bags.strays()]
    return sorted(set(stored) | known), extra


def check(arch: Archive, *, sample: int | None = None, algorithms: tuple[str, ...] = ("sha256",),
          jobs: int | None = None, on_start=None, on_bag=None) -> tuple[CheckReport, list[BagCheck]]:
    started = time.perf_counter()
    paths, problems = select_versions(arch, sample)
    if on_start:
        on_start(len(paths))
    results = check_paths(arch.bags, paths, algorithms, jobs, on_bag)
    for r in results:
        problems += r.problems
    return report_of(results, problems, time.perf_counter() - started, sample, algorithms), results


def report_of(results: list[BagCheck], problems: list[Problem], seconds: float, sample: int | None,
              algorithms: tuple[str, ...]) -> CheckReport:
    return CheckReport(len(results), sum(r.files for r in results), sum(r.bytes for r in results),
                       seconds, problems, sample, algorithms)
