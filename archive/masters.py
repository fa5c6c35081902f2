"""The masters of a dossier: the scanned files exactly as `sohoa ocr` read them (found
from `source_root` + `sources`, checked against `sha256_sources`), and, for a dossier cut
from a stacked batch, only its own pages of the batch file, copied without re-encoding
(PDF page objects through pikepdf; TIFF frames rewritten losslessly).
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

from sohoa.cli.errors import BadInput


@dataclass
class Master:
    name: str  # as in dossier.json (relative to source_root)
    path: Path
    sha256: str
    pages: list[int]  # 1-based pages of it that the dossier uses (sorted)


def masters(dossier: dict, folder: Path) -> list[Master]:
    root = Path(dossier.get("source_root") or folder)
    hashes: dict[str, str] = {}
    order: dict[str, set[int]] = {}
    for doc in dossier["documents"]:
        for name, value in (doc.get("sha256_sources") or {}).items():
            if hashes.setdefault(name, value) != value:
                raise BadInput(folder / "dossier.json", f"two different SHA-256 for source {name}")
        pages = doc.get("source_pages") or [{"source": s, "page": None} for s in doc.get("sources") or []]
        for entry in pages:
            order.setdefault(entry["source"], set())
            if entry.get("page"):
                order[entry["source"]].add(int(entry["page"]))
        for name in doc.get("sources") or []:
            order.setdefault(name, set())
    masters = []
    for name, pages in order.items():
        path = root / name
        if not path.is_file():
            raise BadInput(path, "master (scanned source) not found",
                           "the scans must stay where sohoa ocr read them (source_root)")
        if name not in hashes:
            raise BadInput(path, "no SHA-256 recorded for this master in dossier.json")
        masters.append(Master(name, path, hashes[name], sorted(pages)))
    return masters


def page_count(path: Path) -> int | None:
    suffix = path.suffix.lower()
    try:
        if suffix == ".pdf":
            import pikepdf

            with pikepdf.open(path) as pdf:
                return len(pdf.pages)
        if suffix in (".tif", ".tiff"):
            from PIL import Image

            with Image.open(path) as img:
                return getattr(img, "n_frames", 1)
    except Exception:
        return None
    return 1


def extract_pages(path: Path, pages: list[int]) -> bytes:
    """The given pages of a PDF or TIFF, without re-encoding the page images."""
    if path.suffix.lower() == ".pdf":
        import pikepdf

        out = io.BytesIO()
        with pikepdf.open(path) as src, pikepdf.new() as dst:
            for number in pages:
                dst.pages.append(src.pages[number - 1])
            dst.save(out, deterministic_id=True, stream_decode_level=pikepdf.StreamDecodeLevel.none,
                     object_stream_mode=pikepdf.ObjectStreamMode.preserve)
        return out.getvalue()
    from PIL import Image

    frames = []
    with Image.open(path) as img:
        for number in pages:
            img.seek(number - 1)
            frame = img.copy()
            frames.append((frame, img.info.get("compression"), img.info.get("dpi")))
    out = io.BytesIO()
    first, rest = frames[0], frames[1:]
    # the same lossless compression as the scan (group 4 for bilevel pages), else deflate:
    # pixels stay exactly as scanned (a JPEG-compressed frame is not compressed again lossily)
    compression = first[1] if first[1] in ("group4", "group3", "tiff_lzw", "tiff_adobe_deflate",
                                           "packbits", "raw") else "tiff_adobe_deflate"
    if compression in ("group4", "group3") and any(f.mode != "1" for f, _, _ in frames):
        compression = "tiff_adobe_deflate"
    kwargs = {"compression": compression}
    if first[2]:
        kwargs["dpi"] = first[2]
    first[0].save(out, format="TIFF", save_all=bool(rest), append_images=[f for f, _, _ in rest], **kwargs)
    return out.getvalue()
