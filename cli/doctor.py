"""`sohoa doctor`: is everything the toolkit needs at run time here?"""
import ctypes
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from . import fonts

APT = "apt-get install -y"
MIN_TESSERACT = (4, 1)

# Well-known PKCS#11 modules on Debian and of the tokens used in Vietnam.
PKCS11_CANDIDATES = {
    "SoftHSM2": ["/usr/lib/softhsm/libsofthsm2.so",
                 "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so"],
    "SafeNet eToken": ["/usr/lib/libeTPkcs11.so", "/usr/lib/libeToken.so"],
    "bit4id": ["/usr/lib/libbit4xpki.so", "/usr/lib/bit4id/libbit4xpki.so"],
    "ePass2003 (Feitian)": ["/usr/lib/libcastle.so.1.0.0", "/usr/local/lib/libcastle.so.1.0.0"],
    "OpenSC": ["/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so", "/usr/lib/opensc-pkcs11.so"],
}


@dataclass(frozen=True)
class Check:
    name: str
    status: str  # ok | missing | warning
    required: bool
    found: str
    fix: str = ""

    @property
    def failed(self) -> bool:
        return self.required and self.status == "missing"


def _ok(name, found, required=True):
    return Check(name, "ok", required, found)


def _missing(name, found, fix, required=True):
    return Check(name, "missing" if required else "warning", required, found, fix)


def check_python() -> Check:
    version = ".".join(map(str, sys.version_info[:3]))
    if sys.version_info >= (3, 11):
        return _ok("Python", version)
    return _missing("Python", version, "use Python 3.11 or newer")


def tesseract_version() -> tuple[int, ...] | None:
    exe = shutil.which("tesseract")
    if not exe:
        return None
    out = subprocess.run([exe, "--version"], capture_output=True, text=True).stdout
    match = re.search(r"tesseract v?(\d+)\.(\d+)\.?(\d*)", out)
    return tuple(int(x) for x in match.groups() if x) if match else None


def check_tesseract() -> Check:
    version = tesseract_version()
    if version is None:
        return _missing("Tesseract OCR", "not found", f"{APT} tesseract-ocr")
    shown = "tesseract " + ".".join(map(str, version))
    if version[:2] < MIN_TESSERACT:
        return _missing("Tesseract OCR", shown, f"Tesseract ≥ 4.1 needed: {APT} tesseract-ocr")
    return _ok("Tesseract OCR", shown)


def tessdata_languages() -> tuple[str, set[str]]:
    """(tessdata folder, installed language names), from `tesseract --list-langs`."""
    if not shutil.which("tesseract"):
        return "", set()
    out = subprocess.run(["tesseract", "--list-langs"], capture_output=True, text=True)
    lines = (out.stdout + out.stderr).splitlines()
    folder = next((re.findall(r'"([^"]+)"', ln) for ln in lines if "List of" in ln), [])
    return (folder[0] if folder else ""), {ln.strip() for ln in lines if "List of" not in ln}


def check_language(lang: str, package: str, purpose: str) -> Check:
    folder, langs = tessdata_languages()
    name = f"Tesseract '{lang}' data ({purpose})"
    if lang in langs:
        return _ok(name, str(Path(folder) / f"{lang}.traineddata"))
    return _missing(name, "not installed", f"{APT} {package}")


def check_font() -> Check:
    found = fonts.available_fonts("regular")
    name = "Vietnamese font (U+1EA0–U+1EF9)"
    if found:
        family, path = found[0]
        return _ok(name, f"{family}: {path}")
    return _missing(name, "none with full coverage", f"{APT} fonts-texgyre fonts-liberation2")


def check_zbar() -> Check:
    try:
        from pyzbar import pyzbar  # noqa: F401  (loads libzbar)
        return _ok("QR decoder (zbar)", "libzbar")
    except (ImportError, OSError) as exc:
        return _missing("QR decoder (zbar)", str(exc).splitlines()[0], f"{APT} libzbar0")


def _p11kit_modules() -> list[str]:
    modules = []
    for conf in Path("/usr/share/p11-kit/modules").glob("*.module"):
        for line in conf.read_text(errors="replace").splitlines():
            if line.strip().startswith("module:"):
                modules.append(line.split(":", 1)[1].strip())
    return modules


def pkcs11_libraries(extra: Path | None = None) -> list[tuple[str, str]]:
    """(vendor, path) of PKCS#11 modules that exist and export C_GetFunctionList."""
    candidates = [(v, p) for v, paths in PKCS11_CANDIDATES.items() for p in paths]
    candidates += [("p11-kit", p) for p in _p11kit_modules()]
    if extra:
        candidates.insert(0, ("configured", str(extra)))
    found, seen = [], set()
    for vendor, path in candidates:
        real = os.path.realpath(path)
        if real in seen or not os.path.isfile(real):
            continue
        seen.add(real)
        try:
            ctypes.CDLL(real).C_GetFunctionList  # noqa: B018
        except (OSError, AttributeError):
            continue
        found.append((vendor, path))
    return found


def check_pkcs11(extra: Path | None = None) -> Check:
    found = pkcs11_libraries(extra)
    name = "PKCS#11 token libraries"
    if found:
        return Check(name, "ok", False, "; ".join(f"{v}: {p}" for v, p in found))
    return _missing(name, "none found", "install your token's middleware (or "
                    f"{APT} softhsm2 for tests); only needed to sign with a USB token",
                    required=False)


def check_archive(folder: Path) -> Check:
    """Can we create files in the archive folder (or the parent it will be made in)?"""
    name = "Archive folder write access"
    target = folder if folder.exists() else next(
        (p for p in folder.absolute().parents if p.exists()), Path("/"))
    try:
        with tempfile.NamedTemporaryFile(dir=target, prefix=".sohoa-doctor-"):
            pass
    except OSError as exc:
        return _missing(name, f"{folder}: {exc.strerror}",
                        f"choose a writable folder with --archive or fix permissions of {target}")
    state = "" if folder.exists() else " (will be created)"
    return _ok(name, f"{folder.absolute()}{state}")


def _engine_failure(name: str, exc: Exception) -> Check:
    found, _, fix = str(exc).partition(" — ")
    return _missing(name, found, fix or "check the setting and that the service runs")


def check_catalogue(url: str) -> Check:
    """The PostgreSQL catalogue of setting `db`: reachable, and pg_trgm there to create."""
    from sohoa.archive import pg

    from .errors import SohoaError

    name = "PostgreSQL catalogue (setting db)"
    try:
        con = pg.connect(url)
    except SohoaError as exc:
        return _engine_failure(name, exc)
    try:
        version = con.execute("SHOW server_version").fetchone()[0]
        trigrams = con.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'").fetchone()
    finally:
        con.close()
    if not trigrams:
        return _missing(name, f"{pg.redact(url)}: PostgreSQL {version} without pg_trgm",
                        "install the server's contrib modules (Debian: part of postgresql)")
    return _ok(name, f"{pg.redact(url)}: PostgreSQL {version}, pg_trgm available")


def check_store(url: str) -> Check:
    """The S3-compatible store of setting `store`: its bucket reachable with the AWS_* keys."""
    from sohoa.archive.s3 import S3Store

    from .errors import SohoaError

    name = "S3 bag store (setting store)"
    try:
        S3Store(url).check()
    except SohoaError as exc:
        return _engine_failure(name, exc)
    endpoint = os.environ.get("AWS_ENDPOINT_URL", "the AWS default endpoint")
    return _ok(name, f"{url}: bucket reachable at {endpoint}")


def check_cluster(address: str) -> Check:
    """The Dask scheduler of setting `cluster`, and how many workers it has."""
    from sohoa.ocr.cluster import connect

    from .errors import SohoaError

    name = "Dask cluster (setting cluster)"
    try:
        client = connect(address)
    except SohoaError as exc:
        return _engine_failure(name, exc)
    try:
        workers = len(client.scheduler_info().get("workers", {}))
    finally:
        client.close()
    if not workers:
        return _missing(name, f"{address}: no worker connected",
                        "start `dask worker ADDRESS --nthreads 1` on the worker machines")
    return _ok(name, f"{address}: {workers} workers")


def run_checks(archive: Path, pkcs11_lib: Path | None = None, *, db: str | None = None,
               store: str | None = None, cluster: str | None = None) -> list[Check]:
    """What every machine needs, then the province engines that are set (db, store, cluster)."""
    engines = [check(value) for check, value in ((check_catalogue, db), (check_store, store),
                                                  (check_cluster, cluster)) if value]
    return [
        check_python(),
        check_tesseract(),
        check_language("vie", "tesseract-ocr-vie", "Vietnamese OCR"),
        check_language("osd", "tesseract-ocr-osd", "page orientation"),
        check_font(),
        check_zbar(),
        check_pkcs11(pkcs11_lib),
        check_archive(archive),
        *engines,
    ]


def as_json(checks: list[Check]) -> dict:
    return {"ok": not any(c.failed for c in checks), "checks": [asdict(c) for c in checks]}
