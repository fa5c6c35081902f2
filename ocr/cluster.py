"""Pages read on an existing Dask distributed cluster (`sohoa ocr --cluster tcp://host:8786`).

The workers need sohoa and Tesseract installed, not the clerk's files: each source file's
bytes are sent once (scattered) and every page of it is read from them on some worker.
Results come back as they are done and are written, one page at a time, to the page cache:
the catalogue's `ocr_pages` when a PostgreSQL catalogue is set (setting `db`), else the
output folder's. That cache is the job's state, so a job stopped halfway (Ctrl-C, a crash,
the scheduler gone) is resumed by the same command, on a catalogue from any machine,
without redoing a finished page. A page whose worker dies is retried on another worker (`RETRIES` times).
"""
from __future__ import annotations

import os
import tempfile
import threading
from dataclasses import replace
from pathlib import Path
from typing import Callable

from sohoa.cli.errors import BadInput, UsageError

from .analyse import PageAnalysis, analyse_page, in_master_frame
from .engine import Engine
from .pages import PageRef, check_stamp, load_page

RETRIES = 2
CONNECT_TIMEOUT_S = 10

_local = threading.local()  # a worker's threads each keep their own Tesseract engine


def connect(address: str):
    """A client of the scheduler at `address`; UsageError when it cannot be reached."""
    try:
        from distributed import Client
    except ImportError:  # pragma: no cover - a dependency of sohoa
        raise UsageError("--cluster needs the 'distributed' package: pip install distributed") from None
    try:
        return Client(address, timeout=CONNECT_TIMEOUT_S)
    except (OSError, TimeoutError, ValueError) as exc:
        raise UsageError(f"cannot reach the Dask scheduler at {address} ({exc.__class__.__name__}) — "
                         "check the address, or start one with `dask scheduler` and "
                         "`dask worker tcp://HOST:8786` on each machine") from None


def read_page(data: bytes, ref: PageRef, lang: str) -> PageAnalysis:
    """On a worker: one page read from its source file's bytes."""
    engines = getattr(_local, "engines", None)
    if engines is None:
        _keep_image_buffers()
        engines = _local.engines = {}
    engine = engines.get(lang) or engines.setdefault(lang, Engine(lang))
    with tempfile.TemporaryDirectory(prefix="sohoa-page-") as tmp:
        path = Path(tmp) / f"source{ref.source.suffix.lower()}"
        path.write_bytes(data)
        st = os.stat(path)
        local = replace(ref, source=path, stamp=(st.st_size, st.st_mtime_ns))
        image, dpi = load_page(local)
        return in_master_frame(analyse_page(engine, image, dpi[0]), ref.turn, ref.ocr_scale)


def _keep_image_buffers() -> None:
    """Dask starts its workers with MALLOC_TRIM_THRESHOLD_ set, which turns off glibc's
    adaptive mmap threshold: every page image (10–30 MB) is then a fresh mmap, zeroed
    page by page, and a page takes ≈12% longer to read than in sohoa's own workers.
    Page-sized buffers are kept for reuse instead (glibc only; elsewhere nothing changes)."""
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(M_MMAP_THRESHOLD, 32 << 20)
        libc.mallopt(M_TRIM_THRESHOLD, 256 << 20)
    except (OSError, AttributeError):
        pass


M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's malloc.h


def analyse_on_cluster(address: str, todo: list, lang: str,
                       done: Callable[[object, PageAnalysis | None, Exception | None], None]) -> None:
    """Read the pages `todo` (pipeline Pages) on the cluster; `done(page, analysis, error)`
    is called here as each one comes back, in the order they finish."""
    from distributed import as_completed

    client = connect(address)
    futures = {}
    try:
        sources: dict[Path, object] = {}
        for page in todo:
            try:
                data = sources.get(page.ref.source)
                if data is None:
                    data = sources[page.ref.source] = client.scatter(_source_bytes(page.ref))
            except BadInput as exc:
                done(page, None, exc)
                continue
            future = client.submit(read_page, data, page.ref, lang, retries=RETRIES, pure=False)
            futures[future] = page
        for future in as_completed(futures):
            page = futures.pop(future)
            try:
                done(page, future.result(), None)
            except Exception as exc:  # noqa: BLE001 - one bad page never stops the batch
                done(page, None, exc)
    finally:
        if futures:  # interrupted: nothing left running for a job nobody waits for
            client.cancel(list(futures))
        client.close()


def _source_bytes(ref: PageRef) -> bytes:
    check_stamp(ref.source, ref.stamp)
    data = ref.source.read_bytes()
    check_stamp(ref.source, ref.stamp)
    return data
