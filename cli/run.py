"""`sohoa run`: scans → searchable PDFs → signed copies → verified → archived, as a library.

Each stage works on the whole batch (one OCR pool, one key session, one verification
pool, one archive lock); a dossier that fails a stage is left out of the later ones, the
others go on. A work folder keeps what each stage made, so a re-run redoes nothing that
is done: OCR pages come from its cache, a searchable PDF that did not change is not
rewritten, a signed copy whose first bytes are exactly that PDF is kept (a PAdES
signature is an incremental update), and the archive stores nothing it already has.

WORK/ocr/<dossier>/       what `sohoa ocr` writes
WORK/signed/<dossier>/    the signed copies, the layout `sohoa archive add --signed` reads
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Protocol

STAGES = ("ocr", "sign", "verify", "archive")
PASSED = "TOTAL_PASSED"
FAILING = ("TOTAL_FAILED", "ERROR", "NO_SIGNATURE")


@dataclass
class DossierRun:
    """One dossier's way through the stages."""

    name: str
    folder: Path | None = None  # WORK/ocr/<dossier>
    dossier_code: str | None = None
    documents: int = 0
    pages: int = 0
    status: str = "pending"  # archived | unchanged | failed
    failed_at: str | None = None  # the stage that failed it
    message: str = ""
    warnings: list[str] = field(default_factory=list)
    signatures: dict[str, str] = field(default_factory=dict)  # signed file → indication
    copies: list[Path] = field(default_factory=list)  # WORK/signed/<dossier>/*.pdf, once signed
    version: str | None = None  # fonds/… of the stored version

    @property
    def ok(self) -> bool:
        return self.failed_at is None

    def fail(self, stage: str, message: str) -> None:
        if self.ok:
            self.status, self.failed_at, self.message = "failed", stage, message

    def to_json(self) -> dict:
        return {"dossier": self.name, "dossier_code": self.dossier_code, "status": self.status,
                "failed_at": self.failed_at, "message": self.message,
                "documents": self.documents, "pages": self.pages, "version": self.version,
                "signatures": self.signatures, "warnings": self.warnings,
                "folder": str(self.folder) if self.folder else None}


@dataclass
class RunResult:
    dossiers: list[DossierRun]
    problems: list[str]  # input files that could not be read at all
    pages: int = 0
    cached_pages: int = 0
    signed: int = 0  # signatures made in this run (kept ones not counted)
    seconds: dict[str, float] = field(default_factory=dict)  # per stage

    @property
    def failed(self) -> list[DossierRun]:
        return [d for d in self.dossiers if not d.ok]

    @property
    def documents(self) -> int:
        return sum(d.documents for d in self.dossiers)

    @property
    def total_seconds(self) -> float:
        return sum(self.seconds.values())

    @property
    def pages_per_minute(self) -> float:
        return self.pages / self.total_seconds * 60 if self.total_seconds else 0.0

    def count(self, status: str) -> int:
        return sum(d.status == status for d in self.dossiers)

    def to_json(self) -> dict:
        return {"dossiers": len(self.dossiers), "archived": self.count("archived"),
                "unchanged": self.count("unchanged"), "failed": len(self.failed),
                "documents": self.documents, "pages": self.pages,
                "cached_pages": self.cached_pages, "signed": self.signed,
                "warnings": sum(len(d.warnings) for d in self.dossiers),
                "seconds": round(self.total_seconds, 2),
                "stage_seconds": {k: round(v, 2) for k, v in self.seconds.items()},
                "pages_per_minute": round(self.pages_per_minute, 1),
                "problems": self.problems, "results": [d.to_json() for d in self.dossiers]}


@dataclass
class Signing:
    """How the copies are signed: the request (role copy), the key and its opened batch."""

    request: object  # sohoa.signing.sign.SignRequest (role copy, overwrite=True)
    key: object  # sohoa.signing.keys.KeySource
    batch: object  # from sohoa.signing.sign.prepare()


@dataclass
class RunPlan:
    scans: list[Path]
    work: Path
    archive: Path
    ocr: object  # sohoa.ocr.pipeline.OcrOptions
    add: object  # sohoa.archive.ingest.AddOptions (signed_dir is set here)
    policy: object  # sohoa.signing.results.Policy for the verification
    signing: Signing | None = None  # None: no key, the copies are not signed
    jobs: int = 0
    db: str | None = None  # the catalogue on PostgreSQL (setting db), for a new archive
    db_given: bool = False  # given as --db: must be the archive's own catalogue
    store: str | None = None  # the bags on S3 (setting store), for a new archive
    store_given: bool = False

    @property
    def ocr_dir(self) -> Path:
        return self.work / "ocr"

    @property
    def signed_dir(self) -> Path:
        return self.work / "signed"


class Reporter(Protocol):
    def stage(self, name: str, total: int, unit: str) -> None: ...
    def advance(self) -> None: ...
    def item(self, stage: str, dossier: DossierRun | None, ok: bool, text: str) -> None: ...


class Quiet:
    def stage(self, name: str, total: int, unit: str) -> None:
        pass

    def advance(self) -> None:
        pass

    def item(self, stage: str, dossier: DossierRun | None, ok: bool, text: str) -> None:
        pass


def run(plan: RunPlan, reporter: Reporter = Quiet()) -> RunResult:
    seconds: dict[str, float] = {}
    result = _timed(seconds, "ocr", lambda: ocr_stage(plan, reporter))
    result.seconds = seconds
    if plan.signing is not None:
        _timed(seconds, "sign", lambda: sign_stage(plan, result, reporter))
        _timed(seconds, "verify", lambda: verify_stage(plan, result, reporter))
    _timed(seconds, "archive", lambda: archive_stage(plan, result, reporter))
    return result


def _timed(seconds: dict, stage: str, work: Callable):
    started = time.perf_counter()
    try:
        return work()
    finally:
        seconds[stage] = time.perf_counter() - started


# ------------------------------------------------------------------ stages


def ocr_stage(plan: RunPlan, reporter: Reporter) -> RunResult:
    from sohoa.ocr.pipeline import run_ocr

    def start(total: int) -> None:
        reporter.stage("ocr", total, "pages")

    ocr = run_ocr(plan.scans, plan.ocr_dir, plan.ocr, on_start=start,
                  on_page=lambda page: reporter.advance())
    errors = [f for f in ocr.files if f.status == "error"]
    dossiers = []
    for d in ocr.dossiers:
        item = DossierRun(d.dossier, d.folder, d.dossier_code,
                          sum(1 for doc in d.documents if doc.file),
                          sum(len(doc.source_pages) for doc in d.documents))
        item.warnings += [f.message for f in ocr.files
                          if f.status == "warning" and _within(Path(f.file), d.source_root)]
        item.warnings += [f"{doc.file or doc.sources[0]}: {w}" for doc in d.documents for w in doc.warnings]
        mine = [e.message for e in errors if _within(Path(e.file), d.source_root)]
        if mine:
            item.fail("ocr", "; ".join(mine) + " — fix or remove the file and run again")
        elif not item.documents:
            item.fail("ocr", "no page could be read: nothing to archive")
        dossiers.append(item)
        reporter.item("ocr", item, item.ok, item.message or f"{item.documents} searchable PDFs")
    orphans = [e.message for e in errors
               if not any(_within(Path(e.file), d.source_root) for d in ocr.dossiers)]
    for message in orphans:
        reporter.item("ocr", None, False, message)
    return RunResult(dossiers, orphans, ocr.pages, ocr.cached_pages)


def _within(path: Path, root: Path) -> bool:
    path, root = path.resolve(), root.resolve()
    return path == root or root in path.parents


def sign_stage(plan: RunPlan, result: RunResult, reporter: Reporter) -> None:
    from sohoa.signing.sign import sign_pairs

    owner: dict[str, DossierRun] = {}
    todo: list[tuple[Path, Path]] = []
    kept = 0
    for dossier in (d for d in result.dossiers if d.ok):
        pairs = _copies(plan, dossier)
        dossier.copies = [dst for _, dst in pairs]
        for src, dst in pairs:
            if _signed_over(dst, src):
                kept += 1
            else:
                todo.append((src, dst))
                owner[str(src)] = dossier
    reporter.stage("sign", kept + len(todo), "docs")
    for _ in range(kept):  # signed by an earlier run, over these very bytes
        reporter.advance()
    if not todo:
        return

    def done(signed) -> None:
        dossier = owner[signed.file]
        if signed.ok:
            result.signed += 1
        else:
            message = f"{Path(signed.file).name}: {signed.message}"
            dossier.fail("sign", message)
            reporter.item("sign", dossier, False, message)
        reporter.advance()

    sign_pairs(todo, plan.signing.request, plan.signing.key, done, batch=plan.signing.batch)


def _copies(plan: RunPlan, dossier: DossierRun) -> list[tuple[Path, Path]]:
    """(searchable PDF, its signed copy) of a dossier; signed copies of documents the
    dossier no longer has are removed, so the archive does not take them."""
    import json

    data = json.loads((dossier.folder / "dossier.json").read_text(encoding="utf-8"))
    out = plan.signed_dir / dossier.name
    pairs = [(dossier.folder / doc["file"], out / doc["file"]) for doc in data["documents"] if doc.get("file")]
    wanted = {dst.name for _, dst in pairs}
    if out.is_dir():
        for stale in out.glob("*.pdf"):
            if stale.name not in wanted:
                stale.unlink()
    return pairs


def _signed_over(signed: Path, unsigned: Path) -> bool:
    """Is `signed` an incremental update of exactly `unsigned` (its signature covers it)?"""
    try:
        size = unsigned.stat().st_size
        if signed.stat().st_size <= size:
            return False
        with open(signed, "rb") as a, open(unsigned, "rb") as b:
            while block := b.read(1 << 20):
                if a.read(len(block)) != block:
                    return False
        return True
    except FileNotFoundError:
        return False


def verify_stage(plan: RunPlan, result: RunResult, reporter: Reporter) -> None:
    from sohoa.signing.verify import verify_paths

    owner = {dst: d for d in result.dossiers if d.ok for dst in d.copies}
    reporter.stage("verify", len(owner), "files")
    if not owner:
        return
    by_name = {str(p): d for p, d in owner.items()}

    def done(verdict) -> None:
        dossier = by_name[verdict.file]
        dossier.signatures[Path(verdict.file).name] = verdict.indication
        if verdict.indication in FAILING:
            vi, en = verdict.reason
            message = f"{Path(verdict.file).name}: {verdict.indication} — {en}"
            dossier.fail("verify", message)
            reporter.item("verify", dossier, False, message)
        elif verdict.indication != PASSED:
            vi, en = verdict.reason
            dossier.warnings.append(f"{Path(verdict.file).name}: signature {verdict.indication} — {en}")
        reporter.advance()

    verify_paths(list(owner), plan.policy, jobs=plan.jobs, on_file=done)


def archive_stage(plan: RunPlan, result: RunResult, reporter: Reporter) -> None:
    import dataclasses

    from sohoa.archive import ingest
    from sohoa.archive.store import Archive

    todo = {d.folder.resolve(): d for d in result.dossiers if d.ok}
    reporter.stage("archive", len(todo), "dossiers")
    if not todo:
        return
    signed = plan.signed_dir if plan.signing is not None else None
    options = dataclasses.replace(plan.add, signed_dir=signed.resolve() if signed else None)

    def done(outcome) -> None:
        dossier = todo[Path(outcome.input).resolve()]
        dossier.version = outcome.version
        dossier.warnings += [w for w in outcome.warnings if w not in dossier.warnings]
        if outcome.status == "error":
            dossier.fail("archive", outcome.message)
        else:
            dossier.status = "archived" if outcome.status == "added" else "unchanged"
        reporter.item("archive", dossier, dossier.ok, dossier.message or f"{dossier.status} → {outcome.version}")
        reporter.advance()

    with Archive(plan.archive, create=True, db=plan.db, db_given=plan.db_given,
                 store=plan.store, store_given=plan.store_given) as arch:
        ingest.add(arch, list(todo), options, on_dossier=done)
