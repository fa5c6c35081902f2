"""Generate a set of synthetic scanned dossiers with their ground truth.

    from sohoa.samples.generate import generate
    result = generate(Path("scans"), dossiers=6, seed=1)

writes `scans/case01/ … caseNN/` (one dossier each: the receipt, the citizen's form and
the issued result, as scanned: JPEG, PNG, multi-page TIFF, image-only PDF, page images
with running numbers) each with `ground_truth.json`, a stacked batch `scans/batch/`
(QR separator sheets between dossiers, one multi-page file) and `scans/set.json`.
The same arguments give the same bytes. See `samples/dossiers/README.md` for the layout.
"""
from __future__ import annotations

import json
import os
import random
import re
import shutil
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

from sohoa.cli import fsio

from . import degrade, documents, procedures, render, results, writers
from .degrade import Defects
from .documents import Doc

VERSION = 1
PROCS = list(procedures.PROCEDURES)


@dataclass
class PageTruth:
    source: str  # file name in the dossier (or batch) folder
    index: int  # page within that file, from 0
    text: str  # the lines drawn, NFC, joined by "\n"; "" for a blank back
    blank: bool
    rotation: int  # 0/90/180/270, clockwise, as scanned
    skew_deg: float  # counter-clockwise positive
    dpi: int
    bilevel: bool
    mode: str  # rgb | gray | bilevel
    kind: str = "page"  # page | blank | separator
    document_page: int | None = None  # page number within the document (1-based), None if blank
    width: int = 0
    height: int = 0
    qr: list[str] = field(default_factory=list)  # QR payloads on the page
    line_boxes: list[list[int]] = field(default_factory=list)  # per text line: x0 y0 x1 y1 on the CLEAN 300-dpi page
    defects: dict = field(default_factory=dict)  # everything else that was applied
    dossier_code: str | None = None  # batch pages only
    document: str | None = None  # batch pages only


@dataclass
class DocumentTruth:
    name: str  # what `sohoa ocr` calls it: the file stem, or "scan" for scan_01.jpg, scan_02.jpg
    kind: str  # quyet_dinh | cong_van | thong_bao | giay_xac_nhan | don | to_khai | receipt
    sources: list[str]
    pages: list[PageTruth]
    metadata: dict
    signer_lines: list[str] = field(default_factory=list)  # the signer block as printed
    date_line: str | None = None


@dataclass
class DossierTruth:
    dossier: str
    dossier_code: str
    procedure: dict
    documents: list[DocumentTruth]
    folder: Path | None = None

    def to_json(self) -> dict:
        docs = [asdict(d) for d in self.documents]
        for doc in docs:
            for page in doc["pages"]:  # batch-only keys
                del page["dossier_code"], page["document"]
        return {"dossier": self.dossier, "dossier_code": self.dossier_code, "procedure": self.procedure,
                "documents": docs}


@dataclass
class BatchTruth:
    folder: Path
    file: str
    pages: list[PageTruth]
    dossiers: list[DossierTruth]

    def to_json(self) -> dict:
        return {"batch": self.folder.name, "file": self.file, "pages": [asdict(p) for p in self.pages],
                "dossiers": [{"dossier_code": d.dossier_code, "procedure": d.procedure,
                              "separator": next(p.index for p in self.pages
                                                if p.kind == "separator" and p.dossier_code == d.dossier_code),
                              "pages": [p.index for p in self.pages
                                        if p.dossier_code == d.dossier_code and p.kind != "separator"],
                              "documents": [{"name": doc.name, "kind": doc.kind,
                                             "pages": [p.index for p in doc.pages], "metadata": doc.metadata}
                                            for doc in d.documents]}
                             for d in self.dossiers]}


@dataclass
class GeneratedSet:
    root: Path
    seed: int
    dossiers: list[DossierTruth]
    batch: BatchTruth | None
    files: list[Path]  # every scan written, relative to root
    formats: list[str]  # file extensions present: jpg, pdf, png, tif
    pages: int  # page images written, blank backs and separators included
    seconds: float

    def summary(self) -> str:
        batch = f" + a stacked batch of {len(self.batch.dossiers)} dossiers" if self.batch else ""
        return (f"{len(self.dossiers)} dossiers{batch}: {len(self.files)} files, {self.pages} pages "
                f"({', '.join(self.formats)})")


# --------------------------------------------------------------------------- planning


@dataclass
class _FileSpec:
    """One output file: which document, its format, how its pages were scanned."""

    role: str  # receipt | form | result
    container: str  # jpg | png | tif | pdf, or scan_jpg / scan_png: one image per page, running numbers
    mode: str
    dpi: int
    rotation: dict[int, int] = field(default_factory=dict)  # document page index -> rotation
    backs: str = ""  # "" | "last": a blank back after the last page | "all": after every page (duplex)


# Four scanning set-ups, used in turn: every format, mode and orientation case in four dossiers.
SCHEMES = (
    (_FileSpec("receipt", "jpg", "rgb", 300), _FileSpec("form", "scan_jpg", "gray", 200, backs="last"),
     _FileSpec("result", "pdf", "rgb", 300)),
    (_FileSpec("receipt", "png", "gray", 200, rotation={0: 90}), _FileSpec("form", "tif", "bilevel", 300, backs="all"),
     _FileSpec("result", "scan_png", "bilevel", 300)),
    (_FileSpec("receipt", "pdf", "bilevel", 200), _FileSpec("form", "jpg", "rgb", 300, rotation={0: 180}),
     _FileSpec("result", "scan_jpg", "rgb", 200, backs="last")),
    (_FileSpec("receipt", "tif", "bilevel", 200), _FileSpec("form", "png", "gray", 200),
     _FileSpec("result", "tif", "gray", 300, backs="last")),
)


@dataclass
class _Options:
    seed: int
    clean: bool
    compact: bool
    quality: int


def _case(seed: int, index: int, running: int) -> documents.Case:
    rng = random.Random(f"sohoa-samples/{seed}/{index}")
    proc = PROCS[(index + seed) % len(PROCS)]
    case = documents.new_case(rng, proc, running)
    case.long_result = rng.random() < 0.4 or index % 3 == 1
    case.long_form = rng.random() < 0.25
    return case


def _docs(case: documents.Case) -> dict[str, Doc]:
    return {"receipt": procedures.receipt(case), "form": procedures.form(case), "result": results.result(case)}


def _defects(rng: random.Random, opt: _Options, spec: _FileSpec, mode: str, dpi: int, rotation: int,
             blank: bool = False) -> Defects:
    if opt.clean:
        return degrade.clean(dpi, mode)
    lossless = spec.container in ("png", "scan_png", "tif")
    d = degrade.random_defects(rng, dpi=dpi, mode=mode, rotation=rotation, lossless=lossless, blank=blank)
    if opt.compact:
        d.noise = min(d.noise, 2.0)
        d.jpeg_artifacts = None
    return d


def _effective(spec: _FileSpec, opt: _Options) -> tuple[str, int]:
    """Mode and dpi after the compact profile (lossless colour and grey pages are big)."""
    if opt.compact and spec.container in ("png", "scan_png", "tif") and spec.mode != "bilevel":
        return "bilevel", spec.dpi
    return spec.mode, spec.dpi


def _page_truth(page: render.RenderedPage | None, d: Defects, img, source: str, index: int,
                doc_page: int | None, quality: int | None) -> PageTruth:
    rec = d.record()
    for k in ("dpi", "mode", "rotation", "skew_deg"):
        rec.pop(k)
    rec["jpeg_quality"] = quality
    blank = page is None
    return PageTruth(source=source, index=index, text="" if blank else page.text, blank=blank,
                     rotation=d.rotation, skew_deg=d.skew_deg, dpi=d.dpi, bilevel=d.bilevel, mode=d.mode,
                     kind="blank" if blank else page.kind, document_page=doc_page,
                     width=img.width, height=img.height, qr=[] if blank else list(page.qr),
                     line_boxes=[] if blank else [list(b) for b in page.boxes], defects=rec)


def _scan_pages(rng: random.Random, opt: _Options, spec: _FileSpec, pages: list[render.RenderedPage]):
    """(rendered page or None for a blank back, defects, seed) in scanning order."""
    mode, dpi = _effective(spec, opt)
    out = []
    for i, page in enumerate(pages):
        rot = spec.rotation.get(i, 0)
        if not opt.clean and not rot and rng.random() < 0.04:
            rot = 180
        out.append((page, _defects(rng, opt, spec, mode, dpi, rot), rng.getrandbits(32), i + 1))
        if not opt.clean and (spec.backs == "all" or (spec.backs == "last" and i == len(pages) - 1)):
            out.append((None, _defects(rng, opt, spec, mode, dpi, 0, blank=True), rng.getrandbits(32), None))
    return out


def _scan(page, d: Defects, seed: int, front):
    if page is None:
        return degrade.blank_back(front, d, seed)
    return degrade.scan(page.image, d, seed)


def _make_dossier(args: tuple[int, int, int, Path, _Options]) -> DossierTruth:
    index, running, scheme, folder, opt = args
    case = _case(opt.seed, index, running)
    rng = random.Random(f"sohoa-samples/scan/{opt.seed}/{index}")
    docs = _docs(case)
    proc = procedures.PROCEDURES[case.procedure]
    staging = folder.parent / f".{folder.name}.staging"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    truths = []
    for spec in SCHEMES[scheme % len(SCHEMES)]:
        doc = docs[spec.role]
        rendered = render.render(doc)
        planned = _scan_pages(rng, opt, spec, rendered)
        container = spec.container
        if container in ("jpg", "png") and len(planned) > 1:
            container = "pdf" if container == "jpg" else "tif"
        quality = opt.quality
        page_truths, sources = [], []
        if container.startswith("scan_"):
            ext = container[5:]
            for n, (page, d, seed, doc_page) in enumerate(planned, start=1):
                img = _scan(page, d, seed, rendered[-1].image if page is None else None)
                name = f"scan_{n:02d}.{ext}"
                writers.write(staging / name, [img], d.dpi, quality=quality)
                page_truths.append(_page_truth(page, d, img, name, 0, doc_page,
                                               quality if ext == "jpg" and img.mode != "1" else None))
                sources.append(name)
            name = "scan" if len(sources) > 1 else Path(sources[0]).stem  # as `sohoa ocr` names them
        else:
            name, imgs, dpis = doc.name, [], []
            fname = f"{name}.{container}"
            for k, (page, d, seed, doc_page) in enumerate(planned):
                prev = planned[k - 1][0] if page is None else None
                img = _scan(page, d, seed, prev.image if prev is not None else None)
                imgs.append(img)
                dpis.append(d.dpi)
                lossy = container in ("jpg", "pdf") and img.mode != "1"
                page_truths.append(_page_truth(page, d, img, fname, k, doc_page, quality if lossy else None))
            if container == "pdf":
                writers.write_pdf(staging / fname, imgs, dpis, quality)
            else:
                writers.write(staging / fname, imgs, dpis[0], quality=quality)
            sources.append(fname)
        truths.append(DocumentTruth(name=name, kind=doc.kind, sources=sources, pages=page_truths,
                                    metadata=doc.metadata(), signer_lines=list(doc.signer.lines),
                                    date_line=doc.date_line))
    truth = DossierTruth(folder.name, case.code, {"key": case.procedure, "code": proc.code, "name": proc.name},
                         truths, folder)
    fsio.write_text(staging / "ground_truth.json", _dumps(truth.to_json()))
    shutil.rmtree(folder, ignore_errors=True)
    os.replace(staging, folder)
    return truth


# --------------------------------------------------------------------------- the stacked batch


def _batch_spec(opt: _Options, fmt: str) -> _FileSpec:
    return _FileSpec("batch", fmt, "bilevel" if fmt == "tif" or opt.compact else "gray", 300)


def _batch_part(args: tuple[int, int, _Options, str]):
    """One dossier of the stacked batch: its separator sheet and its pages, scanned."""
    index, running, opt, fmt = args
    case = _case(opt.seed, index, running)
    rng = random.Random(f"sohoa-samples/batch/{opt.seed}/{index}")
    spec = _batch_spec(opt, fmt)
    fname = f"batch.{fmt}"
    docs = _docs(case)
    sep = documents.Doc(kind="separator", name="separator", dossier_codes=(case.code,))
    imgs, pages, doc_truths = [], [], []
    for doc, rendered in [(None, render.render(sep))] + [(d, render.render(d)) for d in docs.values()]:
        planned = [(p, _defects(rng, opt, spec, spec.mode, spec.dpi, 0), rng.getrandbits(32), i + 1)
                   for i, p in enumerate(rendered)]
        if doc is not None and not opt.clean and rng.random() < 0.3:  # duplex: an empty back
            planned.append((None, _defects(rng, opt, spec, spec.mode, spec.dpi, 0, blank=True),
                            rng.getrandbits(32), None))
        if doc is not None and not opt.clean and rng.random() < 0.15:
            planned[0][1].rotation = 180  # the sheet went in the wrong way round
        doc_pages = []
        for page, d, seed, doc_page in planned:
            if doc is None:
                d.rotation, d.skew_deg = 0, round(d.skew_deg / 3, 2)  # separators are fed with care
            img = _scan(page, d, seed, rendered[-1].image if page is None else None)
            t = _page_truth(page, d, img, fname, 0, None if doc is None else doc_page,
                            None if img.mode == "1" or fmt == "tif" else opt.quality)
            t.dossier_code, t.document = case.code, None if doc is None else doc.name
            imgs.append(img)
            pages.append(t)
            doc_pages.append(t)
        if doc is not None:
            doc_truths.append(DocumentTruth(doc.name, doc.kind, [fname], doc_pages, doc.metadata(),
                                            list(doc.signer.lines), doc.date_line))
    proc = procedures.PROCEDURES[case.procedure]
    truth = DossierTruth(case.code, case.code, {"key": case.procedure, "code": proc.code, "name": proc.name},
                         doc_truths)
    return imgs, pages, truth


def _write_batch(folder: Path, opt: _Options, fmt: str, parts) -> BatchTruth:
    """Separator, dossier A's pages, separator, dossier B's pages … in one PDF or TIFF."""
    imgs, pages, dossiers = [], [], []
    for part_imgs, part_pages, truth in parts:
        offset = len(pages)
        for k, t in enumerate(part_pages):
            t.index = offset + k
        imgs += part_imgs
        pages += part_pages
        dossiers.append(truth)
    fname = f"batch.{fmt}"
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("batch.*"):
        if stale.name != fname:
            stale.unlink()
    if fmt == "pdf":
        writers.write_pdf(folder / fname, imgs, [p.dpi for p in pages], opt.quality)
    else:
        writers.write_tiff(folder / fname, imgs, _batch_spec(opt, fmt).dpi)
    truth = BatchTruth(folder, fname, pages, dossiers)
    fsio.write_text(folder / "ground_truth.json", _dumps(truth.to_json()))
    return truth


# --------------------------------------------------------------------------- entry point


_NUMBERS = re.compile(r"\[\n\s*(-?[\d.]+(?:,\n\s*-?[\d.]+)*)\n\s*\]")  # raw newlines: never inside a string


def _dumps(obj) -> str:
    """Indented JSON, with lists of numbers (boxes, colours) kept on one line."""
    text = json.dumps(obj, ensure_ascii=False, indent=1, default=str)
    return _NUMBERS.sub(lambda m: "[" + ", ".join(v.strip() for v in m.group(1).split(",")) + "]", text) + "\n"


def generate(out: Path, *, dossiers: int = 6, seed: int = 1, stacked_batch: bool = True,
             batch_dossiers: int = 3, batch_format: str | None = None, clean: bool = False,
             compact: bool = False, jpeg_quality: int = 80, jobs: int | None = None) -> GeneratedSet:
    """Write `dossiers` dossier folders (case01…) and, if `stacked_batch`, `batch/` under `out`.

    Those folders are replaced whole (so are caseNN folders of an earlier run beyond
    `dossiers`); other files in `out` are left alone. caseNN of a seed holds the same
    case whatever the other options: `clean=True` draws the very dossiers of the degraded set.

    seed: same seed and arguments, same files (byte for byte).
    batch_format: "tif" (bilevel G4) or "pdf" (grey JPEG pages); default alternates with the seed.
    clean: no scanning defects at all (upright, no skew, no noise, no blank backs).
    compact: small files (lossless pages bilevel, low noise) for sets kept in git.
    jobs: worker processes (default: up to 2; 1 = in this process).
    """
    if dossiers < 0 or batch_dossiers < 1:
        raise ValueError("dossiers must be >= 0 and batch_dossiers >= 1")
    if batch_format not in (None, "tif", "pdf"):
        raise ValueError(f"batch_format must be 'tif' or 'pdf', not {batch_format!r}")
    if not 1 <= jpeg_quality <= 95:
        raise ValueError("jpeg_quality must be within 1..95")
    started = time.monotonic()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    opt = _Options(seed, clean, compact, jpeg_quality if not compact else min(jpeg_quality, 75))
    width = max(2, len(str(dossiers)))
    tasks = [(i, i + 1, i, out / f"case{i + 1:0{width}d}", opt) for i in range(dossiers)]
    fmt = batch_format or ("tif" if seed % 2 else "pdf")
    batch_tasks = [(dossiers + k, dossiers + k + 1, opt, fmt) for k in range(batch_dossiers if stacked_batch else 0)]
    jobs = jobs or min(2, os.cpu_count() or 1)
    if jobs > 1 and len(tasks) + len(batch_tasks) > 1:
        with ProcessPoolExecutor(jobs) as pool:
            parts = pool.map(_batch_part, batch_tasks)
            truths = list(pool.map(_make_dossier, tasks))
            parts = list(parts)
    else:
        truths = [_make_dossier(t) for t in tasks]
        parts = [_batch_part(t) for t in batch_tasks]
    batch = _write_batch(out / "batch", opt, fmt, parts) if stacked_batch else None
    keep = {t.dossier for t in truths}
    for stale in out.glob("case*"):  # dossiers of an earlier, larger run would contradict set.json
        if stale.name not in keep and re.fullmatch(r"case\d+", stale.name) and (stale / "ground_truth.json").exists():
            shutil.rmtree(stale)
    files = sorted({Path(t.dossier) / s for t in truths for doc in t.documents for s in doc.sources})
    if batch:
        files.append(Path("batch") / batch.file)
    pages = sum(len(doc.pages) for t in truths for doc in t.documents) + (len(batch.pages) if batch else 0)
    formats = sorted({f.suffix.lstrip(".") for f in files})
    result = GeneratedSet(out, seed, truths, batch, files, formats, pages, round(time.monotonic() - started, 2))
    fsio.write_text(out / "set.json", _dumps({
        "generator": "sohoa.samples.generate", "version": VERSION,
        "call": {"dossiers": dossiers, "seed": seed, "stacked_batch": stacked_batch,
                 "batch_dossiers": batch_dossiers, "batch_format": fmt if stacked_batch else None,
                 "clean": clean, "compact": compact, "jpeg_quality": jpeg_quality},
        "dossiers": [{"folder": t.dossier, "dossier_code": t.dossier_code, "procedure": t.procedure["key"]}
                     for t in truths],
        "batch": {"folder": "batch", "file": batch.file, "dossier_codes": [d.dossier_code for d in batch.dossiers]}
        if batch else None,
        "files": [str(f) for f in files], "formats": formats, "pages": pages}))
    return result
