"""Benchmark: `sohoa sign` (one batch) against pyHanko's CLI (one process per file).

The same 1-3 page searchable decisions (made like `sohoa ocr` output, see
tests/test_sign.py) are signed with the sample agency certificate (TEST ONLY PKI), PAdES
B-B, in four modes: invisible; the `copy` stamp; the leader's signature image; and the
agency key on a SoftHSM2 token. pyHanko gets the equivalent appearance from its own
stamp styles (a text stamp with TeX Gyre Termes; a text stamp with the image as
background), at a fixed box since it cannot find the signer block.

    .venv/bin/python bench/sign_vs_pyhanko.py [--docs 100] [--pyhanko-docs 100] [--modes ...]

docs/s is wall time over the whole run of each tool, process start-up included.
Targets (2 cores): sohoa >= 30x pyHanko's CLI, >= 40 docs/s invisible, >= 15 docs/s
with an appearance, >= 25 docs/s through the SoftHSM2 token.
"""
from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
sys.path.insert(0, str(REPO / "tests"))

from test_sign import decision_pdf  # noqa: E402  (the tests' document maker)

from sohoa.cli.fonts import vietnamese_font  # noqa: E402
from sohoa.samples import testpki  # noqa: E402

IMAGES = REPO / "samples" / "images"
TARGETS = {"invisible": 40, "copy": 15, "leader": 15, "pkcs11": 25}
RATIO_TARGET = 30


def make_docs(folder: Path, n: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    docs = [folder / f"qd-{i:03d}.pdf" for i in range(n)]
    for i, doc in enumerate(docs):
        if not doc.is_file():
            decision_pdf(doc, pages=1 + i % 3, number=f"{1 + i % 3:02d}/QĐ-UBND")
    return docs


def images(work: Path) -> tuple[Path, Path]:
    sig, seal = IMAGES / "signature.png", IMAGES / "seal.png"
    if not (sig.is_file() and seal.is_file()):
        from sohoa.samples import stamps

        sig, seal = stamps.write_committed(work / "images")
    return sig, seal


def pyhanko_config(work: Path, sig: Path, token) -> Path:
    font = vietnamese_font("regular")
    text = "SAO Y\\nỦY BAN NHÂN DÂN XÃ DIÊN LẠC\\n%(ts)s"
    cfg = work / "pyhanko.yml"
    cfg.write_text(f"""
stamp-styles:
  copy:
    type: text
    border-width: 0
    stamp-text: "{text}"
    timestamp-format: "%Y-%m-%dT%H:%M:%S%z"
    text-box-style:
      font: {font}
      font-size: 10
  leader:
    type: text
    border-width: 0
    stamp-text: ""
    background: {sig}
    background-opacity: 1
pkcs11-setups:
  agency:
    module-path: {token.module}
    token-criteria:
      label: "{token.token_label}"
    cert-label: "{token.agency.cert_label}"
    key-label: "{token.agency.key_label}"
    user-pin: "{token.pin}"
""", encoding="utf-8")
    return cfg


def fresh(folder: Path) -> Path:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_pyhanko(mode: str, docs: list[Path], out: Path, cfg: Path, pwfile: Path, env: dict) -> float:
    fresh(out)
    field = {"invisible": "Sig1", "copy": "1/395,786,553,822/Sig1",
             "leader": "-1/338,293,512,364/Sig1", "pkcs11": "Sig1"}[mode]
    style = ["--style-name", mode] if mode in ("copy", "leader") else []
    started = time.perf_counter()
    for doc in docs:
        key = (["pkcs11", "--p11-setup", "agency", str(doc), str(out / doc.name)] if mode == "pkcs11" else
               ["pkcs12", "--passfile", str(pwfile), str(doc), str(out / doc.name),
                str(testpki.p12_path("agency"))])
        subprocess.run([str(BIN / "pyhanko"), "--config", str(cfg), "sign", "addsig", "--use-pades",
                        "--field", field, *style, *key], check=True, env=env, capture_output=True)
    return time.perf_counter() - started


def run_sohoa(mode: str, docs: list[Path], out: Path, pwfile: Path, sig: Path, token, env: dict) -> float:
    if mode == "pkcs11":
        key = ["--pkcs11-lib", str(token.module), "--token-label", token.token_label,
               "--key-id", token.agency.key_id.hex()]
        env = {**env, "SOHOA_PIN": token.pin}
    else:
        key = ["--p12", str(testpki.p12_path("agency")), "--password-file", str(pwfile)]
    role = {"invisible": ["--role", "invisible"], "copy": ["--role", "copy"],
            "leader": ["--role", "leader", "--signature-image", str(sig)],
            "pkcs11": ["--role", "invisible"]}[mode]
    fresh(out)
    started = time.perf_counter()
    proc = subprocess.run([str(BIN / "sohoa"), "sign", *map(str, docs), "-o", str(out), *key, *role],
                          env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        sys.exit(f"sohoa sign failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    signed = len(list(out.glob("*.pdf")))
    if signed != len(docs):
        sys.exit(f"sohoa sign wrote {signed} of {len(docs)} files")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=100, help="documents per mode (default 100)")
    parser.add_argument("--pyhanko-docs", type=int, default=None,
                        help="run pyHanko's CLI on the first N only (its rate is per file; default: all)")
    parser.add_argument("--modes", default="invisible,copy,leader,pkcs11")
    parser.add_argument("--keep", type=Path, help="keep the documents and outputs here")
    args = parser.parse_args()
    modes = args.modes.split(",")
    work = args.keep or Path(tempfile.mkdtemp(prefix="sohoa-bench-"))
    try:
        started = time.perf_counter()
        docs = make_docs(work / "docs", args.docs)
        print(f"{len(docs)} documents (1-3 pages) in {time.perf_counter() - started:.1f} s: {work / 'docs'}",
              file=sys.stderr)
        token = testpki.load_into_softhsm(work / "softhsm")
        env = {**os.environ, **token.env}
        env.pop("SOHOA_P12_PASSWORD", None)
        pwfile = work / "password.txt"
        pwfile.write_text(testpki.P12_PASSWORD + "\n", encoding="utf-8")
        sig, _ = images(work)
        cfg = pyhanko_config(work, sig, token)
        n_py = min(args.pyhanko_docs or len(docs), len(docs))
        rows = []
        load = os.getloadavg()[0]
        for mode in modes:
            cpu = children_cpu()
            t_py = run_pyhanko(mode, docs[:n_py], work / f"pyhanko-{mode}", cfg, pwfile, env)
            cpu_py, cpu = children_cpu() - cpu, children_cpu()
            t_so = run_sohoa(mode, docs, work / f"sohoa-{mode}", pwfile, sig, token, env)
            cpu_so = children_cpu() - cpu
            rows.append((mode, n_py / t_py, len(docs) / t_so, (cpu_py / n_py) / (cpu_so / len(docs))))
            print(f"  {mode}: pyHanko {n_py} docs in {t_py:.1f} s ({cpu_py:.1f} s CPU), "
                  f"sohoa {len(docs)} docs in {t_so:.2f} s ({cpu_so:.2f} s CPU)", file=sys.stderr)
        print(f"\n{'mode':<10} {'pyHanko CLI':>12} {'sohoa sign':>11} {'ratio':>7} {'CPU ratio':>10}  targets")
        ok = True
        for mode, py_rate, so_rate, cpu_ratio in rows:
            target, ratio = TARGETS[mode], so_rate / py_rate
            good = so_rate >= target and ratio >= RATIO_TARGET
            ok &= good
            print(f"{mode:<10} {py_rate:>8.2f} d/s {so_rate:>7.1f} d/s {ratio:>6.1f}x {cpu_ratio:>9.1f}x  "
                  f">= {target} d/s, >= {RATIO_TARGET}x: {'met' if good else 'NOT MET'}")
        load = max(load, os.getloadavg()[0])
        print(f"\n{os.cpu_count()} cores, load average up to {load:.1f} during the run; docs/s = documents / "
              "wall time of the whole run (start-up included); CPU ratio = pyHanko's CPU seconds per "
              "document / sohoa's: independent of other load on the machine, and a lower bound of "
              "the wall ratio on an idle one (sohoa's wall time is below its CPU time, on 2 cores)")
        sys.exit(0 if ok else 1)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
