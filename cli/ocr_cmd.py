"""`sohoa ocr`: the clerk's scans become searchable PDFs, one folder per dossier."""
from dataclasses import asdict
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape

from .config import load_settings
from .console import err, print_json
from .errors import ExitCode
from .progress import progress_bar


class Split(str, Enum):
    none = "none"
    qr = "qr"


def ocr(
    scans: Annotated[list[Path], typer.Argument(help="Scan files or folders (a folder = a dossier; a folder of folders = one dossier each).", exists=True)],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")],
    split: Annotated[Split, typer.Option(help="qr: cut stacked batches at QR separator sheets.")] = Split.none,
    lang: Annotated[Optional[str], typer.Option(help="Tesseract language(s).")] = None,
    jobs: Annotated[Optional[int], typer.Option("--jobs", "-j", min=1, help="Worker processes (default: one per core).")] = None,
    keep_blank: Annotated[bool, typer.Option(help="Keep blank pages in the searchable PDFs.")] = False,
    pdfa: Annotated[bool, typer.Option(help="Write PDF/A-2b.")] = False,
    resume: Annotated[bool, typer.Option(help="Reuse pages already done in OUT (after a crash or Ctrl-C).")] = True,
    cluster: Annotated[Optional[str], typer.Option(help="Read the pages on a Dask cluster: its scheduler's address, e.g. tcp://10.0.0.5:8786 (SOHOA_CLUSTER). With a PostgreSQL catalogue set (setting db), the job's state is kept there: any machine resumes it.")] = None,
    json: Annotated[bool, typer.Option("--json", help="Machine output on stdout.")] = False,
) -> None:
    """Turn scans into searchable PDFs (Vietnamese OCR), text and dossier.json per dossier."""
    from sohoa.ocr.pipeline import OcrOptions, run_ocr

    settings = load_settings({"lang": lang, "jobs": jobs, "cluster": cluster})
    options = OcrOptions(lang=settings.lang, jobs=settings.jobs, split_qr=split is Split.qr,
                         keep_blank=keep_blank, pdfa=pdfa, resume=resume, cluster=settings.cluster,
                         job_db=settings.db)
    with progress_bar("OCR", "pages") as (start, advance):
        run = run_ocr(scans, out, options, on_start=start, on_page=advance)
    for report in run.files:
        if report.status != "ok":
            colour = "red" if report.status == "error" else "yellow"
            err.print(f"[{colour}]{report.status}:[/] {escape(report.message)}", soft_wrap=True)
    documents = sum(len(d.documents) for d in run.dossiers)
    rate = run.pages / run.seconds * 60 if run.seconds else 0
    reused = f", {run.cached_pages} already done" if run.cached_pages else ""
    err.print(f"{len(run.dossiers)} dossiers, {documents} documents, {run.pages} pages{reused} "
              f"in {run.seconds:.1f} s ({rate:.0f} pages/min) → {out}")
    if json:
        print_json({"dossiers": [d.to_json() | {"folder": str(d.folder)} for d in run.dossiers],
                    "files": [asdict(f) for f in run.files], "pages": run.pages,
                    "cached_pages": run.cached_pages,
                    "seconds": round(run.seconds, 2),
                    "metadata_seconds": round(sum(d.metadata_seconds for d in run.dossiers), 3)})
    raise typer.Exit(ExitCode.FAILED if run.failed else ExitCode.OK)
