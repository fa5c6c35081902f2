"""`sohoa demo`: the pipeline on the bundled sample dossiers, step by step, into one folder."""
import shutil
from pathlib import Path

from . import doctor
from .console import err
from .errors import ExitCode
from .progress import progress_bar

BUNDLED = Path(__file__).resolve().parent.parent / "samples" / "dossiers"
SAMPLE_CALL = {"dossiers": 5, "seed": 2026, "compact": True}  # how samples/dossiers was made


def run_demo(out: Path) -> int:
    err.rule("[bold]sohoa demo")
    if not _machine_ready(out):
        return ExitCode.FAILED
    scans = _sample_scans(out / "scans")
    dossiers = sorted(p for p in scans.iterdir() if p.is_dir() and p.name != "batch")
    ocr_run = _ocr(dossiers, out / "ocr", split=False, step="2. OCR of the dossiers")
    batch_run = _ocr([scans / "batch"], out / "ocr-batch", split=True,
                     step="3. OCR of a stacked batch, cut at its QR separator sheets")
    pki = _test_pki(out / "pki")
    failed = ocr_run.failed or batch_run.failed
    err.rule("[bold]Where to look")
    err.print(f"  scans (with ground_truth.json)  {scans}\n"
              f"  searchable PDFs + dossier.json  {out / 'ocr'}\n"
              f"  the split batch                 {out / 'ocr-batch'}\n"
              f"  TEST-ONLY certificates          {pki}\n"
              "Next: `sohoa --help`; README.md has one section per user.")
    return ExitCode.FAILED if failed else ExitCode.OK


def _machine_ready(out: Path) -> bool:
    checks = doctor.run_checks(out)
    missing = [c for c in checks if c.failed]
    if missing:
        for c in missing:
            err.print(f"[red]✗ {c.name}[/]: {c.fix}")
        err.print("[red]Some required parts are missing; run `make setup` first.[/]")
        return False
    err.print("0. sohoa doctor: everything sohoa needs is here.")
    return True


def _sample_scans(scans: Path) -> Path:
    if (scans / "batch").is_dir():
        err.print(f"1. Sample scans already in {scans}")
    elif BUNDLED.is_dir():
        shutil.copytree(BUNDLED, scans, dirs_exist_ok=True)
        err.print(f"1. Copied the bundled sample dossiers into {scans}")
    else:
        from sohoa.samples.generate import generate

        with err.status("Generating sample dossiers…"):
            generate(scans, **SAMPLE_CALL)
        err.print(f"1. Generated sample dossiers into {scans}")
    return scans


def _ocr(inputs: list[Path], out: Path, *, split: bool, step: str):
    from sohoa.ocr.pipeline import OcrOptions, run_ocr

    err.print(step)
    with progress_bar("   OCR", "pages") as (start, advance):
        run = run_ocr(inputs, out, OcrOptions(split_qr=split), on_start=start, on_page=advance)
    documents = sum(len(d.documents) for d in run.dossiers)
    dropped = sum(len(doc.dropped_pages) for d in run.dossiers for doc in d.documents)
    err.print(f"   {len(run.dossiers)} dossiers, {documents} searchable PDFs, {run.pages} pages "
              f"({dropped} blank {'back' if dropped == 1 else 'backs'} left out) "
              f"in {run.seconds:.0f} s → {out}", soft_wrap=True)
    for dossier in run.dossiers:
        if split:
            err.print(f"   dossier {dossier.dossier}: {len(dossier.documents)} documents")
    return run


def _test_pki(pki: Path) -> Path:
    if not (pki / "agency.p12").exists():
        from sohoa.samples import testpki

        testpki.export(pki)
    err.print(f"4. TEST-ONLY certificates and .p12 keys for signing in {pki}")
    return pki
