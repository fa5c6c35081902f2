"""`sohoa ocr`: scans → searchable PDFs, text and dossier.json, one folder per dossier.

Stages: plan (find dossiers, list pages, hash sources) → analyse (pages in parallel,
cached by content hash) → split (optional, at QR separator sheets) → write.
"""
import multiprocessing
import os
import signal
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from sohoa.cli.errors import BadInput
from sohoa.cli.fsio import sha256_file

from .analyse import PageAnalysis, analyse_page, in_master_frame
from .cache import PageCache, open_page_cache, page_key
from .engine import Engine
from .inputs import discover
from .pages import PageRef, load_page, open_pages
from .layerquality import KEEP_TEXT_LAYER, text_layer_quality

CACHE_DIR = ".sohoa-cache"


@dataclass(frozen=True)
class OcrOptions:
    lang: str = "vie"
    jobs: int = max(1, os.cpu_count() or 1)
    split_qr: bool = False
    keep_blank: bool = False
    pdfa: bool = False
    resume: bool = True
    cluster: str | None = None  # a Dask scheduler's address: pages are read there
    job_db: str | None = None  # with cluster: a PostgreSQL catalogue keeps the job's state


@dataclass
class FileReport:
    file: str
    status: str  # ok | warning | error
    message: str = ""


@dataclass
class Page:
    """One input page on its way through the stages."""

    ref: PageRef
    source_name: str  # the source's name relative to its dossier folder
    key: str
    analysis: PageAnalysis | None = None
    cached: bool = False


@dataclass
class DocumentPlan:
    name: str
    pages: list[Page]
    signed_source: bool = False
    kept_pdf: Path | None = None  # a PDF whose own text layer is good: kept as it is

    @property
    def needs_ocr(self) -> bool:
        return self.kept_pdf is None


@dataclass
class DossierPlan:
    name: str
    root: Path
    documents: list[DocumentPlan]
    dossier_code: str | None = None


@dataclass
class Plan:
    dossiers: list[DossierPlan] = field(default_factory=list)
    files: dict[Path, FileReport] = field(default_factory=dict)
    source_sha256: dict[Path, str] = field(default_factory=dict)


# ---------------------------------------------------------------- plan


def plan(paths: Sequence[Path], out: Path, engine_version: str, options: OcrOptions) -> Plan:
    found = discover(paths, exclude=[out])
    result = Plan()
    for problem in found.problems:
        source = getattr(problem, "source", Path(problem.path))
        result.files[source] = FileReport(str(source), "error", str(problem))
    for warning in found.warnings:
        result.files[Path(warning.path)] = FileReport(str(warning.path), "warning", str(warning))
    for dossier in found.dossiers:
        documents = [doc for doc in (_document(d, dossier.root, result, engine_version, options)
                                     for d in dossier.documents) if doc.pages]
        if documents:
            result.dossiers.append(DossierPlan(dossier.name, dossier.root, documents))
    return result


def _document(document, root: Path, result: Plan, engine_version: str, options) -> DocumentPlan:
    plan = DocumentPlan(document.name, [])
    for source in document.sources:
        try:
            listed = open_pages(source)
        except BadInput as exc:
            result.files[source] = FileReport(str(source), "error", str(exc))
            continue
        digest = result.source_sha256.setdefault(source, sha256_file(source))
        name = _relative_name(source, root)
        plan.signed_source = plan.signed_source or listed.signed
        notes = list(listed.warnings)
        if _good_text_layer(listed) and len(document.sources) == 1:
            plan.kept_pdf = source
            notes.append("its own text layer is good Vietnamese: kept, not OCR'd again")
        elif listed.signed:
            notes.append("signed: the original is kept unchanged; the searchable PDF is a "
                         "separate, unsigned derivative")
        earlier = result.files.get(source)
        if earlier and earlier.status == "warning":
            notes.insert(0, earlier.message)
        result.files[source] = FileReport(str(source), "warning" if notes else "ok",
                                          "; ".join(notes))
        for ref in listed.pages:
            plan.pages.append(Page(ref, name, page_key(digest, ref.index, engine_version,
                                                       options.lang)))
    return plan


def _good_text_layer(listed) -> bool:
    return listed.kind == "pdf" and bool(listed.pages) and all(
        ref.text_layer and text_layer_quality(ref.text_layer) >= KEEP_TEXT_LAYER
        for ref in listed.pages)


def _relative_name(source: Path, root: Path) -> str:
    try:
        return source.relative_to(root).as_posix()
    except ValueError:
        return source.name


# ---------------------------------------------------------------- analyse

_engine: Engine | None = None


def _init_worker(lang: str) -> None:
    global _engine
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C
    _engine = Engine(lang)


def _analyse(ref: PageRef) -> PageAnalysis:
    image, dpi = load_page(ref)
    return in_master_frame(analyse_page(_engine, image, dpi[0]), ref.turn, ref.ocr_scale)


def analyse(pages: list[Page], cache: PageCache, options: OcrOptions,
            on_page: Callable[[Page], None] | None = None) -> list[tuple[Page, Exception]]:
    """Fill in every page's analysis; returns the pages that failed, with why."""
    todo: list[Page] = []
    cache.preload([p.key for p in pages if not p.ref.born_digital])
    for page in pages:
        if page.ref.born_digital:  # no scan image: nothing to OCR
            continue
        page.analysis = cache.get(page.key)
        if page.analysis is None:
            todo.append(page)
        else:
            page.cached = True
            if on_page:
                on_page(page)
    failures = []
    if not todo:
        return failures
    if options.cluster:
        from .cluster import analyse_on_cluster

        def done(page: Page, analysis: PageAnalysis | None, exc: Exception | None) -> None:
            if exc is None:
                page.analysis = analysis
                cache.put(page.key, analysis)
            else:
                failures.append((page, exc))
            if on_page:
                on_page(page)

        analyse_on_cluster(options.cluster, todo, options.lang, done)
        return failures
    context = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(min(options.jobs, len(todo)), mp_context=context,
                             initializer=_init_worker, initargs=(options.lang,)) as pool:
        futures = {pool.submit(_analyse, page.ref): page for page in todo}
        try:
            for future in as_completed(futures):
                page = futures[future]
                try:
                    page.analysis = future.result()
                    cache.put(page.key, page.analysis)
                except Exception as exc:  # one bad page never stops the batch
                    failures.append((page, exc))
                if on_page:
                    on_page(page)
        except KeyboardInterrupt:
            pool.shutdown(wait=False, cancel_futures=True)
            raise
    return failures


# ---------------------------------------------------------------- run


@dataclass
class OcrRun:
    dossiers: list  # of DossierResult (see writer)
    files: list[FileReport]
    pages: int
    cached_pages: int
    seconds: float

    @property
    def failed(self) -> bool:
        return any(f.status == "error" for f in self.files)


def run_ocr(paths: Sequence[Path], out: Path, options: OcrOptions = OcrOptions(),
            on_start: Callable[[int], None] | None = None,
            on_page: Callable[[Page], None] | None = None) -> OcrRun:
    from .split import split_at_separators
    from .writer import write_dossier, write_report

    started = time.monotonic()
    engine_version = Engine.probe_version()
    work = plan(paths, out, engine_version, options)
    pages = [p for d in work.dossiers for doc in d.documents if doc.needs_ocr for p in doc.pages]
    if on_start:
        on_start(len(pages))
    cache = open_page_cache(out / CACHE_DIR, options.resume, options.job_db if options.cluster else None)
    try:
        failed = analyse(pages, cache, options, on_page)
    finally:
        cache.close()
    for page, exc in failed:
        report = work.files[page.ref.source]
        report.status = "error"
        report.message = (str(exc) if isinstance(exc, BadInput) else
                          f"{page.ref.source}: page {page.ref.index + 1} could not be read ({exc})")
    if options.split_qr:
        work.dossiers = split_at_separators(work.dossiers)
    results = [write_dossier(d, out, work.source_sha256, engine_version, options)
               for d in work.dossiers]
    files = list(work.files.values())
    write_report(out, files)
    total = sum(len(doc.pages) for d in work.dossiers for doc in d.documents)
    if options.split_qr:  # separator sheets were input pages too
        total = len(pages)
    return OcrRun(results, files, total, sum(p.cached for p in pages),
                  time.monotonic() - started)
