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
import threading
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


class Timed:
    """Wall and CPU seconds of a block. CPU is user + system time of every process below
    this one, sampled from /proc while they run (pool workers are grandchildren that
    getrusage never sees); it stays meaningful when other work shares the machine."""

    def __enter__(self):
        self.wall = time.monotonic()
        self._seen: dict[int, float] = {}
        self._done = threading.Event()
        self._sampler = threading.Thread(target=self._sample, daemon=True)
        self._sampler.start()
        return self

    def __exit__(self, *exc):
        self.wall = time.monotonic() - self.wall
        self._done.set()
        self._sampler.join()
        self.cpu = sum(self._seen.values())

    def _sample(self) -> None:
        tick = os.sysconf("SC_CLK_TCK")
        while not self._done.wait(0.05):
            for pid, seconds in _descendant_cpu(os.getpid(), tick).items():
                self._seen[pid] = max(seconds, self._seen.get(pid, 0.0))


def _descendant_cpu(root: int, tick: int) -> dict[int, float]:
    parents, cpu = {}, {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry)] = int(fields[1])
        cpu[int(entry)] = (int(fields[11]) + int(fields[12])) / tick
    below = {}
    for pid in cpu:
        parent = parents.get(pid)
        while parent and parent != root:
            parent = parents.get(parent)
        if parent == root:
            below[pid] = cpu[pid]
    return below


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


def run_ocrmypdf(items, out: Path) -> Timed:
    with Timed() as timed:
        for pdf, _, _ in items:
            target = out / pdf.parent.name / pdf.name
            target.parent.mkdir(parents=True, exist_ok=True)
            subprocess.run([str(OCRMYPDF), "-q", "-l", "vie", "--rotate-pages", "--deskew",
                            "--output-type", "pdf", str(pdf), str(target)], check=True)
    return timed


def run_sohoa(pdfs: Path, out: Path, jobs: int) -> Timed:
    with Timed() as timed:
        subprocess.run([str(SOHOA), "ocr", str(pdfs), "-o", str(out), "--no-resume",
                        "--jobs", str(jobs)], check=True, stderr=subprocess.DEVNULL)
    return timed


def run_raw_tesseract(pdfs: Path, jobs: int) -> tuple[Timed, int]:
    """`tesseract PAGE - -l vie` over every page image, `jobs` at a time."""
    pages = Path(tempfile.mkdtemp(prefix="raw-pages-"))
    for pdf in sorted(pdfs.rglob("*.pdf")):
        subprocess.run(["pdfimages", "-png", str(pdf), str(pages / f"{pdf.parent.name}-{pdf.stem}")],
                       check=True)
    images = sorted(pages.glob("*.png"))
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    with Timed() as timed, ThreadPoolExecutor(jobs) as pool:
        list(pool.map(lambda p: subprocess.run(["tesseract", str(p), "-", "-l", "vie"],
                                               capture_output=True, env=env), images))
    return timed, len(images)


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
    parser.add_argument("--no-peer", action="store_true",
                        help="skip OCRmyPDF (sohoa vs raw Tesseract only)")
    args = parser.parse_args()
    if not args.no_peer and not OCRMYPDF.exists():
        sys.exit(f"OCRmyPDF not found at {OCRMYPDF}: run `make bench` (it installs it there)")
    if args.work.exists():
        shutil.rmtree(args.work)
    scans, pdfs = args.work / "scans", args.work / "pdfs"
    generate(scans, dossiers=args.dossiers, seed=args.seed, stacked_batch=False)
    items = make_inputs(scans, pdfs)
    pages = sum(n for _, _, n in items)
    print(f"{len(items)} documents, {pages} pages (degraded scans, seed {args.seed}), "
          f"{args.jobs} cores", flush=True)

    t_peer = None if args.no_peer else run_ocrmypdf(items, args.work / "ocrmypdf")
    t_ours = run_sohoa(pdfs, args.work / "sohoa", args.jobs)
    t_raw, raw_pages = run_raw_tesseract(pdfs, args.jobs)
    acc_peer = None if args.no_peer else accuracy(items, args.work / "ocrmypdf")
    acc_ours = accuracy(items, args.work / "sohoa")
    peak = worker_peak_mb(pdfs)

    load = os.getloadavg()[0]
    rows = [("OCRmyPDF 17 (--rotate-pages --deskew)", t_peer, acc_peer),
            ("sohoa ocr", t_ours, acc_ours)][1 if args.no_peer else 0:]
    print(f"\n{'tool':40} {'wall s':>8} {'CPU s':>8} {'pages/min':>10} {'word F1':>8}")
    for name, timed, acc in rows:
        print(f"{name:40} {timed.wall:8.1f} {timed.cpu:8.1f} {pages / timed.wall * 60:10.1f} "
              f"{acc:8.3f}")
    print(f"{'raw tesseract CLI (' + str(raw_pages) + ' page images)':40} {t_raw.wall:8.1f} "
          f"{t_raw.cpu:8.1f} {raw_pages / t_raw.wall * 60:10.1f}")
    if t_peer:
        print(f"\nsohoa vs OCRmyPDF: {t_peer.wall / t_ours.wall:.1f}x pages/min, "
              f"{t_peer.cpu / t_ours.cpu:.1f}x less CPU (target ≥ 3x), "
              f"word F1 {acc_ours:.3f} vs {acc_peer:.3f}")
    print(f"sohoa vs raw Tesseract: wall {t_ours.wall / t_raw.wall * 100 - 100:+.0f}%, "
          f"CPU {t_ours.cpu / t_raw.cpu * 100 - 100:+.0f}% (target ≤ +15%)")
    print(f"peak memory of one sohoa worker: {peak:.0f} MB (target ≤ 500 MB)")
    print(f"load average during the run: {load:.1f} on {os.cpu_count()} cores")
    result = {"pages": pages, "jobs": args.jobs, "load": load,
              "ocrmypdf": _times(t_peer), "sohoa": _times(t_ours), "raw_tesseract": _times(t_raw),
              "f1_ocrmypdf": acc_peer, "f1_sohoa": acc_ours, "worker_peak_mb": peak}
    (args.work / "result.json").write_text(json.dumps(result, indent=2))


def _times(timed: "Timed | None") -> dict | None:
    return {"wall_s": timed.wall, "cpu_s": timed.cpu} if timed else None


if __name__ == "__main__":
    main()
