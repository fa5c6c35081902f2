"""Write a dossier's outputs: <document>.pdf, <document>.txt, dossier.json; report.json."""
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from sohoa.cli import fsio

from .pdfpage import PageLayout, write_searchable_pdf

METADATA_FIELDS = ("doc_type", "number", "symbol", "issued_date", "issued_place", "agency",
                   "subject", "signer_name", "signer_title", "dossier_codes", "citizen_ids")


@dataclass
class DocumentResult:
    file: str | None
    sources: list[str]
    sha256_sources: dict[str, str]
    source_pages: list[dict]  # each input page in order: {"source", "page" (1-based)}
    pages: int
    dropped_pages: list[dict]
    ocr: dict
    metadata: dict
    confidence: dict
    warnings: list[str]


@dataclass
class DossierResult:
    dossier: str
    dossier_code: str | None
    documents: list[DocumentResult]
    folder: Path
    source_root: Path  # where the sources (the masters) are, for `sohoa archive add`
    metadata_seconds: float = 0.0  # time spent reading the metadata (not in dossier.json)

    def to_json(self) -> dict:
        return {"dossier": self.dossier, "dossier_code": self.dossier_code,
                "source_root": str(self.source_root.resolve()),
                "documents": [asdict(d) for d in self.documents]}


def write_dossier(dossier, out: Path, sha256: dict, engine: str, options) -> DossierResult:
    from .readmeta import for_dossier

    folder = out / dossier.name
    started = time.perf_counter()
    metadata = for_dossier(dossier, options.lang)
    metadata_seconds = time.perf_counter() - started
    documents = [write_document(doc, folder, sha256, engine, options, metadata.get(i))
                 for i, doc in enumerate(dossier.documents)]
    code = (dossier.dossier_code or _first_code(dossier)
            or next((c for d in documents for c in d.metadata["dossier_codes"]), None))
    result = DossierResult(dossier.name, code, documents, folder, dossier.root, metadata_seconds)
    fsio.write_text(folder / "dossier.json",
                    json.dumps(result.to_json(), ensure_ascii=False, indent=2) + "\n")
    return result


def write_document(doc, folder: Path, sha256: dict, engine: str, options,
                   metadata=None) -> DocumentResult:
    """`metadata`: the document's `Metadata` (ocr/metadata.py), if it was read."""
    fields, confidence = _metadata(metadata)
    if doc.kept_pdf is not None:
        result = _keep_text_layer(doc, folder, sha256, engine, options, fields, confidence)
    else:
        result = _write_searchable(doc, folder, sha256, engine, options, fields, confidence)
    if isinstance(metadata, Exception):
        result.warnings.append(f"metadata could not be read ({type(metadata).__name__}: {metadata})")
    return result


def _write_searchable(doc, folder: Path, sha256: dict, engine: str, options, fields: dict,
                      confidence: dict) -> DocumentResult:
    kept, dropped = [], []
    for page in doc.pages:
        a = page.analysis
        reason = ("no scan image" if page.ref.born_digital else "unreadable" if a is None else
                  "blank" if a.blank and not options.keep_blank else None)
        if reason:
            dropped.append({"source": page.source_name, "page": page.ref.index + 1,
                            "reason": reason})
        else:
            kept.append(page)
    sources = list(dict.fromkeys(p.source_name for p in doc.pages))
    hashes = {p.source_name: sha256[p.ref.source] for p in doc.pages}
    warnings = []
    if doc.signed_source:
        warnings.append("the signed original is kept unchanged; this searchable PDF is a "
                        "separate, unsigned derivative")
    file = None
    if kept:
        file = f"{doc.name}.pdf"
        layouts = [_layout(p) for p in kept]
        write_searchable_pdf(layouts, folder / file, pdfa=options.pdfa, title=doc.name)
        text = "\f".join(_page_text(p) for p in kept)
        fsio.write_text(folder / f"{doc.name}.txt", text + "\n")
    else:
        warnings.append("every page was blank or unreadable: no searchable PDF")
    confidences = [p.analysis.mean_confidence for p in kept
                   if p.analysis and p.analysis.mean_confidence is not None]
    ocr = {"engine": engine, "lang": options.lang,
           "mean_confidence": round(sum(confidences) / len(confidences), 1) if confidences else None,
           "page_confidence": [round(c, 1) for c in confidences]}
    return DocumentResult(file, sources, hashes, _source_pages(doc), len(doc.pages), dropped,
                          ocr, fields, confidence, warnings)


def _source_pages(doc) -> list[dict]:
    return [{"source": p.source_name, "page": p.ref.index + 1} for p in doc.pages]


def _keep_text_layer(doc, folder: Path, sha256: dict, engine: str, options, fields: dict,
                     confidence: dict) -> DocumentResult:
    """A PDF whose text layer is already good Vietnamese is copied as it is."""
    file = f"{doc.name}.pdf"
    fsio.write_bytes(folder / file, doc.kept_pdf.read_bytes())
    fsio.write_text(folder / f"{doc.name}.txt",
                    "\f".join(p.ref.text_layer or "" for p in doc.pages) + "\n")
    source = doc.pages[0].source_name
    ocr = {"engine": None, "lang": options.lang, "mean_confidence": None,
           "page_confidence": [], "text_layer": "kept"}
    return DocumentResult(file, [source], {source: sha256[doc.kept_pdf]}, _source_pages(doc),
                          len(doc.pages), [], ocr, fields, confidence, [])


def _metadata(metadata) -> tuple[dict, dict]:
    """The contract's `metadata` and `confidence` objects of a document."""
    if metadata is None or isinstance(metadata, Exception):
        return _empty_metadata(), {}
    return metadata.fields(), metadata.confidences()


def _empty_metadata() -> dict:
    return {f: ([] if f in ("dossier_codes", "citizen_ids") else None) for f in METADATA_FIELDS}


def _layout(page) -> PageLayout:
    a = page.analysis
    lines = a.recognition.lines if a.recognition else ()
    return PageLayout(page.ref.image, a.turn, a.skew, lines)


def _page_text(page) -> str:
    rec = page.analysis.recognition
    return rec.text if rec else ""


def _first_code(dossier) -> str | None:
    from .identifiers import is_dossier_code

    for doc in dossier.documents:
        for page in doc.pages:
            for code in (page.analysis.qr_codes if page.analysis else ()):
                for part in code.replace("|", "\n").split():
                    if is_dossier_code(part):
                        return part
    return None


def write_report(out: Path, files) -> None:
    rows = [asdict(f) for f in files]
    fsio.write_text(out / "report.json", json.dumps(rows, ensure_ascii=False, indent=2) + "\n")
