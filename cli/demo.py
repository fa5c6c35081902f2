"""`sohoa demo`: the bundled pipeline, step by step, into one folder."""
from pathlib import Path

from . import doctor
from .console import err
from .errors import ExitCode

DEMO_SEED = 2023


def run_demo(out: Path) -> int:
    err.rule("[bold]sohoa demo")
    checks = doctor.run_checks(out)
    missing = [c for c in checks if c.failed]
    for c in checks:
        err.print(f"  {'✓' if c.status == 'ok' else '✗' if c.failed else '!'} {c.name}: {c.found}")
    if missing:
        err.print("[red]Some required parts are missing; run `make setup` first.[/]")
        return ExitCode.FAILED
    scans = out / "scans"
    if not (scans / "batch").exists():
        from sohoa.samples.generate import generate

        with err.status("Generating sample dossiers (scans with ground truth)…"):
            result = generate(scans, dossiers=4, seed=DEMO_SEED, stacked_batch=True)
        err.print(f"1. Generated {result.summary()} in {scans}")
    else:
        err.print(f"1. Sample scans already in {scans}")
    pki = out / "pki"
    if not (pki / "agency.p12").exists():
        from sohoa.samples import testpki

        testpki.export(pki)
    err.print(f"2. TEST-ONLY certificates and keys in {pki}")
    err.print(f"\nLook at the scans in {scans} (each dossier has ground_truth.json).\n"
              "Next: sohoa --help lists the commands; README.md has one section per user.")
    return ExitCode.OK
