"""Pytest fixtures for the TEST-ONLY PKI (samples/pki).

Register with ``pytest_plugins = ["conftest_pki"]`` (tests/conftest.py or a
test module). Fixtures:

* ``pki_server`` (session): loopback CRL/OCSP/TSA, a ``testpki.PkiServer``;
* ``softhsm_token`` (session): a SoftHSM2 token in a temp dir, with
  ``SOFTHSM2_CONF`` pointing at it for the rest of the session;
* ``pki_validation_context`` (function): a pyhanko-certvalidator
  ``ValidationContext`` trusting only the test root, fetching revocation info
  from ``pki_server`` and failing hard when it is missing.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from sohoa.samples import testpki


@pytest.fixture(scope="session")
def pki_server() -> Iterator[testpki.PkiServer]:
    with testpki.serve() as server:
        yield server


@pytest.fixture(scope="session")
def softhsm_token(tmp_path_factory: pytest.TempPathFactory) -> Iterator[testpki.SoftHsmToken]:
    import pkcs11

    token = testpki.load_into_softhsm(tmp_path_factory.mktemp("softhsm"))
    previous = os.environ.get("SOFTHSM2_CONF")
    os.environ["SOFTHSM2_CONF"] = str(token.conf)
    # python-pkcs11 keeps one initialised module per process and SoftHSM reads
    # SOFTHSM2_CONF only in C_Initialize: re-initialise in case it was loaded
    # earlier with another configuration.
    pkcs11.lib(str(token.module)).reinitialize()
    yield token
    if previous is None:
        os.environ.pop("SOFTHSM2_CONF", None)
    else:
        os.environ["SOFTHSM2_CONF"] = previous


@pytest.fixture
def pki_validation_context(pki_server: testpki.PkiServer):  # -> ValidationContext
    from pyhanko_certvalidator import ValidationContext

    return ValidationContext(
        trust_roots=[testpki.certificate("root")],
        allow_fetching=True,
        revocation_mode="hard-fail",
    )
