"""Key sources for signing: a PKCS#12 file or a PKCS#11 token, and the certificate checks
made before anything is signed.

A token is opened in two steps: its certificates are public objects, read without a PIN
(`certificate()`), so an unusable certificate is refused before the PIN is asked; then
`open()` logs in once and returns one pyHanko signer, one session, for the whole batch.
Selection follows what real tokens look like: token by label (Vietnamese, non-ASCII),
key by CKA_ID or label, certificate by label or ID, and a key without a label is found
from its certificate (same ID, else same public key).

Secrets (password, PIN) come from a callable asked at most once; they are never logged,
stored or put in an error message.
"""
from __future__ import annotations

import asyncio
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from asn1crypto import pem, x509

from sohoa.cli.errors import SohoaError, UsageError

SIGNING_USAGES = {"digital_signature", "non_repudiation"}


class KeyUnavailable(SohoaError):
    """The key cannot be used (wrong PIN or password, locked token): every file fails."""


class CertificateRefused(UsageError):
    """The signing certificate must not be used (expired, revoked, wrong key usage)."""


Secret = Callable[[], str]


def _nfc(text: str | None) -> str | None:
    return None if text is None else unicodedata.normalize("NFC", text).strip()


def describe(cert: x509.Certificate) -> str:
    """'CN (O)' of a certificate, for messages."""
    subject = cert.subject.native
    name = subject.get("common_name") or cert.subject.human_friendly
    return str(name)


def load_certificates(paths: list[Path]) -> list[x509.Certificate]:
    """Certificates from PEM/DER files and from folders of them (.pem .crt .cer .der)."""
    files: list[Path] = []
    for path in paths:
        path = Path(path)
        if path.is_dir():
            files += sorted(p for p in path.iterdir()
                            if p.suffix.lower() in (".pem", ".crt", ".cer", ".der"))
        else:
            files.append(path)
    certs = []
    for file in files:
        try:
            data = file.read_bytes()
            blocks = [der for _, _, der in pem.unarmor(data, multiple=True)] if pem.detect(data) else [data]
            certs += [x509.Certificate.load(der) for der in blocks]
            for c in certs[-len(blocks):]:
                c.native  # parse now: a broken file fails here, not mid-batch
        except (OSError, ValueError, TypeError) as exc:
            raise UsageError(f"{file}: not a certificate file ({exc})") from exc
    return certs


def build_chain(cert: x509.Certificate, pool: list[x509.Certificate]) -> list[x509.Certificate]:
    """The issuers of `cert` found in `pool`, nearest first, up to a self-signed root."""
    chain: list[x509.Certificate] = []
    current = cert
    seen = {cert.sha256}
    while current.self_signed == "no":
        issuer = next((c for c in pool if c.subject == current.issuer and c.sha256 not in seen
                       and (current.authority_key_identifier is None or c.key_identifier is None
                            or c.key_identifier == current.authority_key_identifier)), None)
        if issuer is None:
            break
        chain.append(issuer)
        seen.add(issuer.sha256)
        current = issuer
    return chain


# ---------------------------------------------------------------- certificate checks


def check_certificate(cert: x509.Certificate, chain: list[x509.Certificate], *,
                      now: datetime | None = None, revocation: bool = True,
                      timeout: float = 5.0) -> None:
    """Refuse (CertificateRefused) a certificate that is expired or not yet valid, has no
    digitalSignature/nonRepudiation key usage, or is revoked. Revocation is asked from the
    certificate's own OCSP/CRL addresses when `revocation`; unreachable means no verdict."""
    now = now or datetime.now(timezone.utc)
    who = describe(cert)
    validity = cert["tbs_certificate"]["validity"]
    not_before, not_after = validity["not_before"].native, validity["not_after"].native
    if now < not_before:
        raise CertificateRefused(f"certificate of {who} is not valid before "
                                 f"{not_before:%Y-%m-%d %H:%M} UTC: nothing was signed")
    if now > not_after:
        raise CertificateRefused(f"certificate of {who} expired on {not_after:%Y-%m-%d}: "
                                 "nothing was signed — renew it with your CA")
    usage = cert.key_usage_value
    if usage is not None and not SIGNING_USAGES & set(usage.native):
        raise CertificateRefused(
            f"certificate of {who} is not for signing (key usage: {', '.join(sorted(usage.native))}; "
            "needs digitalSignature or nonRepudiation): nothing was signed")
    if revocation and chain:
        reason = asyncio.run(_revocation_problem(cert, chain, timeout))
        if reason:
            raise CertificateRefused(f"certificate of {who} is revoked ({reason}): nothing was signed")


async def _revocation_problem(cert, chain, timeout) -> str | None:
    from pyhanko_certvalidator import CertificateValidator, ValidationContext
    from pyhanko_certvalidator.errors import RevokedError
    from pyhanko_certvalidator.fetchers.aiohttp_fetchers import AIOHttpFetcherBackend

    backend = AIOHttpFetcherBackend(per_request_timeout=timeout)
    # The top of the chain we hold stands in as anchor: this asks "revoked?", not "trusted?".
    context = ValidationContext(trust_roots=[chain[-1]], other_certs=chain[:-1], allow_fetching=True,
                                revocation_mode="soft-fail", fetcher_backend=backend)
    try:
        await CertificateValidator(cert, validation_context=context).async_validate_path()
    except RevokedError as exc:
        return str(exc).rstrip(".")
    except Exception:  # noqa: BLE001 — path or fetch problems are not a revocation verdict
        return None
    finally:
        await backend.close()
    return None


# ---------------------------------------------------------------- key sources


class KeySource:
    """Where the signing key lives. `certificate()` and `chain()` before `open()`."""

    def describe(self) -> str:
        raise NotImplementedError

    def certificate(self) -> x509.Certificate:
        raise NotImplementedError

    def chain(self) -> list[x509.Certificate]:
        """Issuers of the certificate that came with the key, nearest first."""
        raise NotImplementedError

    def open(self):
        """A pyHanko Signer ready for the whole batch (asks the PIN once)."""
        raise NotImplementedError

    def close(self) -> None:
        pass

    #: True when the signer from open() works in forked worker processes (a parsed key
    #: does; a token session does not: workers then ask this process, see remote_signer).
    forkable = False


@dataclass
class Pkcs12Key(KeySource):
    path: Path
    password: Secret = field(repr=False)
    extra_certs: list[x509.Certificate] = field(default_factory=list, repr=False)
    forkable = True

    def __post_init__(self) -> None:
        self._loaded = None

    def describe(self) -> str:
        return str(self.path)

    def _load(self):
        if self._loaded is None:
            from cryptography.hazmat.primitives.serialization import pkcs12

            try:
                data = Path(self.path).read_bytes()
            except OSError as exc:
                raise UsageError(f"{self.path}: cannot read ({exc.strerror})") from exc
            secret = self.password()
            try:
                key, cert, others = pkcs12.load_key_and_certificates(
                    data, secret.encode("utf-8") if secret else None)
            except (ValueError, TypeError):
                raise KeyUnavailable(f"{self.path}: wrong password, or not a PKCS#12 file") from None
            finally:
                del secret
            if key is None or cert is None:
                raise UsageError(f"{self.path}: holds no private key with its certificate")
            from cryptography.hazmat.primitives.serialization import Encoding

            asn1 = x509.Certificate.load(cert.public_bytes(Encoding.DER))
            pool = [x509.Certificate.load(c.public_bytes(Encoding.DER)) for c in others] + self.extra_certs
            self._loaded = (key, asn1, build_chain(asn1, pool))
        return self._loaded

    def certificate(self) -> x509.Certificate:
        return self._load()[1]

    def chain(self) -> list[x509.Certificate]:
        return self._load()[2]

    def open(self):
        key, cert, chain = self._load()
        return _loaded_key_signer(key, cert, chain)


def _fast_cms(signer_class):
    """`signer_class` with its CMS attributes built once and frozen. asn1crypto re-encodes a
    constructed (not parsed) value every time a parent asks for its bytes; pyHanko builds
    the signing-certificate-v2 attribute anew for every signature and nests it several
    levels deep, so ~9,000 re-encodings (~15 ms) went into each signature. The attribute
    depends only on the certificate: it is built once, as a parsed value, and the signed
    and unsigned attribute sets are frozen (re-parsed) once built. Same bytes, ~4x faster."""
    from asn1crypto import cms
    from pyhanko.sign import attributes
    from pyhanko.sign.general import as_signing_certificate_v2, simple_cms_attribute

    class Frozen(attributes.CMSAttributeProvider):
        attribute_type = "signing_certificate_v2"

        def __init__(self, value):
            self.value = value

        async def get_attribute(self, dry_run=False):
            return self.value

    class FastCms(signer_class):
        _signing_cert_attr = None

        def _signed_attr_providers(self, *args, **kwargs):  # pyHanko internal hook
            for provider in super()._signed_attr_providers(*args, **kwargs):
                if isinstance(provider, attributes.SigningCertificateV2Provider) \
                        and provider.signing_cert == self.signing_cert:
                    if self._signing_cert_attr is None:
                        attr = simple_cms_attribute("signing_certificate_v2",
                                                    as_signing_certificate_v2(self.signing_cert))
                        self._signing_cert_attr = cms.CMSAttribute.load(attr.dump())
                    provider = Frozen(self._signing_cert_attr)
                yield provider

        async def signed_attrs(self, *args, **kwargs):
            attrs = await super().signed_attrs(*args, **kwargs)
            return cms.CMSAttributes.load(attrs.dump())

        async def unsigned_attrs(self, *args, **kwargs):
            attrs = await super().unsigned_attrs(*args, **kwargs)
            return None if attrs is None else cms.CMSAttributes.load(attrs.dump())

    return FastCms


def _loaded_key_signer(pyca_key, cert, chain):
    """pyHanko's SimpleSigner parses its private key again for every signature (~60 ms
    for RSA 2048, the key check); this one keeps the parsed key."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
    from pyhanko.keys.internal import translate_pyca_cryptography_key_to_asn1
    from pyhanko.sign.signers import SimpleSigner
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    class LoadedKeySigner(_fast_cms(SimpleSigner)):
        def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
            mechanism = self.get_signature_mechanism_for_digest(digest_algorithm).signature_algo
            digest = getattr(hashes, digest_algorithm.upper())()
            if mechanism == "rsassa_pkcs1v15" and isinstance(pyca_key, rsa.RSAPrivateKey):
                return pyca_key.sign(data, padding.PKCS1v15(), digest)
            if mechanism == "ecdsa" and isinstance(pyca_key, ec.EllipticCurvePrivateKey):
                return pyca_key.sign(data, ec.ECDSA(digest))
            return super().sign_raw(data, digest_algorithm)

    store = SimpleCertificateStore()
    store.register_multiple([cert, *chain])
    return LoadedKeySigner(signing_key=translate_pyca_cryptography_key_to_asn1(pyca_key),
                           signing_cert=cert, cert_registry=store)


def remote_signer(conn, cert, chain):
    """A signer for a worker process: everything but the raw signature happens in the
    worker (CMS, time stamp, PDF); the signed attributes go through `conn` to the process
    holding the key (serve_signatures), which signs them in its one token session."""
    from pyhanko.sign.general import SigningError
    from pyhanko.sign.signers import Signer
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    class RemoteSigner(_fast_cms(Signer)):
        async def async_sign_raw(self, data: bytes, digest_algorithm: str, dry_run=False) -> bytes:
            if dry_run:
                return bytes(self.signing_cert.public_key.byte_size)
            conn.send((data, digest_algorithm))
            status, value = conn.recv()
            if status != "ok":
                raise SigningError(value)
            return value

    store = SimpleCertificateStore()
    store.register_multiple([cert, *chain])
    return RemoteSigner(signing_cert=cert, cert_registry=store)


def serve_signatures(signer, conns, stop) -> None:
    """Thread body: sign what the workers' remote_signer send, one at a time, until `stop`
    (a threading.Event) is set. The signatures of a batch share one session."""
    from multiprocessing.connection import wait

    loop = asyncio.new_event_loop()
    live = list(conns)
    try:
        while live and not stop.is_set():
            for conn in wait(live, timeout=0.1):
                try:
                    data, digest_algorithm = conn.recv()
                except (EOFError, OSError):
                    live.remove(conn)
                    continue
                try:
                    reply = ("ok", loop.run_until_complete(signer.async_sign_raw(data, digest_algorithm)))
                except Exception as exc:  # noqa: BLE001 — the worker reports it for its file
                    reply = ("error", f"the token refused to sign ({type(exc).__name__}: {exc})")
                conn.send(reply)
    finally:
        loop.close()


@dataclass
class Pkcs11Key(KeySource):
    lib: Path
    pin: Secret = field(repr=False)
    token_label: str | None = None
    key_id: bytes | None = None
    key_label: str | None = None
    cert_label: str | None = None
    extra_certs: list[x509.Certificate] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        self._token = None
        self._cert = None  # (cert object id, certificate)
        self._all_certs: list[tuple[bytes | None, str | None, x509.Certificate]] = []
        self._session = None

    def describe(self) -> str:
        return f"token '{self.token.label}'"

    @property
    def token(self):
        if self._token is None:
            self._token = _find_token(self.lib, _nfc(self.token_label))
        return self._token

    def _read_certificates(self, session) -> None:
        from pkcs11 import Attribute, ObjectClass

        self._all_certs = []
        for obj in session.get_objects({Attribute.CLASS: ObjectClass.CERTIFICATE}):
            try:
                label = _nfc(obj[Attribute.LABEL])
            except Exception:  # noqa: BLE001 — a label is optional
                label = None
            try:
                cid = bytes(obj[Attribute.ID]) or None
            except Exception:  # noqa: BLE001
                cid = None
            self._all_certs.append((cid, label, x509.Certificate.load(bytes(obj[Attribute.VALUE]))))

    def _public_key_id(self, session, label: str) -> bytes | None:
        from pkcs11 import Attribute, ObjectClass

        for obj in session.get_objects({Attribute.CLASS: ObjectClass.PUBLIC_KEY}):
            try:
                if _nfc(obj[Attribute.LABEL]) == label:
                    return bytes(obj[Attribute.ID])
            except Exception:  # noqa: BLE001
                continue
        return None

    def certificate(self) -> x509.Certificate:
        if self._cert is None:
            with self.token.open() as session:  # no login: certificates are public objects
                self._read_certificates(session)
                key_id = self.key_id
                if key_id is None and self.key_label and not self.cert_label:
                    key_id = self._public_key_id(session, _nfc(self.key_label))
            if not self._all_certs or (key_id is None and self.key_label and not self.cert_label):
                # certificates hidden until login, or the key is known only by its label
                self._login()
                self._read_certificates(self._session)
                if key_id is None and self.key_label and not self.cert_label:
                    key_id = self._private_key_id()
            self._cert = self._select_certificate(key_id)
        return self._cert[1]

    def _select_certificate(self, key_id: bytes | None):
        certs = self._all_certs
        if self.cert_label:
            found = [c for c in certs if c[1] == _nfc(self.cert_label)]
            what = f"with label '{self.cert_label}'"
        elif key_id is not None:
            found = [c for c in certs if c[0] == key_id]
            what = f"with id {key_id.hex()}"
        else:
            found = [c for c in certs if c[0] is not None and not c[2].ca]
            what = "for signing"
        if len(found) == 1:
            return found[0][0], found[0][2]
        listing = "; ".join(f"'{label or describe(cert)}' (id {cid.hex() if cid else '–'})"
                            for cid, label, cert in certs) or "none"
        if not found:
            raise UsageError(f"no certificate {what} on token '{self.token.label}' "
                             f"(certificates: {listing})")
        raise UsageError(f"several certificates {what} on token '{self.token.label}': {listing} "
                         "— choose one with --cert-label or --key-id")

    def chain(self) -> list[x509.Certificate]:
        cert = self.certificate()
        return build_chain(cert, [c for _, _, c in self._all_certs] + self.extra_certs)

    def _login(self) -> None:
        if self._session is not None:
            return
        import pkcs11
        from pkcs11 import PROTECTED_AUTH, TokenFlag
        from pkcs11 import exceptions as p11

        token = self.token
        if token.flags & TokenFlag.USER_PIN_LOCKED:
            raise KeyUnavailable(f"token '{token.label}' is locked (PIN blocked): "
                                 "unblock it with your CA's token manager")
        protected = bool(token.flags & TokenFlag.PROTECTED_AUTHENTICATION_PATH)
        secret = PROTECTED_AUTH if protected else self.pin()
        try:
            self._session = token.open(user_pin=secret)
        except p11.PinIncorrect:
            raise KeyUnavailable(f"wrong PIN for token '{token.label}'") from None
        except p11.PinLocked:
            raise KeyUnavailable(f"token '{token.label}' is locked (PIN blocked): "
                                 "unblock it with your CA's token manager") from None
        except (p11.PinExpired, p11.PinInvalid, p11.PinLenRange) as exc:
            raise KeyUnavailable(f"PIN refused by token '{token.label}' "
                                 f"({type(exc).__name__})") from None
        except pkcs11.PKCS11Error as exc:
            raise KeyUnavailable(f"cannot log in to token '{token.label}' ({type(exc).__name__})") from None
        finally:
            del secret

    def _private_keys(self):
        from pkcs11 import Attribute, ObjectClass

        return list(self._session.get_objects({Attribute.CLASS: ObjectClass.PRIVATE_KEY}))

    def _private_key_id(self) -> bytes | None:
        from pkcs11 import Attribute

        for key in self._private_keys():
            try:
                if _nfc(key[Attribute.LABEL]) == _nfc(self.key_label):
                    return bytes(key[Attribute.ID])
            except Exception:  # noqa: BLE001
                continue
        raise UsageError(f"no private key with label '{self.key_label}' on token '{self.token.label}'")

    def _private_key(self, cert_id: bytes | None):
        """The private key: by --key-label, else by --key-id or the certificate's ID, else the
        one whose public key matches the certificate (keys often have no label)."""
        from pkcs11 import Attribute

        keys = self._private_keys()

        def attr(key, name):
            try:
                value = key[name]
                return _nfc(value) if isinstance(value, str) else bytes(value)
            except Exception:  # noqa: BLE001
                return None

        if self.key_label:
            found = [k for k in keys if attr(k, Attribute.LABEL) == _nfc(self.key_label)]
        else:
            wanted = self.key_id or cert_id
            found = [k for k in keys if wanted is not None and attr(k, Attribute.ID) == wanted]
            if not found:
                public = self.certificate().public_key
                modulus = public["public_key"].parsed["modulus"].native \
                    if public.algorithm == "rsa" else None
                found = [k for k in keys if modulus is not None
                         and int.from_bytes(attr(k, Attribute.MODULUS) or b"", "big") == modulus]
        if len(found) != 1:
            what = "several private keys" if found else "no private key"
            raise UsageError(f"{what} for certificate '{describe(self.certificate())}' on token "
                             f"'{self.token.label}' — choose with --key-id or --key-label")
        return found[0]

    def open(self):
        from pyhanko.sign.pkcs11 import PKCS11Signer

        cert = self.certificate()
        cert_id = self._cert[0]
        self._login()
        key = self._private_key(cert_id)

        class TokenSigner(_fast_cms(PKCS11Signer)):
            def _pull_signing_key_handle(self):
                return key

        return TokenSigner(self._session, signing_cert=cert, ca_chain=self.chain(),
                           other_certs_to_pull=(), key_id=self.key_id or cert_id or b"\x00")

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None


def _find_token(lib: Path, label: str | None):
    import pkcs11

    try:
        library = pkcs11.lib(str(lib))
    except (OSError, RuntimeError, pkcs11.PKCS11Error) as exc:
        raise UsageError(f"{lib}: cannot load this PKCS#11 library ({exc})") from exc
    tokens = []
    for slot in library.get_slots(token_present=True):
        try:
            token = slot.get_token()
        except pkcs11.PKCS11Error:
            continue
        if token.flags & pkcs11.TokenFlag.TOKEN_INITIALIZED:  # SoftHSM shows an empty slot too
            tokens.append(token)
    if label is not None:
        found = [t for t in tokens if _nfc(t.label) == label]
    else:
        found = tokens
    if len(found) == 1:
        return found[0]
    names = ", ".join(f"'{t.label}'" for t in tokens) or "none"
    if not found:
        what = f"no token labelled '{label}'" if label else "no token"
        raise UsageError(f"{what} in {lib} (tokens present: {names}) — plug it in, or check --token-label")
    raise UsageError(f"several tokens in {lib} ({names}): choose one with --token-label")
