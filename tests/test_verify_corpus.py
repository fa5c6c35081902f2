"""Peer test suite: the 38 signed PDFs of pyHanko's and EU DSS's own tests
(../shared/corpora/verify, never copied here), each with the verdict those projects
assert. `sohoa verify` must give every one its expected verdict, from the CLI, without
a traceback — also where pyHanko's own validator gets it wrong (column
observed_pyhanko_0.38.0 of MANIFEST.tsv)."""
from __future__ import annotations

import csv
import json
from collections import defaultdict

import pytest

from conftest import SHARED, run_sohoa

CORPUS = SHARED / "corpora" / "verify"
MANIFEST = CORPUS / "MANIFEST.tsv"
ROWS = list(csv.DictReader(MANIFEST.open(encoding="utf-8"), delimiter="\t")) if MANIFEST.is_file() else []

# README.md of the corpus: expected_verdict → acceptable file indications
ACCEPT = {
    "valid-intact": {"TOTAL_PASSED"},
    "indeterminate-untrusted": {"INDETERMINATE"},
    "invalid-tampered": {"TOTAL_FAILED"},
    "invalid-crypto": {"TOTAL_FAILED", "INDETERMINATE", "ERROR"},
}
ATTACK = {"TOTAL_FAILED", "INDETERMINATE", "ERROR", "NO_SIGNATURE"}


def accepted(expected: str) -> set[str]:
    return ATTACK if expected.startswith("attack:") else ACCEPT[expected]


@pytest.fixture(scope="module")
def verdicts(tmp_path_factory) -> dict[str, tuple[dict, str]]:
    """One `sohoa verify --offline --json` run per (trust anchors, validation time) group."""
    groups: dict[tuple[str, str], list[str]] = defaultdict(list)
    for row in ROWS:
        groups[(row["trust_anchors"], row["validation_time"])].append(row["file"])
    env = {"XDG_CONFIG_HOME": str(tmp_path_factory.mktemp("config")), "SOHOA_TRUST_DIR": ""}
    found = {}
    for (anchors, at), files in groups.items():
        args = ["verify", "--offline", "--json"]
        for anchor in anchors.split():
            args += ["--trust", CORPUS / anchor]
        if at:
            args += ["--at", at]
        proc = run_sohoa(*args, *(CORPUS / "pdf" / f for f in files), env=env)
        results = json.loads(proc.stdout)
        results = results if isinstance(results, list) else [results]
        for result in results:
            found[result["file"].rsplit("/", 1)[-1]] = (result, proc.stderr)
    return found


@pytest.mark.skipif(not ROWS, reason="../shared/corpora/verify is not present")
@pytest.mark.parametrize("row", ROWS, ids=[r["file"].removesuffix(".pdf") for r in ROWS])
def test_corpus_file_gets_its_expected_verdict(verdicts, row):
    result, stderr = verdicts[row["file"]]
    assert "Traceback" not in stderr
    assert result["indication"] in accepted(row["expected_verdict"]), (
        f"{row['file']}: expected {row['expected_verdict']}, got {result['indication']} "
        f"(pyHanko 0.38 observed {row['observed_pyhanko_0.38.0']}): {json.dumps(result, ensure_ascii=False)[:1500]}")
    if result["indication"] == "ERROR":
        assert result["error"] and "\n" not in result["error"]
    for sig in result["signatures"]:
        assert sig["indication"] in {"TOTAL_PASSED", "TOTAL_FAILED", "INDETERMINATE"}
        assert sig["reason_vi"] and sig["reason_en"]
        assert (sig["sub_indication"] is None) == (sig["indication"] == "TOTAL_PASSED")


@pytest.mark.skipif(not ROWS, reason="../shared/corpora/verify is not present")
def test_corpus_where_pyhanko_is_wrong(verdicts):
    """pyHanko 0.38 reports legitimate form filling as ILLEGAL_MODIFICATIONS, throws on
    hybrid-reference and damaged files, and passes signatures whose timestamp it cannot
    trust; sohoa gives the verdict the other project's tests assert."""
    filled, _ = verdicts["dss__pades-signed-filled-form.pdf"]
    assert filled["signatures"][0]["modifications"] == "FORM_FILLING"
    assert filled["indication"] == "INDETERMINATE"  # untrusted signer, but not tampered
    hybrid, _ = verdicts["dss__Signature-P-BG_BOR-2.pdf"]
    assert hybrid["signatures"] and any("lenient" in m for m in hybrid["signatures"][0]["messages"])
    corrupted, _ = verdicts["dss__pdf-signed-corrupted.pdf"]
    assert corrupted["signatures"][0]["sub_indication"] == "HASH_FAILURE"
    twice, _ = verdicts["pyhanko__minimal-two-fields-signed-twice.pdf"]
    assert {s["sub_indication"] for s in twice["signatures"]} == {"NO_CERTIFICATE_CHAIN_FOUND"}
    assert {s["modifications"] for s in twice["signatures"]} <= {"NONE", "FORM_FILLING"}
