"""Outputs appear whole or not at all."""
import pytest

from sohoa.cli import fsio


def test_failed_write_leaves_no_file_and_keeps_the_old_one(tmp_path):
    target = tmp_path / "out" / "report.json"
    fsio.write_text(target, "old")
    with pytest.raises(RuntimeError):
        with fsio.atomic_output(target) as out:
            out.write(b"half of the new conte")
            raise RuntimeError("disk full")
    assert target.read_text() == "old"
    assert [p.name for p in target.parent.iterdir()] == ["report.json"]


def test_no_overwrite_keeps_existing_output(tmp_path):
    target = tmp_path / "signed.pdf"
    fsio.write_bytes(target, b"first")
    with pytest.raises(FileExistsError):
        fsio.write_bytes(target, b"second", overwrite=False)
    assert target.read_bytes() == b"first"
    assert len(list(tmp_path.iterdir())) == 1


def test_outputs_get_the_usual_permissions(tmp_path):
    target = tmp_path / "dossier.json"
    fsio.write_text(target, "{}")
    assert target.stat().st_mode & 0o777 == fsio.FILE_MODE
    assert fsio.FILE_MODE & 0o044, "other users of the desk can read the outputs"
