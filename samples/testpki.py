"""TEST-ONLY PKI: certomancer architecture, loopback CRL/OCSP/TSA, SoftHSM2 token.

Nothing here may ever be trusted in production: every private key is committed
to the repository (samples/pki/keys). See samples/pki/README.md.

Public API (used by tests and by the ``sohoa samples ...`` CLI commands):

* :func:`architecture` – the certomancer ``PKIArchitecture`` from the YAML;
* :func:`export` – (re)write the committed PEM / PKCS#12 set (``samples/pki/certs``);
* :func:`serve` – context manager running CRL/OCSP/TSA on 127.0.0.1;
* :func:`load_into_softhsm` – a SoftHSM2 token holding the agency and leader keys.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from asn1crypto import keys, pem
from asn1crypto import x509 as asn1_x509
from certomancer import crypto_utils
from certomancer.registry import ArchLabel, CertLabel, CertomancerConfig, PKIArchitecture
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import serialization as ser
from cryptography.hazmat.primitives.asymmetric import padding

PKI_DIR = Path(__file__).resolve().parent / "pki"
CONFIG_FILE = PKI_DIR / "certomancer.yml"
KEYS_DIR = PKI_DIR / "keys"
CERTS_DIR = PKI_DIR / "certs"

P12_PASSWORD = "test-only"
ARCH = "sohoa"
HOST = "127.0.0.1"
DEFAULT_PORT = 18780  # the port embedded in the committed certificates
PORT_ENV = "SOHOA_TEST_PKI_PORT"

#: Certificate labels in certomancer.yml; exported as ``certs/<label>.pem``.
CERT_NAMES = (
    "root", "intermediate", "agency", "leader", "revoked",
    "expired", "nokeyusage", "tsa", "ocsp",
)
#: Certificates exported with key + chain as ``certs/<label>.p12``.
P12_NAMES = ("agency", "leader", "revoked", "expired", "nokeyusage")

SOFTHSM_TOKEN_LABEL = "UBND xã Diên Lạc"  # 20 bytes in UTF-8 (limit: 32)
SOFTHSM_MODULE_ENV = "SOHOA_SOFTHSM2_MODULE"
_SOFTHSM_MODULES = (
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/local/lib/softhsm/libsofthsm2.so",
    "/opt/homebrew/lib/softhsm/libsofthsm2.so",
)


# --------------------------------------------------------------------------- PKI


def url_prefix(port: int) -> str:
    return f"http://{HOST}:{port}"


def architecture(port: int | None = None) -> PKIArchitecture:
    """Load the TEST-ONLY architecture from ``samples/pki/certomancer.yml``.

    Certificates are generated on demand and embed CRL/OCSP URLs under
    ``http://127.0.0.1:<port>``; ``port=None`` means :data:`DEFAULT_PORT`,
    which gives certificates identical to the committed ones.
    """
    _install_key_cache()
    cfg = CertomancerConfig.from_file(
        str(CONFIG_FILE), external_url_prefix=url_prefix(port or DEFAULT_PORT)
    )
    return cfg.get_pki_arch(ArchLabel(ARCH))


class _CachedKeysBackend(crypto_utils.PycaCryptographyBackend):
    """certomancer signs by re-parsing the private key every time, and pyca
    validates RSA keys on each parse (~0.1 s for 2048 bits, ~1 s for 4096), so a
    CRL took ~2 s. Our keys are trusted test keys: parse once, skip validation."""

    def __init__(self) -> None:
        self._keys: dict[bytes, object] = {}

    def _load(self, data: bytes, password: bytes | None = None):  # type: ignore[no-untyped-def]
        key = self._keys.get(data)
        if key is None:
            loader = ser.load_pem_private_key if pem.detect(data) else ser.load_der_private_key
            key = loader(data, password, unsafe_skip_rsa_key_validation=True)
            self._keys[data] = key
        return key

    def load_private_key(self, key_bytes, password):  # type: ignore[no-untyped-def]
        key = self._load(key_bytes, password)
        der = key.private_bytes(ser.Encoding.DER, ser.PrivateFormat.PKCS8, ser.NoEncryption())
        self._keys[der] = key
        spki = key.public_key().public_bytes(
            ser.Encoding.DER, ser.PublicFormat.SubjectPublicKeyInfo)
        return keys.PrivateKeyInfo.load(der), keys.PublicKeyInfo.load(spki)

    def generic_sign(self, private_key, tbs_bytes, sd_algo):  # type: ignore[no-untyped-def]
        if sd_algo.signature_algo != "rsassa_pkcs1v15":
            return super().generic_sign(private_key, tbs_bytes, sd_algo)
        digest = getattr(hashes, sd_algo.hash_algo.upper())()
        return self._load(private_key.dump()).sign(tbs_bytes, padding.PKCS1v15(), digest)


def _install_key_cache() -> None:
    if not isinstance(crypto_utils.CRYPTO_BACKEND, _CachedKeysBackend):
        crypto_utils.CRYPTO_BACKEND = _CachedKeysBackend()


def certificate(name: str) -> asn1_x509.Certificate:
    """A committed certificate (``samples/pki/certs/<name>.pem``), e.g. ``"root"``."""
    data = (CERTS_DIR / f"{name}.pem").read_bytes()
    return asn1_x509.Certificate.load(pem.unarmor(data)[2])


def p12_path(name: str) -> Path:
    """Path of a committed PKCS#12 file (password :data:`P12_PASSWORD`)."""
    return CERTS_DIR / f"{name}.p12"


def export(dest: Path, port: int | None = None) -> None:
    """Write ``<name>.pem`` for every certificate and ``<name>.p12`` (key + cert +
    intermediate + root, password :data:`P12_PASSWORD`) for the end entities.

    ``export(PKI_DIR / "certs")`` regenerates the committed set. PEM output is
    byte-for-byte reproducible; PKCS#12 files differ each time (random salts).
    """
    from cryptography.hazmat.primitives.serialization import pkcs12
    from cryptography.x509 import load_der_x509_certificate

    arch = architecture(port)
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    for name in CERT_NAMES:
        der = arch.get_cert(CertLabel(name)).dump()
        (dest / f"{name}.pem").write_bytes(pem.armor("CERTIFICATE", der))
    for name in P12_NAMES:
        cert = arch.get_cert(CertLabel(name))
        key = arch.key_set.get_private_key(arch.get_cert_spec(CertLabel(name)).subject_key)
        chain = [arch.get_cert(lbl).dump() for lbl in arch.get_chain(CertLabel(name))]
        data = pkcs12.serialize_key_and_certificates(
            name=cert.subject.native["common_name"].encode("utf-8"),
            key=ser.load_der_private_key(key.dump(), password=None),  # type: ignore[arg-type]
            cert=load_der_x509_certificate(cert.dump()),
            cas=[load_der_x509_certificate(c) for c in chain],
            encryption_algorithm=ser.BestAvailableEncryption(P12_PASSWORD.encode()),
        )
        (dest / f"{name}.p12").write_bytes(data)


# ----------------------------------------------------------------------- server


@dataclass(frozen=True)
class PkiServer:
    """URLs of a running loopback PKI (see :func:`serve`)."""

    port: int
    base_url: str  # http://127.0.0.1:<port>
    crl_url: str  # CRL of the intermediate CA (covers every end entity)
    root_crl_url: str  # CRL of the root (covers the intermediate)
    ocsp_url: str  # OCSP for certificates issued by the intermediate
    tsa_url: str  # RFC 3161 time-stamping


def server_urls(port: int) -> PkiServer:
    base = url_prefix(port)
    svc = f"{base}/{ARCH}"
    return PkiServer(
        port=port,
        base_url=base,
        crl_url=f"{svc}/crls/intermediate/latest.crl",
        root_crl_url=f"{svc}/crls/root/latest.crl",
        ocsp_url=f"{svc}/ocsp/intermediate",
        tsa_url=f"{svc}/tsa/tsa",
    )


def default_port() -> int:
    """``$SOHOA_TEST_PKI_PORT`` if set, else :data:`DEFAULT_PORT` (18780)."""
    return int(os.environ.get(PORT_ENV) or DEFAULT_PORT)


@contextmanager
def serve(port: int | None = None) -> Iterator[PkiServer]:
    """Run certomancer's animator (CRL, OCSP, TSA, CA certs) on 127.0.0.1.

    ``port=None`` uses :func:`default_port`; ``port=0`` picks a free port. The
    served architecture embeds the actual port in the certificates it issues,
    but the committed certs/p12 always point at port 18780, so revocation
    fetching for committed material only works on the default port.
    Stops the server and joins all its threads on exit.
    """
    from certomancer.integrations.animator import Animator, AnimatorArchStore
    from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler

    class Handler(WSGIRequestHandler):
        protocol_version = "HTTP/1.0"  # one request per connection: no idle threads
        timeout = 10

        def log_request(self, *args: object, **kwargs: object) -> None:
            pass

    class Server(ThreadedWSGIServer):
        daemon_threads = False
        block_on_close = True  # server_close() joins request threads

    class WholeSecondsAnimator(Animator):
        # certomancer puts fractional seconds in OCSP producedAt/thisUpdate and
        # TSA genTime; pyca/cryptography's strict DER parser rejects those.
        def at_time(self, request):  # type: ignore[no-untyped-def]
            return super().at_time(request).replace(microsecond=0)

    app = _Deferred()
    requested = default_port() if port is None else port
    try:
        server = Server(HOST, requested, app, handler=Handler)
    except SystemExit as exc:  # werkzeug exits on bind errors
        raise OSError(
            f"cannot listen on {HOST}:{requested} (in use?); set {PORT_ENV}"
        ) from exc
    urls = server_urls(server.port)
    try:
        arch = architecture(server.port)
        store = AnimatorArchStore({arch.arch_label: arch})
        app.target = WholeSecondsAnimator(store, with_web_ui=False)
    except BaseException:
        server.server_close()
        raise
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.1},
        name=f"sohoa-test-pki-{server.port}", daemon=True,
    )
    thread.start()
    try:
        _wait_until_up(f"{urls.base_url}/{ARCH}/certs/root/ca.crt")
        yield urls
    finally:
        server.shutdown()  # serve_forever() returns and calls server_close()
        thread.join(timeout=15)


class _Deferred:
    """WSGI app whose target is set after the socket is bound (port 0)."""

    target = None

    def __call__(self, environ, start_response):  # type: ignore[no-untyped-def]
        assert self.target is not None
        return self.target(environ, start_response)


def _wait_until_up(url: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                resp.read()
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


# ---------------------------------------------------------------------- SoftHSM


@dataclass(frozen=True)
class TokenKey:
    """A key pair + certificate stored on the SoftHSM token."""

    name: str  # label in certomancer.yml, e.g. "agency"
    key_id: bytes  # CKA_ID shared by private key, public key and certificate
    key_label: str | None  # None: the private key has no CKA_LABEL
    cert_label: str


@dataclass(frozen=True)
class SoftHsmToken:
    """A SoftHSM2 token made by :func:`load_into_softhsm`.

    Callers must export ``SOFTHSM2_CONF=<conf>`` (see :attr:`env`) before the
    module is first loaded in a process.
    """

    module: Path
    conf: Path
    token_label: str
    agency: TokenKey
    leader: TokenKey
    pin: str = field(repr=False)

    @property
    def env(self) -> dict[str, str]:
        return {"SOFTHSM2_CONF": str(self.conf)}


AGENCY_KEY = TokenKey(
    name="agency",
    key_id=b"\x01",
    key_label="Khóa cơ quan UBND xã Diên Lạc",
    cert_label="Chứng thư số cơ quan UBND xã Diên Lạc",
)
LEADER_KEY = TokenKey(name="leader", key_id=b"\x02", key_label=None, cert_label="Trần Đình Bẩy")
CA_CERT_LABEL = "TEST ONLY – CA phục vụ các cơ quan Nhà nước"


def softhsm_module() -> Path:
    """Path of libsofthsm2.so (``$SOHOA_SOFTHSM2_MODULE`` overrides the search)."""
    candidates = [os.environ.get(SOFTHSM_MODULE_ENV) or "", *_SOFTHSM_MODULES]
    for cand in candidates:
        if cand and Path(cand).is_file():
            return Path(cand)
    raise FileNotFoundError("libsofthsm2.so not found; install softhsm2")


def load_into_softhsm(workdir: Path, pin: str = "1234", so_pin: str = "123456") -> SoftHsmToken:
    """Create (or reuse) a SoftHSM2 token in ``workdir`` with the TEST-ONLY keys.

    Writes ``workdir/softhsm2.conf`` and ``workdir/tokens/``, initialises a token
    labelled :data:`SOFTHSM_TOKEN_LABEL` and imports, with python-pkcs11 in a
    child process (so this process's PKCS#11 state is untouched):

    * id 01: agency key (label "Khóa cơ quan UBND xã Diên Lạc") + certificate;
    * id 02: leader key WITHOUT label + certificate labelled "Trần Đình Bẩy";
    * the intermediate CA certificate (no id).

    Idempotent: objects already present with the same content are kept.
    The PINs are passed to softhsm2-util on its command line (test PINs only)
    and to the child process on stdin; they are never printed.
    """
    workdir = Path(workdir).resolve()
    tokens = workdir / "tokens"
    tokens.mkdir(parents=True, exist_ok=True)
    conf = workdir / "softhsm2.conf"
    conf.write_text(
        f"directories.tokendir = {tokens}\n"
        "objectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n",
        encoding="utf-8",
    )
    module = softhsm_module()
    env = {**os.environ, "SOFTHSM2_CONF": str(conf)}
    if not any(tokens.glob("*/token.object")):
        util = shutil.which("softhsm2-util")
        if util is None:
            raise FileNotFoundError("softhsm2-util not found; install softhsm2")
        _run([util, "--init-token", "--free", "--label", SOFTHSM_TOKEN_LABEL,
              "--pin", pin, "--so-pin", so_pin], env=env, what="softhsm2-util --init-token")
    request = {
        "module": str(module),
        "token": SOFTHSM_TOKEN_LABEL,
        "pin": pin,
        "keys": [
            {"key": str(KEYS_DIR / f"{k.name}.key.pem"), "cert": str(CERTS_DIR / f"{k.name}.pem"),
             "id": k.key_id.hex(), "key_label": k.key_label, "cert_label": k.cert_label}
            for k in (AGENCY_KEY, LEADER_KEY)
        ],
        "ca_certs": [{"cert": str(CERTS_DIR / "intermediate.pem"), "label": CA_CERT_LABEL}],
    }
    code = "from sohoa.samples.testpki import _softhsm_import_main as m; m()"
    _run([sys.executable, "-c", code], env=env, stdin=json.dumps(request),
         what="SoftHSM import")
    return SoftHsmToken(module=module, conf=conf, token_label=SOFTHSM_TOKEN_LABEL,
                        agency=AGENCY_KEY, leader=LEADER_KEY, pin=pin)


def _run(cmd: list[str], *, env: dict[str, str], what: str, stdin: str | None = None) -> None:
    proc = subprocess.run(cmd, env=env, input=stdin, capture_output=True, text=True)
    if proc.returncode != 0:  # output of these tools never contains the PIN
        raise RuntimeError(f"{what} failed ({proc.returncode}): {proc.stderr or proc.stdout}")


def _softhsm_import_main() -> None:
    """Child-process side of :func:`load_into_softhsm` (request JSON on stdin)."""
    import pkcs11
    from pkcs11 import Attribute, ObjectClass
    from pkcs11.util.rsa import decode_rsa_private_key, decode_rsa_public_key
    from pkcs11.util.x509 import decode_x509_certificate

    req = json.loads(sys.stdin.read())
    token = pkcs11.lib(req["module"]).get_token(token_label=req["token"])

    def cert_der(path: str) -> bytes:
        return pem.unarmor(Path(path).read_bytes())[2]

    with token.open(rw=True, user_pin=req["pin"]) as session:

        def put(match: dict, attrs: dict, same: Attribute) -> None:
            found = list(session.get_objects(match))
            if len(found) == 1 and found[0][same] == attrs[same]:
                return
            for obj in found:
                obj.destroy()
            session.create_object(attrs)

        for item in req["keys"]:
            key = ser.load_pem_private_key(Path(item["key"]).read_bytes(), password=None)
            der = cert_der(item["cert"])
            cid = bytes.fromhex(item["id"])
            subject = asn1_x509.Certificate.load(der).subject.dump()
            common = {Attribute.TOKEN: True, Attribute.ID: cid, Attribute.SUBJECT: subject}
            if item["key_label"] is not None:
                common[Attribute.LABEL] = item["key_label"]
            priv = decode_rsa_private_key(key.private_bytes(
                ser.Encoding.DER, ser.PrivateFormat.TraditionalOpenSSL, ser.NoEncryption()))
            priv.update(common)
            priv.update({Attribute.PRIVATE: True, Attribute.SENSITIVE: True,
                         Attribute.EXTRACTABLE: False})
            pub = decode_rsa_public_key(key.public_key().public_bytes(
                ser.Encoding.DER, ser.PublicFormat.PKCS1))
            pub.update(common)
            pub[Attribute.PRIVATE] = False
            cert = decode_x509_certificate(der)
            cert.update({Attribute.TOKEN: True, Attribute.PRIVATE: False, Attribute.ID: cid,
                         Attribute.LABEL: item["cert_label"]})
            for cls, attrs, same in ((ObjectClass.PRIVATE_KEY, priv, Attribute.MODULUS),
                                     (ObjectClass.PUBLIC_KEY, pub, Attribute.MODULUS),
                                     (ObjectClass.CERTIFICATE, cert, Attribute.VALUE)):
                put({Attribute.CLASS: cls, Attribute.ID: cid}, attrs, same)
        for item in req["ca_certs"]:
            cert = decode_x509_certificate(cert_der(item["cert"]))
            cert.update({Attribute.TOKEN: True, Attribute.PRIVATE: False,
                         Attribute.LABEL: item["label"]})
            put({Attribute.CLASS: ObjectClass.CERTIFICATE, Attribute.LABEL: item["label"]},
                cert, Attribute.VALUE)
