"""Where the metadata extractor gets its pages: `sohoa ocr`'s analysed pages, or a file.

`for_dossier()` reads every document of one dossier of `sohoa ocr`, each with what the
others tell about it (dossier codes and ID numbers from QR codes, the words they share),
and a closer second reading of a badly read number or date from the page images.
`for_file()` reads one existing file for `sohoa meta`: a PDF's own text layer when it
is good (born-digital, or already searchable), otherwise the pages OCR'd in-process.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from . import vnparse as vp
from .lexicon import Vocabulary
from .metadata import Context, Metadata, extract, vocabulary_of
from .reread import Deskewed, LineReader, pipeline_source
from .textpage import (PageText, Segment, page_from_analysis, page_from_recognition,
                       pages_from_text_layer)


def usable(page) -> bool:
    """A page of `sohoa ocr` with a reading (not born-digital, not unreadable, not blank)."""
    a = page.analysis
    return a is not None and not page.ref.born_digital and not a.blank


def document_pages(doc) -> tuple[list[PageText], str]:
    """A planned document's pages as the extractor reads them, and where their text
    came from (ocr, or the PDF's own text layer)."""
    if doc.kept_pdf is not None:
        return pages_from_text_layer(doc.kept_pdf), "text-layer"
    kept = [p for p in doc.pages if usable(p)]
    return [page_from_analysis(p.analysis, (p.ref.width, p.ref.height), i)
            for i, p in enumerate(kept)], "ocr"


def for_dossier(dossier, lang: str = "vie", reread: bool = True) -> dict[int, Metadata | Exception]:
    """Metadata of each document of a planned, analysed dossier, by its index (or the
    exception that stopped its reading: one document never stops the others)."""
    readings = []
    for doc in dossier.documents:
        pages, source = document_pages(doc)
        reader = None
        if reread and source == "ocr":
            kept = [p for p in doc.pages if usable(p)]
            reader = LineReader([pipeline_source(p.ref, p.analysis) for p in kept], lang)
        readings.append((pages, reader))
    codes, ids = known_identifiers(pages for pages, _ in readings)
    owns = [vocabulary_of(pages) for pages, _ in readings]
    dossier = Vocabulary()
    for own in owns:
        dossier = dossier.merged(own)
    context = Context(codes, ids, dossier=dossier, agency=Vocabulary.administrative().merged(dossier))
    result = {}
    for i, (pages, reader) in enumerate(readings):
        try:
            result[i] = extract(pages, context, reader, owns[i])
        except Exception as exc:  # noqa: BLE001 - reported on the document, never fatal
            result[i] = exc
    return result


def known_identifiers(documents) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Dossier codes and ID numbers that QR codes or barcodes carry, in any document."""
    codes: list[str] = []
    ids: list[str] = []
    for pages in documents:
        for page in pages:
            for payload in page.codes:
                parsed = vp.parse_payload(payload)
                codes += parsed.dossier_codes
                ids += parsed.citizen_ids
    return tuple(dict.fromkeys(codes)), tuple(dict.fromkeys(ids))


# ---------------------------------------------------------------- sohoa meta


@dataclass
class FileMetadata:
    file: str
    pages: int
    source: str  # text-layer | ocr | mixed
    metadata: Metadata


def for_file(path: Path, lang: str = "vie", engine=None) -> FileMetadata:
    """The metadata of one file (PDF, JPEG, PNG, TIFF) taken as one document. Raises
    BadInput for a file that cannot be read."""
    from .pages import open_pages
    from .layerquality import KEEP_TEXT_LAYER, text_layer_quality

    listed = open_pages(path)
    refs = listed.pages
    good_layer = [r.born_digital or (r.text_layer and text_layer_quality(r.text_layer) >= KEEP_TEXT_LAYER)
                  for r in refs]
    if listed.kind == "pdf" and refs and all(good_layer):
        pages = pages_from_text_layer(path)
        return FileMetadata(str(path), len(refs), "text-layer", extract(pages))
    from .analyse import analyse_page
    from .pages import load_page
    from .reread import shared_engine

    engine = engine or shared_engine(lang)
    pages: list[PageText] = []
    sources = []
    layer_pages = None
    for i, ref in enumerate(refs):
        if listed.kind == "pdf" and good_layer[i]:
            layer_pages = layer_pages or pages_from_text_layer(path)
            page = layer_pages[ref.index]
            pages.append(PageText(page.width, page.height,
                                  tuple(Segment(s.tokens, i) for s in page.segments),
                                  page.codes, page.source, page.line_height))
            sources.append(None)
            continue
        image, dpi = load_page(ref)
        analysis = analyse_page(engine, image, dpi[0])
        size = image.size[::-1] if analysis.turn in (90, 270) else image.size
        codes = tuple(analysis.qr_codes) + tuple(getattr(analysis, "barcodes", ()))
        pages.append(page_from_recognition(analysis.recognition, size, i, codes))
        deskewed = Deskewed(image, analysis.turn, analysis.skew)
        sources.append(lambda d=deskewed, r=dpi[0]: (d, (1.0, 1.0), r))
    kinds = {"text-layer" if s is None else "ocr" for s in sources}
    source = kinds.pop() if len(kinds) == 1 else "mixed"
    meta = extract(pages, Context(*known_identifiers([pages])), LineReader(sources, lang, engine))
    return FileMetadata(str(path), len(refs), source, meta)
