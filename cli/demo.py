"""`sohoa demo`: the clerk's and the archivist's commands, run for real on the bundled
sample dossiers, into one folder, each printed before it runs.

The TEST-ONLY PKI's time-stamping, OCSP and CRL services run inside this process on
127.0.0.1 while the commands run, and stop with it: nothing is left for the user to stop.
"""
from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

from rich.markup import escape

from . import doctor
from .console import err
from .errors import ExitCode

BUNDLED = Path(__file__).resolve().parent.parent / "samples" / "dossiers"
SAMPLE_CALL = {"dossiers": 5, "seed": 2026, "compact": True}  # how samples/dossiers was made
AGENCY = ("UBND xã Diên Lạc", "000.00.12.H27")  # the TEST-ONLY agency certificate's


def run_demo(out: Path) -> int:
    started = time.monotonic()
    err.rule("[bold]sohoa demo")
    if not _machine_ready(out):
        return ExitCode.FAILED
    out.mkdir(parents=True, exist_ok=True)
    _sample_scans(out / "scans")
    _test_pki(out)
    from sohoa.samples import testpki

    try:
        server = testpki.serve()
        urls = server.__enter__()
    except OSError as exc:
        err.print(f"[red]✗[/] the test PKI services could not start: {escape(str(exc))}")
        return ExitCode.FAILED
    try:
        failed = _commands(out, urls.tsa_url)
    finally:
        server.__exit__(None, None, None)
    _where_to_look(out, time.monotonic() - started)
    return ExitCode.FAILED if failed else ExitCode.OK


def _commands(out: Path, tsa: str) -> list[str]:
    sohoa = Demo(out)
    if not (out / "sohoa.toml").exists():
        sohoa.step("Settings of the desk (TEST-ONLY agency and key), in sohoa.toml",
                   "init", "--agency-name", AGENCY[0], "--agency-code", AGENCY[1],
                   "--archive", "archive", "--p12", "pki/agency.p12", "--tsa", tsa,
                   "--trust-dir", "trust")
    else:
        err.print("[bold]·[/] Settings already in sohoa-demo/sohoa.toml")
    sohoa.step("The clerk's day: five dossiers scanned folder by folder → OCR, signed copies "
               "(SAO Y, PAdES B-LT), verified, archived", "run", "scans/dossiers", "--work", "work", "--level", "B-LT")
    sohoa.step("A stacked batch from the feeder, cut at its QR separator sheets",
               "run", "scans/batch", "--split", "qr", "--work", "work", "--level", "B-LT")
    sohoa.step("The archivist searches without diacritics", "archive", "search",
               "giay xac nhan tinh trang hon nhan", "--limit", "3")
    sohoa.step("The archive in numbers", "archive", "stats")
    signed = "archive"
    if (out / "archive" / "store.url").is_file():  # SOHOA_STORE: the bags are on S3
        shutil.rmtree(out / "dip", ignore_errors=True)
        sohoa.step("The bags are in the S3 store: every dossier exported from it (a DIP folder)",
                   "archive", "export", "--dip", "dip")
        signed = "dip"
    sohoa.step("Every signature in the archive, verified offline (B-LT signatures carry their "
               "own revocation data)", "verify", signed, "--offline", "--signed-only")
    sohoa.step("Fixity: every file of every bag against its checksums", "archive", "check")
    return sohoa.failed


class Demo:
    """Runs `sohoa ARGS` in the demo folder as a user would type it, and shows it."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.failed: list[str] = []
        self.env = os.environ | {"SOHOA_P12_PASSWORD": "test-only"}  # the TEST-ONLY key's
        for name in ("SOHOA_ARCHIVE", "SOHOA_P12", "SOHOA_PKCS11_LIB", "SOHOA_TRUST_DIR",
                     "SOHOA_AGENCY_NAME", "SOHOA_AGENCY_CODE", "SOHOA_TSA"):
            self.env.pop(name, None)  # the demo's sohoa.toml decides

    def step(self, title: str, *args: str) -> None:
        err.print(f"\n[bold]· {escape(title)}[/]")
        err.print(f"[cyan]$ sohoa {escape(shlex.join(args))}[/]", soft_wrap=True)
        done = subprocess.run([*_sohoa(), *args], cwd=self.folder, env=self.env,
                              stdout=sys.stderr, stdin=subprocess.DEVNULL)
        if done.returncode != 0:
            self.failed.append(args[0])
            err.print(f"[red]✗ sohoa {escape(args[0])} ended with exit status {done.returncode}[/]")


def _sohoa() -> list[str]:
    """The sohoa now running (console script), else `python -m sohoa.cli`."""
    script = Path(sys.argv[0])
    if script.name == "sohoa" and script.exists():
        return [str(script.absolute())]
    found = shutil.which("sohoa")
    return [found] if found else [sys.executable, "-m", "sohoa.cli"]


def _machine_ready(out: Path) -> bool:
    checks = doctor.run_checks(out)
    missing = [c for c in checks if c.failed]
    if missing:
        for c in missing:
            err.print(f"[red]✗ {c.name}[/]: {c.fix}")
        err.print("[red]Some required parts are missing; run `make setup` first.[/]")
        return False
    err.print("· sohoa doctor: everything sohoa needs is here.")
    return True


def _sample_scans(scans: Path) -> None:
    if (scans / "batch").is_dir():
        err.print(f"· Sample scans already in {scans}")
        return
    if BUNDLED.is_dir():
        source = BUNDLED
        how = "Copied the bundled sample scans"
    else:
        from sohoa.samples.generate import generate

        source = scans.parent / ".generated"
        with err.status("Generating sample dossiers…"):
            generate(source, **SAMPLE_CALL)
        how = "Generated sample scans"
    for case in sorted(p for p in source.iterdir() if p.is_dir() and p.name != "batch"):
        shutil.copytree(case, scans / "dossiers" / case.name, dirs_exist_ok=True)
    shutil.copytree(source / "batch", scans / "batch", dirs_exist_ok=True)
    if source != BUNDLED:
        shutil.rmtree(source)
    err.print(f"· {how} into {scans}: dossiers/ (one folder per dossier, with "
              "ground_truth.json) and batch/ (a stacked feeder scan)")


def _test_pki(out: Path) -> None:
    from sohoa.samples import testpki

    pki, trust = out / "pki", out / "trust"
    port = str(testpki.default_port())  # the certificates name their OCSP/CRL URLs with it
    marker = pki / "port"
    if not (pki / "agency.p12").exists() or not marker.exists() or marker.read_text() != port:
        testpki.export(pki, port=int(port))
        marker.write_text(port)
    trust.mkdir(exist_ok=True)
    shutil.copyfile(pki / "root.pem", trust / "root.pem")
    err.print(f"· TEST-ONLY certificates and keys in {pki} (password test-only); "
              f"the test root trusted in {trust}")


def _where_to_look(out: Path, seconds: float) -> None:
    err.rule("[bold]Where to look")
    store = out / "archive" / "store.url"
    bags = store.read_text(encoding="utf-8").strip() + "fonds" if store.is_file() else out / "archive" / "fonds"
    err.print(f"  scans (with ground_truth.json)    {out / 'scans'}\n"
              f"  searchable PDFs + dossier.json    {out / 'work' / 'ocr'}\n"
              f"  signed copies (SAO Y)             {out / 'work' / 'signed'}\n"
              f"  the archive (one bag per dossier) {bags}\n"
              f"  the settings used                 {out / 'sohoa.toml'}\n"
              f"  TEST-ONLY certificates            {out / 'pki'}\n"
              f"Done in {seconds:.0f} s. Run `make demo` again: nothing is redone. "
              "Next: `sohoa --help`; README.md has one section per user.", soft_wrap=True)
