"""`sohoa sign`: PAdES signatures with a Decree 30 appearance, from a PKCS#12 file or a token."""
from __future__ import annotations

import getpass
import os
import sys
import time
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape

from .config import load_settings
from .console import err, print_json
from .errors import ExitCode, UsageError

EPILOG = ("Example: sohoa sign decisions/ -o signed/ --pkcs11-lib /usr/lib/libeToken.so "
          "--token-label 'UBND xã Diên Lạc' --role leader --signature-image chu-ky.png  ·  "
          "sohoa sign ban-sao/*.pdf -o out/ --p12 co-quan.p12 --role copy --tsa http://tsa.example/")


class RoleOpt(str, Enum):
    leader = "leader"
    agency = "agency"
    copy = "copy"
    attachment = "attachment"
    invisible = "invisible"


class LevelOpt(str, Enum):
    b_b = "B-B"
    b_t = "B-T"
    b_lt = "B-LT"
    b_lta = "B-LTA"


P = typer.Option
KEYS = "Key (PKCS#12 file or PKCS#11 token)"
LOOK = "Appearance (Decree 30)"


def sign(
    pdfs: Annotated[list[Path], typer.Argument(help="PDF files, or folders of them.", show_default=False)],
    out: Annotated[Path, P("--out", "-o", help="Output folder: OUT/<name>.pdf.", show_default=False)],
    p12: Annotated[Optional[Path], P(help="PKCS#12 file (.p12/.pfx) with key and chain.", rich_help_panel=KEYS)] = None,
    password_file: Annotated[Optional[Path], P(help="File whose first line is the PKCS#12 password (else $SOHOA_P12_PASSWORD, else asked).", rich_help_panel=KEYS)] = None,
    pkcs11_lib: Annotated[Optional[Path], P(help="The token's PKCS#11 library (.so).", rich_help_panel=KEYS)] = None,
    token_label: Annotated[Optional[str], P(help="Token label (may be Vietnamese).", rich_help_panel=KEYS)] = None,
    key_id: Annotated[Optional[str], P(help="Key CKA_ID in hex, e.g. 02.", rich_help_panel=KEYS)] = None,
    key_label: Annotated[Optional[str], P(help="Private key label.", rich_help_panel=KEYS)] = None,
    cert_label: Annotated[Optional[str], P(help="Certificate label (the key is the one with the same ID, else the same public key).", rich_help_panel=KEYS)] = None,
    pin_file: Annotated[Optional[Path], P(help="File whose first line is the PIN (else $SOHOA_PIN, else asked once).", rich_help_panel=KEYS)] = None,
    role: Annotated[RoleOpt, P(help="leader: signature image in the signer block · agency: seal over the leader's image · copy / attachment: text top right of page 1 · invisible.", rich_help_panel=LOOK)] = RoleOpt.invisible,
    signature_image: Annotated[Optional[Path], P(help="Leader's signature: blue PNG, transparent background.", rich_help_panel=LOOK)] = None,
    seal_image: Annotated[Optional[Path], P(help="Agency seal: red PNG, transparent background.", rich_help_panel=LOOK)] = None,
    seal_mm: Annotated[float, P(help="The seal's real diameter in mm.", rich_help_panel=LOOK)] = 36.0,
    at_page: Annotated[Optional[int], P(min=1, help="Page of the appearance (default: the last page; page 1 for copy/attachment).", rich_help_panel=LOOK)] = None,
    box: Annotated[Optional[str], P(help="x0,y0,x1,y1 in PDF points (origin bottom left): the area of the leader's signature image (leader and agency roles), or where the text goes (its top left corner).", rich_help_panel=LOOK)] = None,
    copy_form: Annotated[str, P(help="Copy form: SAO Y, SAO LỤC, TRÍCH SAO.", rich_help_panel=LOOK)] = "SAO Y",
    main_doc: Annotated[Optional[str], P(help="Attachment: number and ký hiệu of the main document, e.g. 15/QĐ-UBND.", rich_help_panel=LOOK)] = None,
    agency_name: Annotated[Optional[str], P(help="Agency name on the copy stamp (default: setting agency_name, else from the certificate).", rich_help_panel=LOOK)] = None,
    level: Annotated[Optional[LevelOpt], P(help="PAdES baseline level (default B-B, B-T with --tsa).")] = None,
    tsa: Annotated[Optional[str], P(help="RFC 3161 time-stamping URL.")] = None,
    certify: Annotated[bool, P("--certify", help="Certification signature (DocMDP: later signatures and form filling allowed).")] = False,
    no_leader_check: Annotated[bool, P("--no-leader-check", help="agency: sign even if the document has no signature yet.")] = False,
    trust: Annotated[Optional[list[Path]], P(help="Extra trust anchor (PEM/DER) for building the chain at B-LT/B-LTA; the setting trust_dir is used too.")] = None,
    offline: Annotated[bool, P("--offline", help="Do not ask OCSP/CRL whether the certificate is revoked before signing.")] = False,
    jobs: Annotated[Optional[int], P("--jobs", "-j", min=1, help="Worker processes for PKCS#12 keys (default: one per core; a token signs in one session).")] = None,
    force: Annotated[bool, P("--force", help="Replace existing output files.")] = False,
    json: Annotated[bool, P("--json", help="Machine output on stdout.")] = False,
) -> None:
    """Sign PDFs (PAdES) with the Decree 30 appearance of a leader, an agency seal or a copy stamp.

    The certificate is checked before anything is signed and before the PIN is asked: an
    expired or not yet valid certificate, one without digitalSignature/nonRepudiation key
    usage, or a revoked one (when its OCSP/CRL answers) is refused with exit status 2.
    A wrong PIN or password, a locked token, a missing image or a bad PDF fail the files
    concerned (exit status 1); the others are signed. Inputs are never changed.
    """
    from sohoa.signing import keys as keys_lib
    from sohoa.signing import sign as lib

    settings = load_settings({"p12": p12, "pkcs11_lib": pkcs11_lib, "agency_name": agency_name,
                              "jobs": jobs, "token_label": token_label, "tsa": tsa})
    settings = flagged_key_wins(settings, p12, pkcs11_lib)
    tsa = settings.tsa
    inputs = _inputs(pdfs)
    trust_dir = [settings.trust_dir] if settings.trust_dir and settings.trust_dir.is_dir() else []
    anchors = keys_lib.load_certificates([*(trust or []), *trust_dir])  # complete the chain
    key = key_source(settings, password_file, pin_file, key_id, key_label, cert_label, anchors)
    request = lib.SignRequest(
        role=lib.Role(role.value), level=lib.Level(level.value) if level else None, tsa_url=tsa,
        certify=certify, leader_check=not no_leader_check, signature_image=signature_image,
        seal_image=seal_image, seal_mm=seal_mm, at_page=at_page, box=_box(box), copy_form=copy_form,
        main_doc=main_doc, agency_name=settings.agency_name, overwrite=force, jobs=settings.jobs,
        trust=tuple(anchors), check_revocation=not offline)
    if offline and request.effective_level in (lib.Level.B_LT, lib.Level.B_LTA):
        raise UsageError(f"--level {request.effective_level.value} embeds revocation info: it cannot be --offline")
    started = time.perf_counter()
    try:
        batch = lib.prepare(request, key)  # may ask the password or PIN, before the progress bar
    except lib.RequestError as exc:
        raise UsageError(str(exc)) from None
    signer = keys_lib.describe(batch.cert) if batch.cert is not None else None
    done: list = []
    with _progress(len(inputs)) as advance:
        def report(result) -> None:
            done.append(result.ok)
            if result.ok:
                err.print(f"[green]✓[/] {escape(result.file)} → {escape(result.output)}"
                          f" [dim]({result.field}, {result.signing_time})[/]", soft_wrap=True)
            else:
                err.print(f"[red]✗[/] {escape(result.file)}: {escape(result.message or '')}", soft_wrap=True)
            advance()

        try:
            results = lib.sign_files(inputs, out, request, key, report, batch=batch)
        except KeyboardInterrupt:
            err.print(f"[yellow]interrupted[/] after {sum(done)} of {len(inputs)} files were signed; "
                      f"every file in {escape(str(out))} is complete (no partial file is left)")
            raise typer.Exit(ExitCode.INTERRUPTED) from None
    seconds = time.perf_counter() - started
    signed = sum(r.ok for r in results)
    failed = len(results) - signed
    rate = signed / seconds if seconds else 0.0
    colour = "green" if not failed else "red"
    err.print(f"[{colour}]{signed} signed, {failed} failed[/] in {seconds:.1f} s ({rate:.1f} docs/s), "
              f"{request.role.value}, PAdES {request.effective_level.value}"
              + (f", by {escape(signer)}" if signer else "") + f" → {escape(str(out))}", soft_wrap=True)
    if json:
        print_json({"signer": signer, "role": request.role.value, "level": request.effective_level.value,
                    "signed": signed, "failed": failed, "seconds": round(seconds, 3),
                    "files": [r.to_json() for r in results]})
    raise typer.Exit(ExitCode.FAILED if failed else ExitCode.OK)


def _progress(total: int):
    from contextlib import contextmanager

    from .progress import progress_bar

    @contextmanager
    def bar():
        if total < 2:  # one file: the result line says it all
            yield lambda: None
            return
        with progress_bar("Signing", "docs") as (start, advance):
            start(total)
            yield advance

    return bar()


def _inputs(pdfs: list[Path]) -> list[Path]:
    """Files as given; a folder gives its *.pdf files (not recursive), sorted."""
    out: list[Path] = []
    for path in pdfs:
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix.lower() == ".pdf" and p.is_file())
            if not found:
                raise UsageError(f"{path}: no PDF files in this folder")
            out += found
        else:
            out.append(path)  # a missing file is that file's error; the others are signed
    return out


def _box(text: str | None):
    if text is None:
        return None
    try:
        values = tuple(float(v) for v in text.replace(" ", "").split(","))
    except ValueError:
        values = ()
    if len(values) != 4:
        raise UsageError(f"--box {text!r}: give four numbers x0,y0,x1,y1 in PDF points")
    return values


def _secret(file: Path | None, env: str, what: str):
    """A callable giving the secret: from the file, the environment, or asked (hidden), once."""
    cache: list[str] = []

    def get() -> str:
        if cache:
            return cache[0]
        if file is not None:
            try:
                value = (file.read_text(encoding="utf-8").splitlines() or [""])[0]
            except OSError as exc:
                raise UsageError(f"{file}: cannot read the {what} file ({exc.strerror})") from None
        elif os.environ.get(env):
            value = os.environ[env]
        else:
            if not sys.stdin or sys.stdin.closed:
                raise UsageError(f"no {what}: give --{what.lower().replace(' ', '-')}-file or set ${env}")
            try:
                value = getpass.getpass(f"{what}: ", stream=sys.stderr)
            except (EOFError, KeyboardInterrupt):
                raise UsageError(f"no {what} given") from None
        cache.append(value)
        return value

    return get


def flagged_key_wins(settings, p12: Path | None, pkcs11_lib: Path | None):
    """A key named by a flag replaces the other kind of key named in sohoa.toml or $SOHOA_*."""
    import dataclasses

    if p12 is not None and pkcs11_lib is not None:
        raise UsageError("choose one key: --p12 FILE or --pkcs11-lib LIB, not both")
    if p12 is not None:
        return dataclasses.replace(settings, pkcs11_lib=None)
    if pkcs11_lib is not None:
        return dataclasses.replace(settings, p12=None)
    return settings


def key_source(settings, password_file=None, pin_file=None, key_id=None, key_label=None,
               cert_label=None, anchors=()):
    """The key the settings and flags name: a PKCS#11 token or a PKCS#12 file."""
    from sohoa.signing.keys import Pkcs11Key, Pkcs12Key

    token_label = settings.token_label
    token_flags = any(v is not None for v in (key_id, key_label, cert_label, pin_file))
    if settings.pkcs11_lib and settings.p12 and (token_flags or password_file):
        raise UsageError("choose one key: --p12 FILE or --pkcs11-lib LIB, not both")
    if settings.pkcs11_lib and (token_flags or not settings.p12):
        try:
            kid = bytes.fromhex(key_id.lower().removeprefix("0x")) if key_id else None
        except ValueError:
            raise UsageError(f"--key-id {key_id!r}: give the key's CKA_ID in hex, e.g. 02") from None
        return Pkcs11Key(settings.pkcs11_lib, _secret(pin_file, "SOHOA_PIN", "PIN"), token_label=token_label,
                         key_id=kid, key_label=key_label, cert_label=cert_label, extra_certs=anchors)
    if settings.p12:
        if not settings.p12.is_file():
            raise UsageError(f"{settings.p12}: no such PKCS#12 file")
        return Pkcs12Key(settings.p12, _secret(password_file, "SOHOA_P12_PASSWORD", "Password"),
                         extra_certs=anchors)
    raise UsageError("no key: give --p12 FILE (a .p12/.pfx) or --pkcs11-lib LIB.so for a token")
