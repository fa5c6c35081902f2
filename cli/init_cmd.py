"""`sohoa init`: write sohoa.toml, the agency's settings, once per desk."""
from __future__ import annotations

import datetime as dt
import json
import sys
import tomllib
from dataclasses import fields
from pathlib import Path
from typing import Annotated, Optional

import typer

from .config import CONFIG_NAME, Settings
from .console import err
from .errors import ExitCode, UsageError
from .fsio import write_text

EPILOG = ("Example: sohoa init --agency-name 'UBND xã Diên Lạc' --agency-code 000.00.12.H27 "
          "--archive /srv/sohoa-archive --pkcs11-lib /usr/lib/libeToken.so")

P = typer.Option

# (setting, comment shown above it, example when not set)
LINES = (
    ("agency_name", "Agency name, as on the copy stamp and in the archive", "UBND xã Diên Lạc"),
    ("agency_code", "Agency code (mã định danh cơ quan): the fonds of the archive", "000.00.12.H27"),
    ("archive", "Archive folder", "/srv/sohoa-archive"),
    ("p12", "Key for signing: a PKCS#12 file (its password is never stored: "
            "$SOHOA_P12_PASSWORD or asked)…", "/path/to/co-quan.p12"),
    ("pkcs11_lib", "…or a PKCS#11 token (its PIN is never stored: $SOHOA_PIN or asked once)",
     "/usr/lib/libeToken.so"),
    ("token_label", "The token's label", "UBND xã Diên Lạc"),
    ("tsa", "Time-stamping service (RFC 3161)", "http://tsa.example.vn/"),
    ("trust_dir", "Trust anchors (root certificates) for verifying", "~/.config/sohoa/trust"),
    ("lang", "OCR language(s)", "vie"),
    ("jobs", "Worker processes", "2"),
)


def init(
    agency_name: Annotated[Optional[str], P(help="Agency name (Vietnamese, as on the stamp).", show_default=False)] = None,
    agency_code: Annotated[Optional[str], P(help="Agency code, e.g. 000.00.12.H27.", show_default=False)] = None,
    archive: Annotated[Optional[Path], P(help="Archive folder.", show_default=False)] = None,
    p12: Annotated[Optional[Path], P(help="Default key: a PKCS#12 file.", show_default=False)] = None,
    pkcs11_lib: Annotated[Optional[Path], P(help="Default key: a token's PKCS#11 library.", show_default=False)] = None,
    token_label: Annotated[Optional[str], P(help="The token's label.", show_default=False)] = None,
    tsa: Annotated[Optional[str], P(help="Time-stamping URL.", show_default=False)] = None,
    trust_dir: Annotated[Optional[Path], P(help="Folder of trust anchors.", show_default=False)] = None,
    lang: Annotated[Optional[str], P(help="OCR language(s), default vie.", show_default=False)] = None,
    jobs: Annotated[Optional[int], P(min=1, help="Worker processes.", show_default=False)] = None,
    path: Annotated[Path, P("--path", help="Where to write it.")] = Path(CONFIG_NAME),
    force: Annotated[bool, P("--force", help="Replace an existing file.")] = False,
) -> None:
    """Write sohoa.toml: agency name and code, default key, trust folder, archive, language, jobs.

    Values not given are asked for (agency name, code and archive) when run in a terminal,
    and otherwise left as commented examples. Passwords and PINs are never written.
    Flags override SOHOA_* environment variables, which override this file.
    """
    if p12 is not None and pkcs11_lib is not None:
        raise UsageError("choose one default key: --p12 FILE or --pkcs11-lib LIB, not both")
    if path.exists() and not force:
        raise UsageError(f"{path} exists: edit it, or run again with --force to replace it")
    values = {"agency_name": agency_name, "agency_code": agency_code, "archive": archive,
              "p12": p12, "pkcs11_lib": pkcs11_lib, "token_label": token_label, "tsa": tsa,
              "trust_dir": trust_dir, "lang": lang, "jobs": jobs}
    if sys.stdin.isatty():
        for name, question in (("agency_name", "Agency name"), ("agency_code", "Agency code"),
                               ("archive", "Archive folder")):
            if values[name] is None:
                values[name] = typer.prompt(question, default=str(Settings.archive) if name == "archive" else "",
                                            show_default=name == "archive") or None
    text = render(values)
    assert tomllib.loads(text).keys() <= {f.name for f in fields(Settings)}
    write_text(path, text, overwrite=force)
    err.print(text.rstrip(), markup=False, highlight=False, soft_wrap=True)
    err.print(f"[green]Wrote {path}[/]. Check it with: sohoa doctor")
    raise typer.Exit(ExitCode.OK)


def render(values: dict) -> str:
    """TOML text: given settings set, the others commented out with an example."""
    out = [f"# sohoa settings, written by `sohoa init` on {dt.date.today().isoformat()}.",
           "# Flags override SOHOA_* environment variables, which override this file.", ""]
    for name, comment, example in LINES:
        value = values.get(name)
        out.append(f"# {comment}")
        if value is None:
            out.append(f"# {name} = {_toml(example, name)}")
        else:
            out.append(f"{name} = {_toml(value, name)}")
    return "\n".join(out) + "\n"


def _toml(value, name: str) -> str:
    if name == "jobs":
        return str(int(value))
    if isinstance(value, Path):
        value = str(value.expanduser().absolute())
    return json.dumps(str(value), ensure_ascii=False)  # a JSON string is a TOML basic string
