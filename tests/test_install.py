"""The distribution installs as the contract says: sohoa.cli/ocr/signing/archive, script `sohoa`."""
import subprocess
import sys
import zipfile

from conftest import REPO, run_sohoa

CODE_PACKAGES = ["cli", "ocr", "signing", "archive"]


def test_wheel_maps_code_folders_under_the_sohoa_namespace(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", str(REPO),
                    "-w", str(tmp_path)], check=True, capture_output=True)
    wheel = next(tmp_path.glob("sohoa-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    for package in CODE_PACKAGES:
        assert f"sohoa/{package}/__init__.py" in names
    assert "sohoa/__init__.py" not in names, "sohoa must stay an implicit namespace"
    top = {n.split("/")[0] for n in names}
    assert top <= {"sohoa"} | {n.split("/")[0] for n in names if ".dist-info" in n}
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "sohoa = sohoa.cli.app:main" in zipfile.ZipFile(wheel).read(entry_points).decode()

    # A non-editable install of that wheel imports from site-packages, not from the repo.
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target",
                    str(target), str(wheel)], check=True, capture_output=True)
    probe = subprocess.run(
        [sys.executable, "-c", "import sohoa.cli.app, sohoa.ocr; print(sohoa.cli.app.__file__)"],
        env={"PYTHONPATH": str(target)}, cwd=tmp_path, capture_output=True, text=True, check=True)
    assert probe.stdout.startswith(str(target))


def test_console_script_shows_the_commands():
    result = run_sohoa("--help")
    assert result.returncode == 0
    for command in ("doctor", "samples", "demo"):
        assert command in result.stdout
