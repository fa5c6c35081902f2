"""`sohoa archive`, driven like an archivist drives it, on small synthetic OCR outputs.

Every bag written is validated with bagit-python (an independent BagIt implementation).
The OCR outputs are built here (dossier.json, searchable PDF, text, scanned masters) with
metadata filled in, so that search, filters and stats have something to work on;
`test_archive_samples.py` runs the same on the real `sohoa ocr` output of the samples.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import sqlite3
from pathlib import Path

import bagit
import pikepdf
import pytest
from PIL import Image, ImageChops

from conftest import (bag_dir, damage, integrity, lose_catalogue, open_catalogue, stored_files,
                      stored_versions)

REPO = Path(__file__).resolve().parent.parent
PKI = REPO / "samples" / "pki" / "certs"
AGENCY = "000.00.12.H27"
METADATA_KEYS = ("doc_type", "number", "symbol", "issued_date", "issued_place", "agency", "subject",
                 "signer_name", "signer_title", "dossier_codes", "citizen_ids")

# ----------------------------------------------------------------- OCR outputs


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def make_pdf(path: Path, pages: int = 1, salt: str = "") -> None:
    pdf = pikepdf.new()
    for n in range(pages):
        pdf.add_blank_page(page_size=(595, 842))
        pdf.pages[-1].Contents = pdf.make_stream(f"% {salt} page {n + 1}\n".encode())
    path.parent.mkdir(parents=True, exist_ok=True)
    pdf.save(path, deterministic_id=True)


def page_image(n: int, size=(240, 340)) -> Image.Image:
    img = Image.new("1", size, 1)
    for y in range(10 + n * 7 % 50, size[1] - 10, 23):
        for x in range(12, size[0] - 12 - (n * 13) % 60):
            img.putpixel((x, y), 0)
    return img


def make_jpeg(path: Path, n: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    page_image(n).convert("L").save(path, "JPEG", quality=80, dpi=(200, 200))


def make_tiff(path: Path, numbers: list[int]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    frames = [page_image(n) for n in numbers]
    frames[0].save(path, format="TIFF", save_all=True, append_images=frames[1:], compression="group4",
                   dpi=(300, 300))


def metadata(**given) -> dict:
    meta = {k: ([] if k in ("dossier_codes", "citizen_ids") else None) for k in METADATA_KEYS}
    meta.update(given)
    return meta


def doc_entry(file: str | None, sources: dict[str, Path], source_pages: list[tuple[str, int]],
              meta: dict, dropped: int = 0) -> dict:
    return {"file": file, "sources": list(sources), "sha256_sources": {k: sha256(v) for k, v in sources.items()},
            "source_pages": [{"source": s, "page": p} for s, p in source_pages],
            "pages": len(source_pages), "dropped_pages": [{"source": source_pages[-1][0], "page": 1, "reason": "blank"}] * dropped,
            "ocr": {"engine": "tesseract 5.3.0", "lang": "vie", "mean_confidence": 91.5},
            "metadata": meta, "confidence": {}, "warnings": []}


def make_dossier(base: Path, name: str, code: str | None, docs: list[dict], kind: str = "jpg") -> Path:
    """OUT/<name>/ as `sohoa ocr` writes it, with its scans under base/scans/<name>/.
    Each doc: {"name", "text", "meta", "pages"}."""
    scans = base / "scans" / name
    out = base / "out" / name
    out.mkdir(parents=True, exist_ok=True)
    entries = []
    for i, doc in enumerate(docs):
        pages = doc.get("pages", 1)
        if kind == "jpg":
            sources = {f"{doc['name']}_{p:02d}.jpg": scans / f"{doc['name']}_{p:02d}.jpg" for p in range(1, pages + 1)}
            for n, path in enumerate(sources.values()):
                make_jpeg(path, i * 10 + n + len(name))
            source_pages = [(s, 1) for s in sources]
        elif kind == "tif":
            sources = {f"{doc['name']}.tif": scans / f"{doc['name']}.tif"}
            make_tiff(sources[f"{doc['name']}.tif"], [i * 10 + n + len(name) for n in range(pages)])
            source_pages = [(f"{doc['name']}.tif", p) for p in range(1, pages + 1)]
        else:
            sources = {f"{doc['name']}.pdf": scans / f"{doc['name']}.pdf"}
            make_pdf(sources[f"{doc['name']}.pdf"], pages, salt=f"{name}/{doc['name']}")
            source_pages = [(f"{doc['name']}.pdf", p) for p in range(1, pages + 1)]
        make_pdf(out / f"{doc['name']}.pdf", pages, salt=f"ocr {name}/{doc['name']}")
        (out / f"{doc['name']}.txt").write_text(doc["text"] + "\n", encoding="utf-8")
        entries.append(doc_entry(f"{doc['name']}.pdf", sources, source_pages, doc.get("meta") or metadata()))
    write_dossier_json(out, name, code, scans, entries)
    return out


def write_dossier_json(out: Path, name: str, code: str | None, root: Path, entries: list[dict]) -> None:
    data = {"dossier": name, "dossier_code": code, "source_root": str(root), "documents": entries}
    (out / "dossier.json").write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def make_batch(base: Path, fmt: str, dossiers: list[tuple[str, list[dict]]]) -> tuple[Path, Path]:
    """A stacked batch (separator sheet + pages per dossier) cut into dossiers, as
    `sohoa ocr --split qr` leaves it: every document's source_pages point into the batch."""
    scans = base / "scans" / "batch"
    scans.mkdir(parents=True, exist_ok=True)
    layout, page = [], 0
    for code, docs in dossiers:
        page += 1  # separator sheet
        placed = []
        for doc in docs:
            pages = list(range(page + 1, page + 1 + doc.get("pages", 1)))
            page = pages[-1]
            placed.append((doc, pages))
        layout.append((code, placed))
    batch = scans / f"batch.{fmt}"
    if fmt == "pdf":
        make_pdf(batch, page, salt="batch")
    else:
        make_tiff(batch, list(range(page)))
    for code, placed in layout:
        out = base / "out" / code
        out.mkdir(parents=True, exist_ok=True)
        entries = []
        for doc, pages in placed:
            make_pdf(out / f"{doc['name']}.pdf", len(pages), salt=f"ocr {code}/{doc['name']}")
            (out / f"{doc['name']}.txt").write_text(doc["text"] + "\n", encoding="utf-8")
            entries.append(doc_entry(f"{doc['name']}.pdf", {batch.name: batch},
                                     [(batch.name, p) for p in pages], doc.get("meta") or metadata()))
        write_dossier_json(out, code, code, scans, entries)
    return base / "out", batch


QD_TEXT = ("ỦY BAN NHÂN DÂN XÃ DIÊN LẠC\nCỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM\nĐộc lập - Tự do - Hạnh phúc\n"
           "Số: 15/QĐ-UBND\nDiên Lạc, ngày 14 tháng 6 năm 2023\nQUYẾT ĐỊNH\nVề việc cấp giấy chứng nhận "
           "quyền sử dụng đất\nCHỦ TỊCH ỦY BAN NHÂN DÂN XÃ DIÊN LẠC\nCăn cứ Luật Tổ chức chính quyền địa "
           "phương ngày 19 tháng 6 năm 2015;\nXét đề nghị của công chức Địa chính - Xây dựng,\nQUYẾT ĐỊNH:\n"
           "Điều 1. Cấp giấy chứng nhận cho bà Nguyễn Thị Điệp, thôn Phú Ân Nam 1.\n\fĐiều 2. Quyết định "
           "này có hiệu lực kể từ ngày ký.\nTM. ỦY BAN NHÂN DÂN\nCHỦ TỊCH\nTrần Đình Bẩy")
RECEIPT_TEXT = ("ỦY BAN NHÂN DÂN XÃ DIÊN LẠC\nBỘ PHẬN TIẾP NHẬN VÀ TRẢ KẾT QUẢ\nGIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN "
                "TRẢ KẾT QUẢ\nMã hồ sơ: 000.00.12.H27-230614-0001\nTiếp nhận hồ sơ của: bà Nguyễn Thị Điệp\n"
                "Số định danh cá nhân: 056089001234\nNội dung yêu cầu giải quyết: cấp giấy chứng nhận")
NO_MARKS_TEXT = ("UY BAN NHAN DAN XA DIEN LAC\nQUYET DINH\nVe viec phe duyet ke hoach su dung dat nam 2023\n"
                 "Can cu Luat Dat dai; xet de nghi cua can bo dia chinh")
OTHER_PLACE_TEXT = ("ỦY BAN NHÂN DÂN XÃ ĐIỆN THẮNG BẮC\nQUYẾT ĐỊNH\nVề việc hỗ trợ hộ nghèo thôn Điện Lạc "
                    "năm 2023\nCăn cứ Nghị quyết của Hội đồng nhân dân xã")
TWO_MARKS_TEXT = ("SỞ TÀI CHÍNH\nTHÔNG BÁO\nVề nghiệp vụ thuế xuất khẩu và lớp bồi dưỡng Ngữ văn\n"
                  "Kính gửi: Bộ phận một cửa; các hộ kinh doanh\nNgười đại diện: ông Nguyễn Hữu Lộc")


def qd_meta(**extra) -> dict:
    return metadata(doc_type="Quyết định", number="15", symbol="QĐ-UBND", issued_date="2023-06-14",
                    issued_place="Diên Lạc", agency="ỦY BAN NHÂN DÂN XÃ DIÊN LẠC",
                    subject="Về việc cấp giấy chứng nhận quyền sử dụng đất", signer_name="Trần Đình Bẩy",
                    signer_title="CHỦ TỊCH", dossier_codes=["000.00.12.H27-230614-0001"],
                    citizen_ids=["056089001234"], **extra)


@pytest.fixture
def outputs(tmp_path) -> Path:
    """Three dossiers: JPEG pages, a multi-page TIFF, PDF scans; codes from two agencies."""
    base = tmp_path / "in"
    make_dossier(base, "000.00.12.H27-230614-0001", "000.00.12.H27-230614-0001", [
        {"name": "tiep_nhan", "text": RECEIPT_TEXT,
         "meta": metadata(doc_type="Giấy tiếp nhận hồ sơ và hẹn trả kết quả", issued_date="2023-06-14",
                          dossier_codes=["000.00.12.H27-230614-0001"], citizen_ids=["056089001234"])},
        {"name": "quyết_định", "text": QD_TEXT, "meta": qd_meta(), "pages": 2},
    ], kind="jpg")
    make_dossier(base, "ho-so-Điện-Thắng", None, [
        {"name": "quyet_dinh", "text": OTHER_PLACE_TEXT,
         "meta": metadata(doc_type="Quyết định", issued_date="2024-03-02", agency="ỦY BAN NHÂN DÂN XÃ ĐIỆN THẮNG BẮC")},
        {"name": "thong_bao", "text": TWO_MARKS_TEXT, "pages": 3,
         "meta": metadata(doc_type="Thông báo", issued_date="2024-03-05", subject="Về nghiệp vụ thuế xuất khẩu")},
    ], kind="tif")
    make_dossier(base, "000.09.11.H49-200706-0003", "000.09.11.H49-200706-0003", [
        {"name": "quyet_dinh", "text": NO_MARKS_TEXT, "pages": 2,
         "meta": metadata(doc_type="Quyết định", issued_date="2020-07-10")},
    ], kind="pdf")
    return base / "out"


def archive_args(arch: Path, *extra) -> list:
    return ["--archive", arch, *extra]


def add(sohoa, arch: Path, *paths, extra=()):
    return sohoa("archive", "add", *paths, "--archive", arch, "--json", *extra)


def validate_all_bags(arch: Path) -> list[str]:
    """Every stored version, validated by bagit-python; their paths in the archive."""
    versions = stored_versions(arch)
    for version in versions:
        folder = bag_dir(arch, version)
        bag = bagit.Bag(str(folder))
        bag.validate()  # raises BagValidationError with the details
        assert bag.version_info == (1, 0)
        assert set(bag.algorithms) == {"sha256", "sha512"}
        assert (folder / "tagmanifest-sha256.txt").is_file() and (folder / "tagmanifest-sha512.txt").is_file()
        for f in bag.payload_files():
            assert f.isascii(), f"payload names are ASCII-safe: {f}"
    return versions


def tree_bytes(folder: Path) -> dict:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def catalogue(arch: Path):
    return open_catalogue(arch)


def run_json(result) -> dict | list:
    assert "Traceback" not in result.stderr, result.stderr
    return json.loads(result.stdout)


# ----------------------------------------------------------------- add


def test_add_files_each_dossier_as_a_valid_bag(sohoa, isolated_config, outputs, tmp_path):
    arch = tmp_path / "arch"
    result = add(sohoa, arch, outputs, extra=["--agency-code", AGENCY, "--agency-name", "ỦY BAN NHÂN DÂN XÃ DIÊN LẠC"])
    assert result.returncode == 0, result.stderr
    report = run_json(result)
    assert report["added"] == 3 and report["failed"] == 0
    paths = set(validate_all_bags(arch))
    assert len(paths) == 3
    # fonds/<agency>/<year>/<dossier>/v0001: year from the code's YYMMDD, else the earliest issued date
    assert f"fonds/{AGENCY}/2023/000.00.12.H27-230614-0001/v0001" in paths
    assert f"fonds/{AGENCY}/2020/000.09.11.H49-200706-0003/v0001" in paths
    assert f"fonds/{AGENCY}/2024/ho-so-Dien-Thang/v0001" in paths
    bag = bag_dir(arch, f"fonds/{AGENCY}/2023/000.00.12.H27-230614-0001/v0001")
    info = bagit.Bag(str(bag)).info
    assert info["Source-Organization"] == "ỦY BAN NHÂN DÂN XÃ DIÊN LẠC"
    assert info["External-Identifier"] == "000.00.12.H27-230614-0001"
    assert info["Bagging-Date"].count("-") == 2 and info["Payload-Oxum"]
    assert info["Bag-Group-Identifier"] == f"{AGENCY}/000.00.12.H27-230614-0001"
    # masters exactly as scanned, searchable PDFs, text, metadata, validation report
    record = json.loads((bag / "data/metadata/archive.json").read_text(encoding="utf-8"))
    originals = {f["original_name"]: f["path"] for f in record["files"] if f["role"] == "original"}
    scans = outputs.parent / "scans" / "000.00.12.H27-230614-0001"
    assert sorted(originals) == sorted(p.name for p in scans.iterdir())
    for scan in scans.iterdir():
        assert (bag / originals[scan.name]).read_bytes() == scan.read_bytes()
    assert "data/originals/quyet_dinh_02.jpg" in originals.values()
    src = outputs / "000.00.12.H27-230614-0001"
    assert (bag / "data/metadata/dossier.json").read_bytes() == (src / "dossier.json").read_bytes()
    assert (bag / "data/ocr/quyet_dinh.pdf").read_bytes() == (src / "quyết_định.pdf").read_bytes()
    assert (bag / "data/text/quyet_dinh.txt").read_text(encoding="utf-8").startswith("ỦY BAN")
    names = {f["path"]: f["original_name"] for f in record["files"]}
    assert names["data/ocr/quyet_dinh.pdf"] == "quyết_định.pdf", "original names are kept in metadata"
    validation = json.loads((bag / "data/metadata/validation.json").read_text(encoding="utf-8"))
    assert {v["file"] for v in validation} == {p for p in names if p.endswith(".pdf")}
    assert all(v["indication"] == "NO_SIGNATURE" for v in validation)
    if not (arch / "store.url").exists():  # stored versions are read-only (on S3: write-once)
        assert not os.stat(bag / "data/ocr/quyet_dinh.pdf").st_mode & 0o222
    assert not list((arch / ".staging").iterdir()), "staging is empty after a clean run"
    con = catalogue(arch)
    if isinstance(con, sqlite3.Connection):
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert con.execute("SELECT COUNT(*) FROM documents").fetchone()[0] == 5
    assert integrity(con) == "ok"


def test_same_content_again_is_a_no_op_and_a_change_is_the_next_version(sohoa, isolated_config, outputs, tmp_path):
    arch = tmp_path / "arch"
    assert add(sohoa, arch, outputs, extra=["--agency-code", AGENCY]).returncode == 0
    v1 = f"fonds/{AGENCY}/2023/000.00.12.H27-230614-0001/v0001"
    before = tree_bytes(bag_dir(arch, v1))
    again = run_json(add(sohoa, arch, outputs, extra=["--agency-code", AGENCY]))
    assert again["added"] == 0 and again["unchanged"] == 3
    assert len(stored_versions(arch)) == 3
    # a correction of the metadata makes v0002; v0001 stays as it was
    folder = outputs / "000.00.12.H27-230614-0001"
    dossier = json.loads((folder / "dossier.json").read_text(encoding="utf-8"))
    dossier["documents"][1]["metadata"]["subject"] = "Về việc cấp lại giấy chứng nhận quyền sử dụng đất"
    (folder / "dossier.json").write_text(json.dumps(dossier, ensure_ascii=False), encoding="utf-8")
    third = run_json(add(sohoa, arch, folder, extra=["--agency-code", AGENCY]))
    assert third["added"] == 1
    assert third["dossiers"][0]["version"].endswith("/v0002")
    assert tree_bytes(bag_dir(arch, v1)) == before, "a stored version is never modified"
    v2 = v1.replace("/v0001", "/v0002")
    assert bagit.Bag(str(bag_dir(arch, v2))).info["Sohoa-Supersedes"] == "v0001"
    validate_all_bags(arch)
    shown = run_json(sohoa("archive", "show", "000.00.12.H27-230614-0001", *archive_args(arch), "--json"))
    assert [v["version"] for v in shown["versions"]] == [1, 2] and shown["shown_version"] == 2
    assert shown["documents"][1]["subject"].startswith("Về việc cấp lại")
    # search sees the latest version only
    hits = run_json(sohoa("archive", "search", "cap lai giay chung nhan", *archive_args(arch), "--json"))["results"]
    assert [h["version"] for h in hits] == [v2]
    log = run_json(sohoa("archive", "log", *archive_args(arch), "--json", "--type", "modification"))
    assert log[0]["object"].endswith("/v0002") and log[0]["detail"]["supersedes"] == "v0001"


def test_master_changed_since_ocr_refuses_that_dossier_only(sohoa, isolated_config, outputs, tmp_path):
    arch = tmp_path / "arch"
    scan = outputs.parent / "scans" / "000.09.11.H49-200706-0003" / "quyet_dinh.pdf"
    scan.write_bytes(scan.read_bytes() + b"\n% edited\n")
    result = add(sohoa, arch, outputs, extra=["--agency-code", AGENCY])
    assert result.returncode == 1
    report = run_json(result)
    assert report["added"] == 2 and report["failed"] == 1
    bad = [d for d in report["dossiers"] if d["status"] == "error"][0]
    assert "SHA-256" in bad["message"] and "quyet_dinh.pdf" in bad["message"] and "\n" not in bad["message"]
    errors = [line for line in result.stderr.splitlines() if line.startswith("✗")]
    assert len(errors) == 1 and "SHA-256" in errors[0]
    assert not [f for f in stored_files(arch) if "/000.09.11.H49-200706-0003/" in f]
    assert not list((arch / ".staging").iterdir())
    failures = run_json(sohoa("archive", "log", *archive_args(arch), "--json", "--type", "ingestion"))
    assert any(e["outcome"] == "failure" and "SHA-256" in e["detail"]["message"] for e in failures)


def test_agency_code_comes_from_the_dossier_code_or_is_asked_for(sohoa, isolated_config, outputs, tmp_path):
    arch = tmp_path / "arch"
    result = add(sohoa, arch, outputs)
    report = run_json(result)
    assert result.returncode == 1 and report["added"] == 2
    paths = sorted(d["version"] for d in report["dossiers"] if d["version"])
    assert paths == ["fonds/000.00.12.H27/2023/000.00.12.H27-230614-0001/v0001",
                     "fonds/000.09.11.H49/2020/000.09.11.H49-200706-0003/v0001"]
    failed = [d for d in report["dossiers"] if d["status"] == "error"][0]
    assert "--agency-code" in failed["message"]
    # a configured agency code (here from the environment) wins over the dossier code's
    again = sohoa("archive", "add", outputs, "--archive", arch, "--json", env={"SOHOA_AGENCY_CODE": "H40.114"})
    assert run_json(again)["added"] == 3
    assert {"fonds/H40.114/2024/ho-so-Dien-Thang/v0001",
            "fonds/H40.114/2023/000.00.12.H27-230614-0001/v0001"} <= set(stored_versions(arch))
    validate_all_bags(arch)


@pytest.mark.parametrize("fmt", ["pdf", "tif"])
def test_stacked_batch_dossier_keeps_only_its_pages_as_masters(sohoa, isolated_config, tmp_path, fmt):
    base = tmp_path / "in"
    out, batch = make_batch(base, fmt, [
        ("000.24.12.H30-240612-0006", [{"name": "document-01", "text": RECEIPT_TEXT, "pages": 1},
                                       {"name": "document-02", "text": QD_TEXT, "pages": 2}]),
        ("000.17.11.H56-220310-0007", [{"name": "document-01", "text": OTHER_PLACE_TEXT, "pages": 2}]),
    ])
    arch = tmp_path / "arch"
    report = run_json(add(sohoa, arch, out, extra=["--agency-code", AGENCY]))
    assert report["added"] == 2
    validate_all_bags(arch)
    bag = bag_dir(arch, f"fonds/{AGENCY}/2022/000.17.11.H56-220310-0007/v0001")
    record = json.loads((bag / "data/metadata/archive.json").read_text(encoding="utf-8"))
    [master] = [f for f in record["files"] if f["role"] == "original"]
    assert master["original_name"] == f"batch.{fmt}"
    assert master["extracted_from"] == {"file": f"batch.{fmt}", "sha256": sha256(batch), "pages": [6, 7],
                                        "pages_in_file": 7}
    extracted = bag / master["path"]
    if fmt == "pdf":
        with pikepdf.open(batch) as src, pikepdf.open(extracted) as got:
            assert len(got.pages) == 2
            for i, number in enumerate([6, 7]):  # same page content streams, not re-encoded
                assert got.pages[i].Contents.read_bytes() == src.pages[number - 1].Contents.read_bytes()
    else:
        with Image.open(batch) as src, Image.open(extracted) as got:
            assert got.n_frames == 2
            for i, number in enumerate([6, 7]):
                src.seek(number - 1)
                got.seek(i)
                assert got.info.get("compression") == "group4"
                assert ImageChops.difference(src.convert("L"), got.convert("L")).getbbox() is None, "lossless"
    mapping = record["documents"][0]["originals"]
    assert [(m["source_page"], m["page"]) for m in mapping] == [(6, 1), (7, 2)]
    # extraction is deterministic: adding the same batch again changes nothing
    assert run_json(add(sohoa, arch, out, extra=["--agency-code", AGENCY]))["unchanged"] == 2


def sign_pdf(src: Path, dst: Path, who: str = "leader") -> None:
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import signers

    signer = signers.SimpleSigner.load_pkcs12(str(PKI / f"{who}.p12"), passphrase=b"test-only")
    dst.parent.mkdir(parents=True, exist_ok=True)
    with open(src, "rb") as f:
        writer = IncrementalPdfFileWriter(f)
        with open(dst, "wb") as out:
            signers.sign_pdf(writer, signers.PdfSignatureMetadata(field_name="Sig1"), signer=signer, output=out)


def test_signed_pdfs_are_stored_with_their_validation_report(sohoa, isolated_config, outputs, tmp_path):
    code = "000.00.12.H27-230614-0001"
    signed_dir = tmp_path / "signed"
    sign_pdf(outputs / code / "quyết_định.pdf", signed_dir / code / "quyết_định.pdf")
    # a signed copy left in the OCR folder itself is stored too; an unsigned stray is not
    sign_pdf(outputs / code / "tiep_nhan.pdf", outputs / code / "tiep_nhan-ky.pdf", who="agency")
    make_pdf(outputs / code / "ghi-chu.pdf")
    arch = tmp_path / "arch"
    result = add(sohoa, arch, outputs, extra=["--agency-code", AGENCY, "--signed", signed_dir,
                                              "--trust", PKI / "root.pem"])
    assert result.returncode == 0, result.stderr
    [entry] = [d for d in run_json(result)["dossiers"] if d["dossier"] == code]
    assert entry["signed_files"] == 2
    assert any("ghi-chu.pdf" in w for w in entry["warnings"])
    bag = bag_dir(arch, f"fonds/{AGENCY}/2023/{code}/v0001")
    validate_all_bags(arch)
    assert (bag / "data/signed/quyet_dinh.pdf").read_bytes() == (signed_dir / code / "quyết_định.pdf").read_bytes()
    record = json.loads((bag / "data/metadata/archive.json").read_text(encoding="utf-8"))
    assert record["documents"][1]["signed"] == ["data/signed/quyet_dinh.pdf"]
    assert record["documents"][0]["signed"] == ["data/signed/tiep_nhan-ky.pdf"]
    validation = {v["file"]: v for v in json.loads((bag / "data/metadata/validation.json").read_text(encoding="utf-8"))}
    signed = validation["data/signed/quyet_dinh.pdf"]
    assert signed["indication"] not in ("NO_SIGNATURE", "ERROR")
    assert signed["signatures"][0]["signer"] and signed["signatures"][0]["intact"] is True
    assert validation["data/ocr/quyet_dinh.pdf"]["indication"] == "NO_SIGNATURE"
    stats = run_json(sohoa("archive", "stats", *archive_args(arch), "--json"))
    assert stats["total"]["signed"] == 2 and stats["total"]["documents"] == 5


# ----------------------------------------------------------------- search


@pytest.fixture
def filled(sohoa, isolated_config, outputs, tmp_path) -> Path:
    arch = tmp_path / "arch"
    # in this order (oldest first): the no-marks OCR, then the two others
    names = ("000.09.11.H49-200706-0003", "000.00.12.H27-230614-0001", "ho-so-Điện-Thắng")
    assert add(sohoa, arch, *(outputs / n for n in names), extra=["--agency-code", AGENCY]).returncode == 0
    return arch


def search(sohoa, arch, *query_and_flags) -> dict:
    result = sohoa("archive", "search", *query_and_flags, *archive_args(arch), "--json")
    assert result.returncode == 0, result.stderr
    return run_json(result)


def test_search_folds_marks_and_d_the_same_at_index_and_query_time(sohoa, filled):
    found = search(sohoa, filled, "quyet dinh dien lac")
    files = [(h["dossier"], h["file"]) for h in found["results"]]
    assert ("000.00.12.H27-230614-0001", "quyết_định.pdf") in files  # "Quyết định … Diên Lạc"
    assert ("000.09.11.H49-200706-0003", "quyet_dinh.pdf") in files  # OCR without marks
    assert ("ho-so-Điện-Thắng", "quyet_dinh.pdf") in files  # "Điện Lạc": đ folds to d
    top = found["results"][0]
    assert "«" in top["snippet"] and top["highlights"]
    # đ/Đ folded at query time too, and letters with two marks (ế, ộ, ữ, ệ)
    for query in ("đất đai", "dat dai", "DAT DAI"):
        assert {h["dossier"] for h in search(sohoa, filled, query)["results"]} == {"000.09.11.H49-200706-0003"}
    for query in ("nghiep vu thue", "NGHIỆP VỤ THUẾ", "ngu van", "mot cua", "Hữu Lộc"):
        hits = search(sohoa, filled, query)["results"]
        assert [h["file"] for h in hits] == ["thong_bao.pdf"], query
    assert search(sohoa, filled, "tran dinh bay")["results"][0]["file"] == "quyết_định.pdf"
    assert search(sohoa, filled, "khong co tu nay")["results"] == []


def test_exact_diacritic_matches_rank_first(sohoa, filled):
    hits = search(sohoa, filled, "Quyết định Diên Lạc")["results"]
    assert hits[0]["file"] == "quyết_định.pdf" and hits[0]["tier"] == "exact"
    tiers = [h["tier"] for h in hits]
    assert tiers == sorted(tiers), "every exact match before any folded one"
    exact = {h["file"] for h in hits if h["tier"] == "exact"}
    assert exact == {"quyết_định.pdf", "tiep_nhan.pdf"}  # the receipt: "giải quyết", "Số định danh", "DIÊN LẠC"
    assert {h["dossier"] for h in hits if h["tier"] == "folded"} == {"000.09.11.H49-200706-0003", "ho-so-Điện-Thắng"}
    # the same words with other marks: "Điện Lạc" first
    hits = search(sohoa, filled, "thôn Điện Lạc")["results"]
    assert hits[0]["dossier"] == "ho-so-Điện-Thắng" and hits[0]["tier"] == "exact"
    # without marks in the query, newest archived first
    hits = search(sohoa, filled, "quyet dinh")["results"]
    assert hits[0]["dossier"] == "ho-so-Điện-Thắng" and hits[-1]["dossier"] == "000.09.11.H49-200706-0003"
    # a quoted phrase: words next to each other
    assert {h["dossier"] for h in search(sohoa, filled, '"dien lac"')["results"]} == \
        {"000.00.12.H27-230614-0001", "000.09.11.H49-200706-0003", "ho-so-Điện-Thắng"}
    assert search(sohoa, filled, '"lac dien"')["results"] == []


def test_search_filters_and_the_audit_of_who_searched(sohoa, filled):
    assert {h["dossier"] for h in search(sohoa, filled, "quyet dinh", "--from", "2023", "--to", "2023-12")["results"]} == \
        {"000.00.12.H27-230614-0001"}
    hits = search(sohoa, filled, "thue", "--type", "thong bao")["results"]
    assert [h["file"] for h in hits] == ["thong_bao.pdf"]
    hits = search(sohoa, filled, "ủy ban", "--agency", "dien thang")["results"]
    assert {h["dossier"] for h in hits} == {"ho-so-Điện-Thắng"}
    assert search(sohoa, filled, "quyet dinh", "--agency", "H99")["results"] == []
    hits = search(sohoa, filled, "quyet dinh", "--dossier", "000.00.12.H27-230614-0001")["results"]
    assert {h["dossier"] for h in hits} == {"000.00.12.H27-230614-0001"}
    assert search(sohoa, filled, "056089001234")["results"][0]["dossier"] == "000.00.12.H27-230614-0001"
    result = sohoa("archive", "search", "Diên Lạc", "--agent", "Lê Thị Lưu Trữ", *archive_args(filled))
    assert result.returncode == 0 and "Diên Lạc" in result.stderr
    [event] = run_json(sohoa("archive", "log", *archive_args(filled), "--json", "--limit", "1"))
    assert event["type"] == "search" and event["agent"] == "Lê Thị Lưu Trữ" and event["object"] == "Diên Lạc"
    assert event["time"].endswith("+07:00")
    bad = sohoa("archive", "search", "x", "--from", "14/06/2023", *archive_args(filled))
    assert bad.returncode == 2 and "YYYY" in bad.stderr and "Traceback" not in bad.stderr


# ----------------------------------------------------------------- check, log, reindex


def test_check_reports_what_lies_outside_any_bag(sohoa, filled):
    dossier = f"fonds/{AGENCY}/2023/000.00.12.H27-230614-0001"
    damage(filled, f"fonds/{AGENCY}/ghi-chu.txt", b"a note left in the fonds")
    damage(filled, f"{dossier}/v0001 - Copy/bagit.txt", b"BagIt-Version: 1.0\n")
    result = sohoa("archive", "check", *archive_args(filled), "--json")
    assert result.returncode == 1
    problems = {(p["kind"], p["path"]) for p in run_json(result)["problems"]}
    on_s3 = (filled / "store.url").exists()  # a folder on disk; on S3, the object itself
    stray_copy = f"{dossier}/v0001 - Copy" + ("/bagit.txt" if on_s3 else "")
    assert problems == {("unexpected", f"fonds/{AGENCY}/ghi-chu.txt"), ("unexpected", stray_copy)}
    assert f"unexpected: fonds/{AGENCY}/ghi-chu.txt" in result.stderr
    assert run_json(result)["bags"] == 3, "the bags themselves are checked as before"


def test_check_reports_damage_with_its_path_and_repairs_nothing(sohoa, filled):
    ok = sohoa("archive", "check", *archive_args(filled), "--json")
    assert ok.returncode == 0, ok.stderr
    assert run_json(ok)["bags"] == 3 and run_json(ok)["problems"] == []
    rel = f"fonds/{AGENCY}/2023/000.00.12.H27-230614-0001/v0001"
    data = bytearray((bag_dir(filled, rel) / "data/ocr/quyet_dinh.pdf").read_bytes())
    data[100] ^= 0xFF
    damage(filled, f"{rel}/data/ocr/quyet_dinh.pdf", bytes(data))
    damage(filled, f"{rel}/data/text/tiep_nhan.txt", None)
    damage(filled, f"{rel}/data/ocr/extra.pdf", b"%PDF-1.4 not in the manifest")
    result = sohoa("archive", "check", *archive_args(filled), "--json", "--algorithm", "all")
    assert result.returncode == 1
    problems = {(p["kind"], p["path"]) for p in run_json(result)["problems"]}
    assert problems == {("changed", f"{rel}/data/ocr/quyet_dinh.pdf"), ("missing", f"{rel}/data/text/tiep_nhan.txt"),
                        ("unexpected", f"{rel}/data/ocr/extra.pdf")}
    one_reader = sohoa("archive", "check", *archive_args(filled), "--json", "--jobs", "1")
    assert {(p["kind"], p["path"]) for p in run_json(one_reader)["problems"]} == problems, "--jobs 1 finds the same"
    assert f"changed: {rel}/data/ocr/quyet_dinh.pdf" in result.stderr
    bag = bag_dir(filled, rel)
    assert (bag / "data/ocr/quyet_dinh.pdf").read_bytes() == bytes(data), "nothing is silently repaired"
    assert not (bag / "data/text/tiep_nhan.txt").exists()
    with pytest.raises(bagit.BagValidationError):
        bagit.Bag(str(bag)).validate()
    shown = run_json(sohoa("archive", "show", "000.00.12.H27-230614-0001", *archive_args(filled), "--json"))
    assert shown["last_fixity_check"]["outcome"] == "failed"
    events = run_json(sohoa("archive", "log", *archive_args(filled), "--json", "--type", "fixity check"))
    assert events[0]["outcome"] == "failure" and events[0]["detail"]["problem_count"] == 3
    # the rolling check takes the versions checked longest ago first
    sample = run_json(sohoa("archive", "check", "--sample", "1", *archive_args(filled), "--json"))
    assert sample["bags"] == 1 and sample["sample"] == 1


def test_audit_log_is_a_verifiable_hash_chain(sohoa, filled):
    ok = sohoa("archive", "log", "--verify", *archive_args(filled), "--json")
    assert ok.returncode == 0 and run_json(ok)["ok"] and run_json(ok)["events"] == 3
    events = run_json(sohoa("archive", "log", *archive_args(filled), "--json"))
    assert [e["type"] for e in events] == ["ingestion"] * 3
    for e in events:
        assert e["time"].endswith("+07:00") and e["agent"] and e["outcome"] == "success"
        assert len(e["hash"]) == 64 and len(e["prev_hash"]) == 64
    assert events[-1]["prev_hash"] == "0" * 64 and events[0]["prev_hash"] == events[1]["hash"]
    con = catalogue(filled)
    con.execute("UPDATE events SET agent = 'someone else' WHERE seq = 2")
    con.commit()
    con.close()
    broken = sohoa("archive", "log", "--verify", *archive_args(filled))
    assert broken.returncode == 1 and "event 2" in broken.stderr


def test_catalogue_is_rebuilt_from_the_bags_alone(sohoa, filled):
    before = search(sohoa, filled, "quyet dinh dien lac")["results"]
    lose_catalogue(filled)
    assert sohoa("archive", "search", "x", *archive_args(filled)).returncode == 2
    result = sohoa("archive", "reindex", *archive_args(filled), "--json")
    assert result.returncode == 0, result.stderr
    assert run_json(result)["versions"] == 3 and run_json(result)["documents"] == 5
    after = search(sohoa, filled, "quyet dinh dien lac")["results"]
    assert [(h["version"], h["document"]) for h in after] == [(h["version"], h["document"]) for h in before]
    if not (filled / "catalogue.url").exists():  # a PostgreSQL catalogue is no file to damage
        # a damaged catalogue file is set aside, never overwritten
        (filled / "catalogue.sqlite3").write_bytes(b"garbage" * 1000)
        result = sohoa("archive", "reindex", *archive_args(filled))
        assert result.returncode == 0, result.stderr
        assert list(filled.glob("catalogue.sqlite3.broken-*"))
    assert search(sohoa, filled, "nghiep vu")["results"]
    chain = run_json(sohoa("archive", "log", "--verify", *archive_args(filled), "--json"))
    assert chain["ok"]


# ----------------------------------------------------------------- export, stats, replicate


def test_export_csv_and_dip(sohoa, filled, tmp_path):
    out_csv = tmp_path / "export" / "ho-so.csv"
    result = sohoa("archive", "export", "--csv", out_csv, "--type", "quyết định", *archive_args(filled), "--json")
    assert result.returncode == 0, result.stderr
    text = out_csv.read_bytes().decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 3 and {r["doc_type"] for r in rows} == {"Quyết định"}
    qd = [r for r in rows if r["dossier_code"] == "000.00.12.H27-230614-0001"][0]
    assert qd["symbol"] == "QĐ-UBND" and qd["signer_name"] == "Trần Đình Bẩy" and qd["citizen_ids"] == "056089001234"
    dip = tmp_path / "dip"
    result = sohoa("archive", "export", "000.00.12.H27-230614-0001", "--dip", dip, "--with-originals",
                   *archive_args(filled), "--json")
    assert result.returncode == 0, result.stderr
    folder = dip / AGENCY / "000.00.12.H27-230614-0001"
    assert (folder / "quyết_định.pdf").is_file() and (folder / "text/quyết_định.txt").is_file()
    assert (folder / "originals/tiep_nhan_01.jpg").is_file()
    assert (folder / "metadata/dossier.json").is_file() and (dip / "index.csv").is_file()
    for line in (dip / "manifest-sha256.txt").read_text(encoding="utf-8").splitlines():
        digest, name = line.split("  ", 1)
        assert sha256(dip / name) == digest
    assert sohoa("archive", "export", "--dip", dip, *archive_args(filled)).returncode == 2, "never overwrites"
    events = run_json(sohoa("archive", "log", *archive_args(filled), "--json", "--type", "dissemination"))
    assert len(events) == 2


def test_stats_table_json_and_plot(sohoa, filled, tmp_path):
    result = sohoa("archive", "stats", *archive_args(filled), "--json")
    data = run_json(result)
    rows = {(r["agency_code"], r["period"]): r for r in data["rows"]}
    assert set(rows) == {(AGENCY, "2020"), (AGENCY, "2023"), (AGENCY, "2024")}
    assert rows[(AGENCY, "2023")]["documents"] == 2 and rows[(AGENCY, "2023")]["pages"] == 3
    assert rows[(AGENCY, "2024")]["digitised_share"] == 1.0 and rows[(AGENCY, "2024")]["signed_share"] == 0.0
    assert data["total"]["dossiers"] == 3
    months = run_json(sohoa("archive", "stats", "--by", "month", *archive_args(filled), "--json"))
    assert {r["period"] for r in months["rows"]} == {"2020-07", "2023-06", "2024-03"}
    human = sohoa("archive", "stats", *archive_args(filled))
    assert human.returncode == 0 and "digitised" in human.stderr and AGENCY in human.stderr
    pytest.importorskip("matplotlib")
    plot = tmp_path / "stats.png"
    assert sohoa("archive", "stats", "--plot", plot, *archive_args(filled)).returncode == 0
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_replicate_to_a_second_copy_verified_after_copy(sohoa, filled, tmp_path):
    replica = tmp_path / "replica"
    result = sohoa("archive", "replicate", "--to", replica, *archive_args(filled), "--json")
    assert result.returncode == 0, result.stderr
    report = run_json(result)
    assert report["copied"] == 3 and report["ok"]
    validate_all_bags(replica)
    assert search(sohoa, replica, "quyet dinh dien lac")["results"]
    again = run_json(sohoa("archive", "replicate", "--to", replica, *archive_args(filled), "--json"))
    assert again["copied"] == 0 and again["present"] == 3
    # the replica is an archive of its own: its damage is found by its own check
    victim = next((replica / "fonds").glob("*/*/*/v0001/data/ocr/*.pdf"))
    os.chmod(victim, 0o644)
    victim.write_bytes(b"%PDF-1.4 damaged")
    checked = sohoa("archive", "check", "--archive", replica)
    assert checked.returncode == 1 and victim.relative_to(replica).as_posix() in checked.stderr
    events = run_json(sohoa("archive", "log", *archive_args(filled), "--json", "--type", "replication"))
    assert len(events) == 2 and events[0]["detail"]["destination"] == str(replica)


# ----------------------------------------------------------------- the command line


@pytest.mark.parametrize("command", ["add", "search", "show", "export", "stats", "check", "log", "replicate", "reindex"])
def test_every_archive_command_has_help_with_an_example(sohoa, command):
    result = sohoa("archive", command, "--help")
    assert result.returncode == 0, result.stderr
    assert "Example: sohoa archive " + command in result.stdout


def test_usage_errors_exit_2_with_one_line(sohoa, isolated_config, tmp_path):
    missing = sohoa("archive", "add", tmp_path / "nope", "--archive", tmp_path / "arch")
    assert missing.returncode == 2 and "not found" in missing.stderr
    (tmp_path / "empty").mkdir()
    empty = sohoa("archive", "add", tmp_path / "empty", "--archive", tmp_path / "arch")
    assert empty.returncode == 2 and "dossier.json" in empty.stderr
    not_archive = sohoa("archive", "search", "x", "--archive", tmp_path / "empty")
    assert not_archive.returncode == 2 and "not an archive" in not_archive.stderr
    for r in (missing, empty, not_archive):
        assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
