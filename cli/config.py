"""Settings: flags, then SOHOA_* environment variables, then sohoa.toml.

sohoa.toml is looked for in the current folder, then in the user's config folder
($XDG_CONFIG_HOME/sohoa/ or ~/.config/sohoa/); the current folder's wins.
"""
import os
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, get_args, get_type_hints

from .errors import UsageError

CONFIG_NAME = "sohoa.toml"


@dataclass(frozen=True)
class Settings:
    archive: Path = Path("sohoa-archive")
    agency_name: str | None = None
    agency_code: str | None = None
    lang: str = "vie"
    jobs: int = max(1, os.cpu_count() or 1)
    trust_dir: Path | None = None
    pkcs11_lib: Path | None = None
    token_label: str | None = None
    p12: Path | None = None
    tsa: str | None = None
    db: str | None = None  # the archive catalogue on PostgreSQL: postgresql://USER@HOST/DATABASE
    cluster: str | None = None  # a Dask scheduler's address for `sohoa ocr`
    store: str | None = None  # the archive's bags on S3-compatible storage: s3://BUCKET/PREFIX


def user_config_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base) / "sohoa"


def config_files(cwd: Path | None = None) -> list[Path]:
    """Existing config files, lowest precedence first."""
    candidates = [user_config_dir() / CONFIG_NAME, (cwd or Path.cwd()) / CONFIG_NAME]
    return [p for p in candidates if p.is_file()]


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: not valid TOML ({exc}) — fix or delete the file") from exc


def _coerce(name: str, value: Any, source: str) -> Any:
    kind = get_type_hints(Settings)[name]
    try:
        if kind is int:
            return int(value)
        if kind is Path or Path in get_args(kind):
            return Path(os.path.expanduser(str(value)))
        return str(value)
    except (TypeError, ValueError) as exc:
        raise UsageError(f"{source}: '{name}' = {value!r} is not valid ({getattr(kind, '__name__', kind)})") from exc


def load_settings(flags: dict[str, Any] | None = None, cwd: Path | None = None) -> Settings:
    """Merge file < environment < flags. Flags whose value is None are not given."""
    known = {f.name for f in fields(Settings)}
    values: dict[str, Any] = {}
    for path in config_files(cwd):
        for key, value in _read_toml(path).items():
            if key not in known:
                raise UsageError(f"{path}: unknown setting '{key}' (known: {', '.join(sorted(known))})")
            values[key] = _coerce(key, value, str(path))
    for key in known:
        env = os.environ.get(f"SOHOA_{key.upper()}")
        if env:
            values[key] = _coerce(key, env, f"SOHOA_{key.upper()}")
    for key, value in (flags or {}).items():
        if value is not None:
            values[key] = _coerce(key, value, f"--{key.replace('_', '-')}")
    return Settings(**values)
