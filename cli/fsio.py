"""Outputs appear whole or not at all: temp file in the same folder, fsync, rename."""
import hashlib
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, Iterator


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


FILE_MODE = 0o666 & ~_umask()  # what open() would have given; mkstemp's default is 0600


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def atomic_output(path: Path | str, *, overwrite: bool = True,
                  sync_folder: bool = True) -> Iterator[BinaryIO]:
    """Write `path` through a temp file; on any exception nothing is left behind.

    With overwrite=False an existing file is kept and FileExistsError raised. A batch
    writing many files into one folder may pass sync_folder=False and call fsync_dir once
    at the end (half the cost per file).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not overwrite and path.exists():
        raise FileExistsError(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        os.fchmod(fd, FILE_MODE)
        with os.fdopen(fd, "wb") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        if overwrite:
            os.replace(tmp, path)
        else:
            os.link(tmp, path)  # fails if a file appeared meanwhile
            os.unlink(tmp)
        if sync_folder:
            fsync_dir(path.parent)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_bytes(path: Path | str, data: bytes, *, overwrite: bool = True,
                sync_folder: bool = True) -> None:
    with atomic_output(path, overwrite=overwrite, sync_folder=sync_folder) as out:
        out.write(data)


def write_text(path: Path | str, text: str, *, overwrite: bool = True) -> None:
    write_bytes(path, text.encode("utf-8"), overwrite=overwrite)


def sha256_file(path: Path | str, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()
