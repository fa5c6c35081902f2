"""Sign PDF files with PAdES baseline signatures and Decree 30 appearances.

    results = sign_files(inputs, out_dir, SignRequest(role=Role.copy), Pkcs12Key(...))

One batch: the certificate is checked first (expired, not yet valid, wrong key usage,
revoked: CertificateRefused, before any PIN), the appearance is built once
(appearance.Template), the key is opened once (one PIN, one token session), then every
file is signed into OUT/<name>.pdf, atomically, as an incremental update of the input
(which is never changed). A file that fails gets an error result and the batch goes on.

Speed (see ../../shared/spec/measured.md): the container size is reserved once per batch
(pyHanko would sign every file twice to size it), the key stays parsed, one event loop
serves the batch, and batches run in forked worker processes. A token session cannot
be shared between processes: with a token the workers do everything but the raw
signature, which this process makes in its one session (keys.remote_signer).
"""
from __future__ import annotations

import asyncio
import functools
import io
import multiprocessing
import os
import signal
import sys
import threading
import time
import warnings
from dataclasses import asdict, dataclass, field
from enum import Enum
from pathlib import Path
from typing import Callable, Sequence

from sohoa.cli import fsio

from . import appearance as ap
from . import keys
from .keys import KeySource, KeyUnavailable, check_certificate
from .placement import (FIELD_NAMES, FileProblem, field_widget, leader_widget, page_rect,
                        signer_block)



class Role(str, Enum):
    leader = "leader"
    agency = "agency"
    copy = "copy"
    attachment = "attachment"
    invisible = "invisible"


class Level(str, Enum):
    B_B = "B-B"
    B_T = "B-T"
    B_LT = "B-LT"
    B_LTA = "B-LTA"


@dataclass(frozen=True)
class SignRequest:
    role: Role = Role.invisible
    level: Level | None = None  # None: B-T with a TSA, else B-B
    tsa_url: str | None = None
    certify: bool = False
    leader_check: bool = True
    signature_image: Path | None = None
    seal_image: Path | None = None
    seal_mm: float = 36.0
    at_page: int | None = None  # 1-based, with box
    box: ap.Box | None = None  # PDF points: leader: the signature's area; agency: the leader's
    copy_form: str = "SAO Y"
    main_doc: str | None = None
    agency_name: str | None = None  # default: from the certificate
    overwrite: bool = False
    jobs: int = field(default_factory=lambda: os.cpu_count() or 1)
    trust: tuple = ()  # asn1crypto certificates: extra anchors for B-LT path building
    check_revocation: bool = True
    font: Path | None = None  # default: sohoa.cli.fonts.vietnamese_font()

    @property
    def effective_level(self) -> Level:
        return self.level or (Level.B_T if self.tsa_url else Level.B_B)


@dataclass
class SignResult:
    file: str
    output: str | None = None
    status: str = "error"  # signed | error
    message: str | None = None
    field: str | None = None
    signing_time: str | None = None
    page: int | None = None
    box: list[float] | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == "signed"

    def to_json(self) -> dict:
        return asdict(self)


class RequestError(ValueError):
    """The request itself is wrong (a usage error, before anything is done)."""


def validate_request(request: SignRequest) -> None:
    level = request.effective_level
    if level is not Level.B_B and not request.tsa_url:
        raise RequestError(f"--level {level.value} needs a time-stamping service: --tsa URL")
    if request.box is not None:
        x0, y0, x1, y1 = request.box
        if x1 <= x0 or y1 <= y0:
            raise RequestError("--box must be x0,y0,x1,y1 with x0 < x1 and y0 < y1 (PDF points)")
    if request.seal_mm <= 0:
        raise RequestError("--seal-mm must be positive")


def prepare(request: SignRequest, key: KeySource) -> "Batch":
    """Check the request and the certificate, build the appearance, open the key (the one
    PIN entry). Raises RequestError or keys.CertificateRefused: nothing may be signed. A
    key that cannot be opened (wrong PIN or password, locked token) or an appearance that
    cannot be built (missing image) gives a Batch whose `error` every file will report."""
    validate_request(request)
    try:
        cert = key.certificate()
        check_certificate(cert, key.chain(), revocation=request.check_revocation)
        batch = Batch(request, key, cert)
        batch.open()
    except (KeyUnavailable, ap.AppearanceError, BatchProblem) as exc:
        key.close()
        return Batch(request, key, None, error=str(exc))
    return batch


class BatchProblem(Exception):
    """Something every file needs is missing (e.g. the time-stamping service)."""


def sign_files(inputs: Sequence[Path], out_dir: Path, request: SignRequest, key: KeySource,
               on_file: Callable[[SignResult], None] | None = None, *,
               batch: "Batch | None" = None) -> list[SignResult]:
    """Sign every input into out_dir/<name>.pdf; results in input order. `batch` comes
    from prepare() (called here when not given). Raises what prepare() raises; every other
    problem is a file's result."""
    pairs = [(Path(p), Path(out_dir) / f"{Path(p).stem}.pdf") for p in inputs]
    return sign_pairs(pairs, request, key, on_file, batch=batch)


def sign_pairs(pairs: Sequence[tuple[Path, Path]], request: SignRequest, key: KeySource,
               on_file: Callable[[SignResult], None] | None = None, *,
               batch: "Batch | None" = None) -> list[SignResult]:
    """sign_files with each output named: (input, output) pairs, one key session."""
    on_file = on_file or (lambda result: None)
    batch = batch or prepare(request, key)
    plan = _plan(pairs, request)
    results: dict[int, SignResult] = {}
    todo = []
    for i, (src, dst, early) in enumerate(plan):
        if early is None and batch.error:
            early = SignResult(str(src), message=batch.error)
        if early is None:
            todo.append((i, src, dst))
        else:
            results[i] = early
            on_file(early)
    running = _run(batch, todo, request, key)
    try:
        for i, result in running:
            results[i] = result
            on_file(result)
    finally:
        running.close()  # on Ctrl-C in on_file too: stop the workers, remove their temp files
        batch.close()
        key.close()
    return [results[i] for i in range(len(plan))]


def _plan(pairs: Sequence[tuple[Path, Path]], request: SignRequest):
    """(input, output, early result or None) per input."""
    seen: dict[Path, Path] = {}
    plan = []
    for src, dst in pairs:
        problem = None
        if not src.is_file():
            problem = "not found" if not src.exists() else "not a file"
        elif dst.resolve() == src.resolve():
            problem = f"the output would replace the input: choose another -o than {dst.parent}"
        elif dst.resolve() in seen:
            problem = f"same output name as {seen[dst.resolve()]}: sign them into separate folders"
        elif dst.exists() and not request.overwrite:
            problem = f"{dst} exists: use --force to replace it"
        seen.setdefault(dst.resolve(), src)
        plan.append((src, dst, SignResult(str(src), message=problem) if problem else None))
    return plan


# ------------------------------------------------------------------ the batch


class Batch:
    """Per-batch state: appearance template, signer, time-stamper, validation context."""

    def __init__(self, request: SignRequest, key: KeySource, cert, error: str | None = None):
        self.request = request
        self.key = key
        self.cert = cert
        self.error = error
        self.level = request.effective_level
        self.signer = self.loop = self.timestamper = self.context = self.remote = None
        self.reserved = 0
        self.template = self._template() if error is None else None

    def _template(self) -> ap.Template | None:
        r = self.request
        role = r.role.value
        if role == "invisible":
            return None
        font = None
        if role in ("copy", "attachment"):
            from sohoa.cli.fonts import vietnamese_font

            font = r.font or vietnamese_font("regular")
        agency = r.agency_name or ap.agency_name(self.cert.subject.native)
        lines = ap.stamp_lines(role, copy_form=r.copy_form, agency=agency, main_doc=r.main_doc)
        image = r.signature_image if role == "leader" else r.seal_image
        return ap.build_template(role, image_path=image, lines_text=lines, font_path=font)

    def open(self) -> None:
        self.signer = self.key.open()
        self.loop = asyncio.new_event_loop()
        if self.request.tsa_url:
            from pyhanko.sign.timestamps import HTTPTimeStamper

            self.timestamper = HTTPTimeStamper(self.request.tsa_url, timeout=20)
        if self.level in (Level.B_LT, Level.B_LTA):
            from pyhanko_certvalidator import ValidationContext

            # the chain's root (or the given trust anchors) bound the revocation info collected
            pool = [*self.key.chain(), *self.request.trust]
            roots = [c for c in pool if c.self_signed != "no"] or pool[-1:] or [self.cert]
            self.context = ValidationContext(trust_roots=roots, other_certs=pool, allow_fetching=True,
                                             revocation_mode="hard-fail")
        try:
            self.reserved = self.loop.run_until_complete(self._reserve())
        except Exception as exc:  # noqa: BLE001 — pyHanko/aiohttp errors of the dry run
            what = "time-stamping service" if self.timestamper else "signing dry run"
            raise BatchProblem(f"{what} failed: {_one_line(exc)}") from None

    async def _reserve(self) -> int:
        """Bytes for the signature container, sized once: a dry run (with a real time stamp
        when B-T or above) plus half again, as pyHanko does per file."""
        from datetime import datetime, timezone

        from pyhanko.sign.signers.pdf_cms import PdfCMSSignedAttributes

        size = len((await self.signer.async_sign(
            b"\0" * 32, "sha256", use_pades=True, dry_run=True, timestamper=self.timestamper,
            signed_attr_settings=PdfCMSSignedAttributes(signing_time=datetime.now(timezone.utc)))).dump())
        return 2 * size + 2 * (size // 2) + 1024

    def close(self) -> None:
        if self.loop is None:
            return
        if self.context is not None:
            self.loop.run_until_complete(self.context.aclose())
        self.loop.close()
        self.loop = None


def _run(state: Batch, todo, request: SignRequest, key: KeySource):
    if not todo:
        return
    try:
        yield from _run_jobs(state, todo, request, key)
    finally:
        for folder in {dst.parent for _, _, dst in todo if dst.parent.is_dir()}:
            fsio.fsync_dir(folder)


def _run_jobs(state: Batch, todo, request: SignRequest, key: KeySource):
    workers = min(request.jobs, len(todo))
    if workers <= 1 or sys.platform == "win32":
        for i, src, dst in todo:
            yield i, sign_one(state, src, dst)
        return
    context = multiprocessing.get_context("fork")
    server = None
    if not key.forkable:  # workers do the PDF and CMS work; this process signs (one session)
        pipes = [context.Pipe() for _ in range(workers)]
        stop = threading.Event()
        server = threading.Thread(target=keys.serve_signatures, daemon=True,
                                  args=(state.signer, [mine for mine, _ in pipes], stop))
        state.remote = ([theirs for _, theirs in pipes], context.Value("i", 0))
        server.start()
    global _STATE
    _STATE = state
    pool = context.Pool(workers, initializer=_worker_init)
    try:
        yield from pool.imap_unordered(_worker, todo)
        pool.close()
    except BaseException:
        pool.terminate()
        for _, _, dst in todo:  # a killed worker may leave its temp file
            for part in dst.parent.glob(f".{dst.name}.*.part"):
                part.unlink(missing_ok=True)
        raise
    finally:
        pool.join()
        _STATE = None
        if server is not None:
            stop.set()
            server.join()
            state.remote = None


_STATE: Batch | None = None


def _worker_init() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides; SIGTERM cleans up
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(130))
    warnings.filterwarnings("ignore", message="coroutine .* was never awaited")  # when stopped
    _STATE.loop = asyncio.new_event_loop()  # the parent's loop must not be shared
    if _STATE.remote is not None:
        conns, counter = _STATE.remote
        with counter.get_lock():
            mine = counter.value
            counter.value += 1
        _STATE.signer = keys.remote_signer(conns[mine], _STATE.cert, _STATE.key.chain())


def _worker(job):
    i, src, dst = job
    return i, sign_one(_STATE, src, dst)


# ------------------------------------------------------------------ one file


def sign_one(state: Batch, src: Path, dst: Path) -> SignResult:
    """Sign one file; never raises for a problem of this file."""
    from pyhanko.pdf_utils.misc import PdfError
    from pyhanko.sign.general import SigningError

    started = time.perf_counter()
    result = SignResult(str(src), output=str(dst))
    try:
        data = src.read_bytes()
        signed = _sign_bytes(state, src, data, result)
        _write_output(dst, signed, overwrite=state.request.overwrite)
        result.status, result.message = "signed", None
    except FileExistsError:
        result.message = f"{dst} exists: use --force to replace it"
    except OSError as exc:
        result.message = f"cannot read or write: {exc.strerror or exc}"
    except (ap.AppearanceError, FileProblem) as exc:
        result.message = str(exc)
    except (PdfError, SigningError) as exc:
        result.message = f"cannot sign: {_one_line(exc)}"
    except Exception as exc:  # noqa: BLE001 — one bad file must not stop the batch
        result.message = f"cannot sign: {type(exc).__name__}: {_one_line(exc)}"
    if not result.ok:
        result.output = result.signing_time = result.field = None
        result.page = result.box = None
    result.seconds = round(time.perf_counter() - started, 4)
    return result


def _write_output(dst: Path, data: bytes, *, overwrite: bool) -> None:
    """Atomic, without the per-file folder fsync: the folder is synced once at the end of
    the batch (_run)."""
    fsio.write_bytes(dst, data, overwrite=overwrite, sync_folder=False)


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:300]


def _open_reader(data: bytes):
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.pdf_utils.misc import PdfReadError, PdfStrictReadError

    if not data.lstrip()[:5] == b"%PDF-" and b"%PDF-" not in data[:1024]:
        raise FileProblem("not a PDF file")
    try:
        writer = IncrementalPdfFileWriter(io.BytesIO(data))
    except PdfStrictReadError:  # scanner and Pillow quirks: sign as pyHanko --no-strict-syntax
        writer = IncrementalPdfFileWriter(io.BytesIO(data), strict=False)
    except (PdfReadError, ValueError, KeyError, IndexError) as exc:
        raise FileProblem(f"unreadable PDF ({_one_line(exc)})") from None
    if writer.prev.encrypted:
        raise FileProblem("encrypted PDF (password-protected): save a decrypted copy, then sign it")
    return writer


def _sign_bytes(state: Batch, src: Path, data: bytes, result: SignResult) -> bytes:
    from pyhanko.sign import fields, signers

    request, role = state.request, state.request.role.value
    writer = _open_reader(data)
    reader = writer.prev
    if role == "agency" and request.leader_check and not reader.embedded_regular_signatures:
        raise FileProblem("no leader signature yet: the leader signs first "
                           "(or use --no-leader-check)")
    if request.certify and reader.embedded_signatures:
        raise FileProblem("--certify is for the first signature only; this file is already signed")
    moment = ap.signing_time()
    time_text = ap.format_time(moment)
    prepared = _prepared_field(reader) if role == "agency" else None
    if prepared:  # the certifying leader left the seal's field: fill it (DocMDP allows that)
        name, page, box = prepared
        spec = None
    else:
        page, box = _placement(state, src, reader, role)
        name = _free_name(reader, FIELD_NAMES[role])
        spec = fields.SigFieldSpec(name, on_page=(page - 1) if page else 0, box=box if page else None)
    in_widget = None
    if role in ("copy", "attachment"):
        if reader.embedded_signatures:  # new page content would break the earlier signatures
            in_widget = {ap.TIME_PARAM: time_text}
        else:  # in the page content, where viewers (pdf.js too) select and copy it
            ap.add_text_to_page(writer, page - 1, state.template, box, time_text)
    if role == "leader" and request.certify:
        # After a certification signature, a new visible field is a disallowed change
        # (pyHanko's and Acrobat's reading of DocMDP): prepare the agency seal's field now.
        seal = ap.seal_box(box, ap.StampImage(1, 1, b"", None), request.seal_mm)
        fields.append_signature_field(writer, fields.SigFieldSpec(
            _free_name(reader, FIELD_NAMES["agency"]), on_page=page - 1, box=seal))
    level = state.level
    meta = signers.PdfSignatureMetadata(
        field_name=name, subfilter=fields.SigSeedSubFilter.PADES, certify=request.certify,
        embed_validation_info=level in (Level.B_LT, Level.B_LTA), use_pades_lta=level is Level.B_LTA,
        validation_context=state.context, md_algorithm="sha256",
        signer_key_usage={"digital_signature", "non_repudiation"})  # either one, as checked before
    pdf_signer = _timed_signer_class()(meta, signer=state.signer, timestamper=state.timestamper,
                                       stamp_style=state.template.style if state.template else None,
                                       new_field_spec=spec, moment=moment)
    out = io.BytesIO()
    state.loop.run_until_complete(pdf_signer.async_sign_pdf(
        writer, bytes_reserved=state.reserved, output=out, appearance_text_params=in_widget))
    result.field, result.signing_time = name, time_text
    result.page, result.box = page, [round(v, 2) for v in box] if box else None
    return out.getvalue()


def _free_name(reader, base: str) -> str:
    from pyhanko.sign import fields

    taken = {name for name, _, _ in fields.enumerate_sig_fields(reader)}
    n = 1
    while (base if n == 1 else f"{base}{n}") in taken:
        n += 1
    return base if n == 1 else f"{base}{n}"


def _prepared_field(reader):
    """(name, page, rect) of an empty visible signature field meant for the agency seal."""
    from pyhanko.sign import fields

    for name, _, ref in fields.enumerate_sig_fields(reader, filled_status=False):
        if str(name).startswith(FIELD_NAMES["agency"]):
            page, rect = field_widget(reader, ref)
            if rect is not None:
                return str(name), page, rect
    return None


@functools.cache
def _timed_signer_class():
    from pyhanko.sign.signers import PdfSigner

    class TimedSigner(PdfSigner):
        """The signing time is chosen by us, so the CMS signing-time and the stamp agree."""

        def __init__(self, *args, moment, **kwargs):
            super().__init__(*args, **kwargs)
            self.moment = moment

        def init_signing_session(self, pdf_out, existing_fields_only=False):
            session = super().init_signing_session(pdf_out, existing_fields_only)
            session.system_time = self.moment
            return session

    return TimedSigner


def _placement(state: Batch, src: Path, reader, role: str) -> tuple[int | None, ap.Box | None]:
    """(1-based page, widget box) for the role; (None, None) for an invisible signature."""
    request = state.request
    if role == "invisible":
        return None, None
    pages = int(reader.root["/Pages"]["/Count"])
    page = request.at_page or (1 if role in ("copy", "attachment") else pages)
    if not 1 <= page <= pages:
        raise FileProblem(f"--at-page {page}: the document has {pages} page(s)")
    page_box = page_rect(reader, page - 1)
    if role in ("copy", "attachment"):
        size = state.template.text_size
        if request.box:
            return page, (request.box[0], request.box[3] - size[1], request.box[0] + size[0], request.box[3])
        return page, ap.text_box(page_box, size)
    if role == "leader":
        area = request.box or ap.gap_box(signer_block(src, reader, page, page_box))
        return page, ap.fit_image(area, state.template.image.aspect)
    # agency: over the leader's image
    if request.box:
        leader_page, leader = page, request.box
    else:
        leader_page, leader = leader_widget(reader)
        if leader is None:
            leader_page = page
            leader = ap.fit_image(ap.gap_box(signer_block(src, reader, page, page_box)), ap.LEADER_ASPECT)
    return leader_page, ap.seal_box(leader, state.template.image, request.seal_mm)
