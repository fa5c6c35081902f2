"""`sohoa meta`: the metadata of existing documents (PDF, or scans), as a table or JSON.

A PDF with a good text layer (born-digital, or made searchable already) is read from
that layer; image-only PDFs and scans are OCR'd here, in this process. Exit status: 0
every file read · 1 some file could not be read · 2 usage (missing file) · 130 Ctrl-C.
"""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape
from rich.table import Table

from .config import load_settings
from .console import err, print_json
from .errors import BadInput, ExitCode, UsageError
from .progress import progress_bar

EPILOG = ("Example: sohoa meta quyet-dinh-123.pdf  ·  sohoa meta ./ho-so/*.pdf --json")
SUFFIXES = {".pdf", ".jpg", ".jpeg", ".png", ".tif", ".tiff"}
LABELS = {"doc_type": "loại văn bản", "number": "số", "symbol": "ký hiệu",
          "issued_date": "ngày ban hành", "issued_place": "địa danh", "agency": "cơ quan ban hành",
          "subject": "trích yếu", "signer_name": "người ký", "signer_title": "chức vụ",
          "dossier_codes": "mã hồ sơ", "citizen_ids": "số định danh"}


def meta(
    files: Annotated[list[Path], typer.Argument(help="PDF files or scans (JPEG, PNG, TIFF), or folders of them; one file is one document.", metavar="FILE", show_default=False)],
    json: Annotated[bool, typer.Option("--json", help="Machine output on stdout: an object for one file, an array otherwise.")] = False,
    lang: Annotated[Optional[str], typer.Option(help="Tesseract language(s) for pages without a text layer.", show_default=False)] = None,
) -> None:
    """Read the metadata of Vietnamese administrative documents: type, number and ký hiệu, date, place, agency, trích yếu, signer, dossier codes, personal ID numbers.

    Born-digital PDFs are read from their text layer (no OCR); image-only PDFs and scans are OCR'd. Each field found has a confidence (0–1); a field not on the page is empty.
    """
    from sohoa.ocr.metadata import FIELDS
    from sohoa.ocr.readmeta import for_file

    settings = load_settings({"lang": lang})
    paths = _collect(files)
    rows = []
    with progress_bar("Reading", "files") as (start, advance):
        start(len(paths))
        for path in paths:
            try:
                found = for_file(path, settings.lang)
                rows.append({"file": str(path), "pages": found.pages, "source": found.source,
                             "metadata": found.metadata.fields(),
                             "confidence": found.metadata.confidences(), "error": None})
            except BadInput as exc:
                rows.append({"file": str(path), "pages": 0, "source": None,
                             "metadata": {f: None for f in FIELDS}, "confidence": {},
                             "error": str(exc)})
            advance()
    if json:
        print_json(rows[0] if len(rows) == 1 else rows)
    else:
        for row in rows:
            _print(row)
    raise typer.Exit(ExitCode.FAILED if any(r["error"] for r in rows) else ExitCode.OK)


def _collect(files: list[Path]) -> list[Path]:
    missing = [str(p) for p in files if not p.exists()]
    if missing:
        raise UsageError(f"not found: {', '.join(missing)}")
    paths: list[Path] = []
    for path in files:
        if path.is_dir():
            paths += sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES)
        else:
            paths.append(path)
    if not paths:
        raise UsageError(f"no PDF or scan in {', '.join(map(str, files))}")
    return paths


def _print(row: dict) -> None:
    if row["error"]:
        err.print(f"[red]error:[/] {escape(row['error'])}", soft_wrap=True)
        return
    table = Table(title=f"{escape(row['file'])} — {row['pages']} page(s), "
                        f"{'text layer' if row['source'] == 'text-layer' else row['source']}",
                  title_justify="left")
    table.add_column("field")
    table.add_column("value", overflow="fold")
    table.add_column("confidence", justify="right")
    for field, value in row["metadata"].items():
        shown = ", ".join(value) if isinstance(value, list) else value
        confidence = row["confidence"].get(field)
        table.add_row(f"{field} ({LABELS[field]})", escape(shown) if shown else "[dim]—[/]",
                      f"{confidence:.2f}" if confidence is not None else "")
    err.print(table)
