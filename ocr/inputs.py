"""What goes into `sohoa ocr`: dossiers and documents found in the paths a clerk gives.

Layouts (contract, `sohoa ocr`):

* a folder of scans is one dossier, named after the folder;
* a folder of folders is one dossier per subfolder; loose files next to the subfolders
  form one more dossier named after the folder itself; folders deeper inside a dossier
  folder belong to that dossier (their documents are named "sub_folder_name_document");
* files given directly form one dossier per parent folder, named after it.

Documents: page images whose names end in a running number (``scan_01.jpg``,
``scan-3.png``, ``Scan 004.tif``, ``scan (5).jpg``) are the pages of one document named
by the prefix ("scan"), in numeric order (2 before 10), whatever the separator, case or
image type. A running number with no prefix ("001.jpg") names the document after its
folder. A lone numbered image keeps its whole name ("CCCD_056089001234.jpg" is the
document "CCCD_056089001234"). Every other file, and every PDF, is a document of its own.

Files are recognised by their first bytes, not their extension. Hidden files,
operating-system litter and sidecars (.json, .xml, .txt …) are skipped silently; anything
else that cannot be used is a `BadInput` in `Discovery.problems` (the batch goes on).
Symbolic links are followed while they stay inside the folder that was given; one that
leads outside, nowhere, or round in a loop is a problem. Inputs are only ever read.
"""
from __future__ import annotations

import errno
import os
import re
import stat
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

from sohoa.cli.errors import BadInput

__all__ = ["Discovery", "DossierInput", "DocumentInput", "InputWarning", "discover",
           "sniff", "safe_name", "shown", "bad_input", "natural_key", "NOT_A_SCAN"]

NOT_A_SCAN = "not a scan (JPEG, PNG, TIFF or PDF)"
SNIFF_BYTES = 1024  # a PDF header may come after up to 1 KiB of junk (as in Acrobat)
MAX_NAME_BYTES = 200  # document names become file names: "<name>.pdf", "<name>-2.txt"

# Operating-system litter, compared case-insensitively; dot-files are skipped anyway.
LITTER = frozenset({
    "thumbs.db", "ehthumbs.db", "ehthumbs_vista.db", "desktop.ini", "icon\r",
    "$recycle.bin", "system volume information", "__macosx", "recycler",
})

# Sidecars that scanners, archives and our own sample generator put beside scans.
SIDECARS = frozenset({".json", ".xml", ".txt", ".md", ".csv", ".html", ".htm", ".log", ".ini"})

EXTENSIONS = {
    "jpeg": {".jpg", ".jpeg", ".jpe", ".jfif"},
    "png": {".png"},
    "tiff": {".tif", ".tiff"},
    "pdf": {".pdf"},
}
IMAGE_KINDS = ("jpeg", "png", "tiff")

# stem = prefix, optional separators, the running number (maybe in parentheses).
_RUNNING = re.compile(r"^(?P<prefix>.*?)[ _\-.]*\(?(?P<number>[0-9]+)\)?$", re.ASCII | re.S)
_DIGITS = re.compile(r"([0-9]+)")


@dataclass(frozen=True)
class DocumentInput:
    name: str  # NFC, safe as a file name (no slashes or control characters), unique
    sources: list[Path]  # the files, as found under the given path, in page order


@dataclass
class DossierInput:
    name: str  # NFC, safe as a folder name, unique in one discovery
    root: Path  # the folder the sources are relative to
    documents: list[DocumentInput]


@dataclass(frozen=True)
class InputWarning:
    path: Path
    message: str

    def __str__(self) -> str:
        return f"{shown(self.path)}: {self.message}"


@dataclass
class Discovery:
    dossiers: list[DossierInput] = field(default_factory=list)
    problems: list[BadInput] = field(default_factory=list)  # one per unusable file
    warnings: list[InputWarning] = field(default_factory=list)  # usable, but worth a look


# ------------------------------------------------------------------ names


def shown(path: Path | str) -> str:
    """A path as one printable line: control characters and undecodable bytes escaped."""
    out = []
    for ch in str(path):
        code = ord(ch)
        if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8 (surrogateescape)
            out.append(f"\\x{code - 0xDC00:02x}")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif unicodedata.category(ch) in ("Cc", "Cs", "Zl", "Zp"):
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(ch)
    return "".join(out)


def bad_input(path: Path | str, problem: str, fix: str = "") -> BadInput:
    """A BadInput whose message stays on one line; the real path is kept in `.source`."""
    exc = BadInput(shown(path), problem, fix)
    exc.source = Path(path)
    return exc


def safe_name(name: str, fallback: str = "_") -> str:
    """NFC, no control/format characters, no slashes; "%" and spaces are kept."""
    name = unicodedata.normalize("NFC", name)
    chars = []
    for ch in name:
        if ch in "/\\" or unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Zl", "Zp"):
            chars.append("_")
        else:
            chars.append(ch)
    name = "".join(chars).strip()
    # Names made of dots ("", ".", "..") are not usable as file names; a leading dot
    # would hide the output file.
    name = name.lstrip(".") if name.strip(".") else ""
    if len(name.encode("utf-8")) > MAX_NAME_BYTES:
        name = name.encode("utf-8")[:MAX_NAME_BYTES].decode("utf-8", "ignore").rstrip()
    return name or fallback


def natural_key(text: str) -> tuple:
    """Sort key: case-insensitive, numbers by value ("scan 2" before "scan 10")."""
    text = unicodedata.normalize("NFC", text)
    parts = []
    for i, part in enumerate(_DIGITS.split(text)):
        if i % 2:
            parts.append((0, int(part), ""))
        elif part:
            parts.append((1, 0, part.casefold()))
    return (tuple(parts), text)


def _unique(names: Iterable[str]) -> list[str]:
    """Second and later equal names (case-insensitively) get "-2", "-3", …"""
    taken: set[str] = set()
    out = []
    for name in names:
        candidate, n = name, 1
        while candidate.casefold() in taken:
            n += 1
            candidate = f"{name}-{n}"
        taken.add(candidate.casefold())
        out.append(candidate)
    return out


def _folder_name(path: Path) -> str:
    name = path.name
    if name in ("", ".", ".."):
        name = path.resolve().name
    return name


# ------------------------------------------------------------------ content


def sniff(head: bytes) -> str | None:
    """'jpeg', 'png', 'tiff' or 'pdf' from a file's first bytes, else None."""
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "tiff"
    if b"%PDF-" in head[:SNIFF_BYTES]:
        return "pdf"
    return None


def _what_else(head: bytes) -> str | None:
    """A friendlier word for common files that are not scans."""
    if head[4:12] in (b"ftypheic", b"ftypheix", b"ftypmif1", b"ftyphevc", b"ftypheim"):
        return "a HEIC photo (iPhone)"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "a WebP image"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "a GIF image"
    if head[:2] == b"BM":
        return "a BMP image"
    if head[:4] == b"PK\x03\x04":
        return "a ZIP archive or an Office document"
    if head[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        return "an old Office document"
    if head[:12] in (b"\x00\x00\x00\x0cjP  \r\n\x87\n",) or head[:4] == b"\xff\x4f\xff\x51":
        return "a JPEG 2000 image"
    return None


_FIX_NOT_SCAN = "save it as JPEG, PNG, TIFF or PDF, or move it out of the scans folder"


# ------------------------------------------------------------------ walking


@dataclass
class _File:
    path: Path  # as found under the given path
    real: Path  # resolved
    folder: tuple[str, ...]  # subfolders between the dossier folder and the file
    kind: str = ""


@dataclass
class _Dossier:
    name: str
    root: Path
    files: list[_File] = field(default_factory=list)


def _skipped(name: str) -> bool:
    return (name.startswith(".") or name.casefold() in LITTER
            or os.path.splitext(name)[1].casefold() in SIDECARS)


class _Walker:
    def __init__(self, exclude: Sequence[Path]):
        self.problems: list[BadInput] = []
        self.warnings: list[InputWarning] = []
        self.exclude = {_resolve_quiet(p) for p in exclude} - {None}
        self.seen_files: dict[Path, Path] = {}  # real path -> first path it was found as
        self.seen_dirs: dict[Path, Path] = {}

    def problem(self, path: Path, text: str, fix: str = "") -> None:
        self.problems.append(bad_input(path, text, fix))

    def warn(self, path: Path, text: str) -> None:
        self.warnings.append(InputWarning(path, text))

    # -- one path: what is it, where does it lead ------------------------------------

    def follow(self, path: Path, tree: Path | None) -> tuple[str, Path] | None:
        """('dir' | 'file', real path), or None after recording a problem.

        tree: the resolved folder the user gave; symlinks must stay inside it.
        """
        try:
            link = path.is_symlink()
        except OSError as exc:
            self.problem(path, f"cannot be read ({exc.strerror})", "check the file's permissions")
            return None
        try:
            real = path.resolve(strict=True)
        except RuntimeError:  # Python < 3.13: "Symlink loop from ..."
            self.problem(path, "symbolic link loop", "replace the link by the file it should show")
            return None
        except FileNotFoundError:
            if link:
                self.problem(path, f"symbolic link to nothing ({_link_target(path)} does not exist)",
                             "replace the link by the file it should show")
            else:
                self.problem(path, "not found", "check the path")
            return None
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                self.problem(path, "symbolic link loop",
                             "replace the link by the file it should show")
            else:
                self.problem(path, f"cannot be read ({exc.strerror})",
                             "check the file's permissions")
            return None
        if link and tree is not None and not real.is_relative_to(tree):
            self.problem(path, f"symbolic link pointing outside the input folder (to {shown(real)})",
                         "copy the file itself into the folder")
            return None
        try:
            st = os.stat(real)
        except OSError as exc:
            self.problem(path, f"cannot be read ({exc.strerror})", "check the file's permissions")
            return None
        if stat.S_ISDIR(st.st_mode):
            return "dir", real
        if stat.S_ISREG(st.st_mode):
            return "file", real
        self.problem(path, "not a regular file (a pipe, socket or device)", _FIX_NOT_SCAN)
        return None

    def listdir(self, folder: Path) -> list[Path]:
        try:
            with os.scandir(folder) as it:
                names = [entry.name for entry in it]
        except OSError as exc:
            self.problem(folder, f"folder cannot be read ({exc.strerror})",
                         "check the folder's permissions")
            return []
        names = [n for n in names if not _skipped(n)]
        names.sort(key=natural_key)
        return [folder / n for n in names]

    def enter(self, path: Path, real: Path, parent_real: Path | None) -> bool:
        """Whether to read folder `path`; a folder reached twice is read once."""
        if real in self.exclude:
            return False
        if parent_real is not None and parent_real.is_relative_to(real):
            self.problem(path, "symbolic link loop (it leads back to a folder above it)",
                         "remove the link")
            return False
        if real in self.seen_dirs:
            self.warn(path, f"same folder as {shown(self.seen_dirs[real])}: read once")
            return False
        self.seen_dirs[real] = path
        return True

    def add_file(self, dossier: _Dossier, path: Path, real: Path, folder: tuple[str, ...]) -> None:
        if real in self.seen_files:
            first = self.seen_files[real]
            if first != path:
                self.warn(path, f"same file as {shown(first)}: used once")
            return
        self.seen_files[real] = path
        dossier.files.append(_File(path, real, folder))

    # -- layouts ------------------------------------------------------------------------

    def given_folder(self, path: Path, real: Path) -> list[_Dossier]:
        if not self.enter(path, real, None):
            return []
        tree = real
        files, subfolders = [], []
        for entry in self.listdir(path):
            found = self.follow(entry, tree)
            if found is None:
                continue
            kind, entry_real = found
            (subfolders if kind == "dir" else files).append((entry, entry_real))
        name = _folder_name(path)
        dossiers = []
        if files or not subfolders:
            loose = _Dossier(name, path)
            for entry, entry_real in files:
                self.add_file(loose, entry, entry_real, ())
            dossiers.append(loose)
        for sub, sub_real in subfolders:
            if not self.enter(sub, sub_real, real):
                continue
            dossier = _Dossier(sub.name, sub)
            self.collect(dossier, sub, sub_real, tree, ())
            if dossier.files:
                dossiers.append(dossier)
            elif not self._problems_under(sub):
                self.warn(sub, "no scans in this folder: skipped")
        if not any(d.files for d in dossiers) and not self._problems_under(path):
            self.problem(path, "no scans found in this folder",
                         "give the folder that holds the scanned files")
        return [d for d in dossiers if d.files]

    def collect(self, dossier: _Dossier, folder: Path, real: Path, tree: Path,
                parts: tuple[str, ...]) -> None:
        """Every file under `folder`, recursively, into one dossier."""
        for entry in self.listdir(folder):
            found = self.follow(entry, tree)
            if found is None:
                continue
            kind, entry_real = found
            if kind == "file":
                self.add_file(dossier, entry, entry_real, parts)
            elif self.enter(entry, entry_real, real):
                self.collect(dossier, entry, entry_real, tree, parts + (entry.name,))

    def _problems_under(self, path: Path) -> bool:
        prefix = shown(path).rstrip("/") + "/"
        return any(p.path.startswith(prefix) for p in self.problems)


def _resolve_quiet(path: Path) -> Path | None:
    try:
        return Path(path).resolve()
    except (OSError, RuntimeError):
        return None


def _link_target(path: Path) -> str:
    try:
        return shown(os.readlink(path))
    except OSError:
        return "its target"


# ------------------------------------------------------------------ documents


def _read_head(walker: _Walker, f: _File) -> bytes | None:
    try:
        with open(f.real, "rb") as fh:
            return fh.read(SNIFF_BYTES)
    except OSError as exc:
        walker.problem(f.path, f"cannot be read ({exc.strerror})", "check the file's permissions")
        return None


def _classify(walker: _Walker, f: _File) -> bool:
    head = _read_head(walker, f)
    if head is None:
        return False
    if not head:
        walker.problem(f.path, "empty file (0 bytes)", "scan the page again or copy the file again")
        return False
    kind = sniff(head)
    if kind is None:
        other = _what_else(head)
        walker.problem(f.path, NOT_A_SCAN + (f": it is {other}" if other else ""), _FIX_NOT_SCAN)
        return False
    ext = f.path.suffix.lower()
    if ext not in EXTENSIONS[kind]:
        said = f"its name ends in {shown(f.path.suffix)}" if f.path.suffix else "its name has no extension"
        walker.warn(f.path, f"is a {kind.upper()} file though {said}: read as {kind.upper()}")
    f.kind = kind
    return True


def _documents(walker: _Walker, dossier: _Dossier) -> list[DocumentInput]:
    groups: dict[tuple, list[tuple[int, _File]]] = {}
    prefixes: dict[Path, str] = {}  # the document is named as its first page spells it
    singles: list[tuple[str, list[_File]]] = []
    for f in dossier.files:
        if not _classify(walker, f):
            continue
        stem = unicodedata.normalize("NFC", f.path.stem if f.path.suffix else f.path.name)
        match = _RUNNING.match(stem) if f.kind in IMAGE_KINDS else None
        if match:
            key = (tuple(unicodedata.normalize("NFC", p).casefold() for p in f.folder),
                   match["prefix"].casefold())
            groups.setdefault(key, []).append((int(match["number"]), f))
            prefixes[f.path] = match["prefix"]
        else:
            singles.append((stem, [f]))
    docs: list[tuple[str, list[_File]]] = list(singles)
    for key, members in groups.items():
        members.sort(key=lambda m: (m[0], natural_key(m[1].path.name)))
        if len(members) == 1:
            f = members[0][1]
            docs.append((unicodedata.normalize("NFC", f.path.stem), [f]))
            continue
        prefix = prefixes[members[0][1].path].rstrip(" _-.(")
        _check_numbers(walker, members)
        docs.append((prefix, [f for _, f in members]))
    named = []
    for stem, files in docs:
        folder = files[0].folder
        if not stem:  # "001.jpg": the pages are named after their folder
            stem = folder[-1] if folder else dossier.name
            folder = folder[:-1]
        name = "_".join((*folder, stem))
        named.append((safe_name(name), files))
    # By name (case-insensitively, numbers by value), then by the first file's name.
    named.sort(key=lambda d: (natural_key(d[0])[0], natural_key(d[1][0].path.as_posix())))
    names = _unique(n for n, _ in named)
    return [DocumentInput(n, [f.path for f in files]) for n, (_, files) in zip(names, named)]


def _check_numbers(walker: _Walker, members: list[tuple[int, _File]]) -> None:
    numbers = [n for n, _ in members]
    for (a, fa), (b, fb) in zip(members, members[1:]):
        if a == b:
            walker.warn(fb.path, f"has the same page number as {shown(fa.path.name)}: "
                                 "both kept, ordered by name")
    # A scanner's sequence starts at 0 or 1; a gap there usually means a lost page.
    if numbers[0] in (0, 1):
        missing = sorted(set(range(numbers[0], numbers[-1] + 1)) - set(numbers))
        if missing and len(missing) <= 20:
            listed = ", ".join(map(str, missing))
            walker.warn(members[0][1].path,
                        f"pages numbered {numbers[0]}–{numbers[-1]}, but no {listed}: "
                        "is a page missing?")


# ------------------------------------------------------------------ entry point


def discover(paths: Sequence[Path], *, exclude: Sequence[Path] = ()) -> Discovery:
    """The dossiers and documents in `paths` (files or folders), in a stable order.

    exclude: folders never read (give the output folder, in case it is inside an input).
    Never raises for a bad input: each one is a BadInput in `problems`.
    """
    walker = _Walker(exclude)
    dossiers: list[_Dossier] = []
    by_parent: dict[Path, _Dossier] = {}
    for raw in paths:
        path = Path(raw)
        found = walker.follow(path, None)
        if found is None:
            continue
        kind, real = found
        if kind == "dir":
            dossiers.extend(walker.given_folder(path, real))
            continue
        if path.name.casefold() in LITTER:
            continue
        parent_real = _resolve_quiet(path.parent) or path.parent
        dossier = by_parent.get(parent_real)
        if dossier is None:
            dossier = by_parent[parent_real] = _Dossier(_folder_name(path.parent), path.parent)
            dossiers.append(dossier)
        walker.add_file(dossier, path, real, ())
    built = []
    for d in dossiers:
        documents = _documents(walker, d)
        if documents:
            built.append((safe_name(d.name), d.root, documents))
    result = Discovery(problems=sorted(walker.problems, key=lambda p: natural_key(p.path)),
                       warnings=walker.warnings)
    for name, (_, root, documents) in zip(_unique(n for n, _, _ in built), built):
        result.dossiers.append(DossierInput(name, root, documents))
    return result
