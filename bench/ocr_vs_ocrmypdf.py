"""sohoa ocr vs OCRmyPDF on the same degraded scans: pages/min and word accuracy.

    .venv/bin/python bench/ocr_vs_ocrmypdf.py [--dossiers 8] [--seed 11]

Both tools get the same image-only PDFs (one per document, made losslessly with
img2pdf from generated scans: skew, upside-down and 90° pages, 200/300 dpi, noise,
blank backs). OCRmyPDF runs as its users run it, once per file with its default jobs:
`ocrmypdf -l vie --rotate-pages --deskew --output-type pdf`. sohoa runs once on the
folder. Also printed: raw Tesseract engine time on the same pages (the `tesseract`
CLI, single-threaded, one process per core) and one sohoa worker's peak memory.
OCRmyPDF is looked for in bench/.venv-peers (make bench installs it there).
"""
import argparse
import collections
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import img2pdf

from sohoa.samples.generate import generate

HERE = Path(__file__).resolve().parent
OCRMYPDF = HERE / ".venv-peers" / "bin" / "ocrmypdf"
SOHOA = Path(sys.executable).parent / "sohoa"


def make_inputs(scans: Path, pdfs: Path) -> list[tuple[Path, str, int]]:
    """One image-only PDF per document; returns (pdf, ground-truth text, pages)."""
    from PIL import Image

    items = []
    for truth_file in sorted(scans.glob("*/ground_truth.json")):
        truth = json.loads(truth_file.read_text())
        for doc in truth["documents"]:
            images = []
            for page in doc["pages"]:
                source = truth_file.parent / page["source"]
                if source.suffix == ".pdf":
                    images = None
                    break
                if source.suffix in (".tif", ".tiff"):
                    with Image.open(source) as im:
                        im.seek(page["index"])
                        frame = tempfile.NamedTemporaryFile(suffix=".png", delete=False)
                        im.save(frame.name, dpi=im.info.get("dpi", (300, 300)))
                        images.append(frame.name)
                else:
                    images.append(str(source))
            out = pdfs / truth_file.parent.name / f"{doc['name']}.pdf"
            out.parent.mkdir(parents=True, exist_ok=True)
            if images is None:
                shutil.copy(truth_file.parent / doc["sources"][0], out)
            else:
                out.write_bytes(img2pdf.convert(list(dict.fromkeys(images))))
            text = "\n".join(p["text"] for p in doc["pages"])
            items.append((out, text, len(doc["pages"])))
    return items


def word_f1(truth: str, found: str) -> float:
    a = collections.Counter(unicodedata.normalize("NFC", truth).split())
    b = collections.Counter(unicodedata.normalize("NFC", found).split())
    hit = sum((a & b).values())
    return 2 * hit / (sum(a.values()) + sum(b.values())) if hit else 0.0


def pdf_text(pdf: Path) -> str:
    return subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout


def run_ocrmypdf(items, out: Path) -> float:
    started = time.monotonic()
    for pdf, _, _ in items:
        target = out / pdf.parent.name / pdf.name
        target.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([str(OCRMYPDF), "-q", "-l", "vie", "--rotate-pages", "--deskew",
                        "--output-type", "pdf", str(pdf), str(target)], check=True)
    return time.monotonic() - started


def run_sohoa(pdfs: Path, out: Path, jobs: int) -> float:
    started = time.monotonic()
    subprocess.run([str(SOHOA), "ocr", str(pdfs), "-o", str(out), "--no-resume",
                    "--jobs", str(jobs)], check=True, stderr=subprocess.DEVNULL)
    return time.monotonic() - started


def run_raw_tesseract(pdfs: Path, jobs: int) -> tuple[float, int]:
    """Wall time of `tesseract PAGE - -l vie` over every page image, `jobs` at a time."""
    pages = Path(tempfile.mkdtemp(prefix="raw-pages-"))
    for pdf in sorted(pdfs.rglob("*.pdf")):
        subprocess.run(["pdfimages", "-png", str(pdf), str(pages / f"{pdf.parent.name}-{pdf.stem}")],
                       check=True)
    images = sorted(pages.glob("*.png"))
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    started = time.monotonic()
    with ThreadPoolExecutor(jobs) as pool:
        list(pool.map(lambda p: subprocess.run(["tesseract", str(p), "-", "-l", "vie"],
                                               capture_output=True, env=env), images))
    return time.monotonic() - started, len(images)


def worker_peak_mb(pdfs: Path) -> float:
    """Peak RSS of one sohoa OCR worker going through every page, in MB."""
    code = (
        "import resource, sys\n"
        "from pathlib import Path\n"
        "from sohoa.ocr import pipeline\n"
        "from sohoa.ocr.pages import open_pages\n"
        "pipeline._init_worker('vie')\n"
        "for pdf in sorted(Path(sys.argv[1]).rglob('*.pdf')):\n"
        "    for ref in open_pages(pdf).pages:\n"
        "        pipeline._analyse(ref)\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)\n")
    out = subprocess.run([sys.executable, "-c", code, str(pdfs)], capture_output=True,
                         text=True, check=True)
    return float(out.stdout.strip())


def accuracy(items, out: Path) -> float:
    truth = "\n".join(t for _, t, _ in items)
    found = "\n".join(pdf_text(out / pdf.parent.name / pdf.name) for pdf, _, _ in items
                      if (out / pdf.parent.name / pdf.name).exists())
    return word_f1(truth, found)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dossiers", type=int, default=8)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--work", type=Path, default=HERE / "out" / "ocr")
    args = parser.parse_args()
    if not OCRMYPDF.exists():
        sys.exit(f"OCRmyPDF not found at {OCRMYPDF}: run `make bench` (it installs it there)")
    if args.work.exists():
        shutil.rmtree(args.work)
    scans, pdfs = args.work / "scans", args.work / "pdfs"
    generate(scans, dossiers=args.dossiers, seed=args.seed, stacked_batch=False)
    items = make_inputs(scans, pdfs)
    pages = sum(n for _, _, n in items)
    print(f"{len(items)} documents, {pages} pages (degraded scans, seed {args.seed}), "
          f"{args.jobs} cores", flush=True)

    t_peer = run_ocrmypdf(items, args.work / "ocrmypdf")
    t_ours = run_sohoa(pdfs, args.work / "sohoa", args.jobs)
    t_raw, raw_pages = run_raw_tesseract(pdfs, args.jobs)
    acc_peer, acc_ours = accuracy(items, args.work / "ocrmypdf"), accuracy(items, args.work / "sohoa")
    peak = worker_peak_mb(pdfs)

    rows = [("OCRmyPDF 17 (--rotate-pages --deskew)", t_peer, acc_peer),
            ("sohoa ocr", t_ours, acc_ours)]
    print(f"\n{'tool':40} {'wall s':>8} {'pages/min':>10} {'word F1':>8}")
    for name, seconds, acc in rows:
        print(f"{name:40} {seconds:8.1f} {pages / seconds * 60:10.1f} {acc:8.3f}")
    print(f"{'raw tesseract CLI (' + str(raw_pages) + ' page images)':40} {t_raw:8.1f} "
          f"{raw_pages / t_raw * 60:10.1f}")
    print(f"\nsohoa vs OCRmyPDF: {t_peer / t_ours:.1f}x pages/min "
          f"(target ≥ 3x), word F1 {acc_ours:.3f} vs {acc_peer:.3f}")
    print(f"sohoa wall time vs raw Tesseract: {t_ours / t_raw * 100 - 100:+.0f}% (target ≤ +15%)")
    print(f"peak memory of one sohoa worker: {peak:.0f} MB (target ≤ 500 MB)")
    result = {"pages": pages, "jobs": args.jobs, "ocrmypdf_s": t_peer, "sohoa_s": t_ours,
              "raw_tesseract_s": t_raw, "f1_ocrmypdf": acc_peer, "f1_sohoa": acc_ours,
              "worker_peak_mb": peak}
    (args.work / "result.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
