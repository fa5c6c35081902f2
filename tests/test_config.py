"""Settings: flags over SOHOA_* environment over sohoa.toml (current folder over user's)."""
from pathlib import Path

import pytest

from sohoa.cli.config import load_settings, user_config_dir
from sohoa.cli.errors import UsageError


def test_precedence_flag_env_cwd_user(isolated_config, monkeypatch):
    user = user_config_dir()
    user.mkdir(parents=True)
    (user / "sohoa.toml").write_text('archive = "/user"\nagency_code = "H27"\njobs = 3\n')
    assert load_settings().jobs == 3
    (isolated_config / "sohoa.toml").write_text('archive = "/cwd"\n'
                                                'agency_name = "ỦY BAN NHÂN DÂN XÃ DIÊN LẠC"\n')
    settings = load_settings()
    assert settings.archive == Path("/cwd") and settings.agency_code == "H27"
    assert settings.agency_name == "ỦY BAN NHÂN DÂN XÃ DIÊN LẠC"
    monkeypatch.setenv("SOHOA_ARCHIVE", "/env")
    assert load_settings().archive == Path("/env")
    assert load_settings({"archive": Path("/flag"), "jobs": None}).archive == Path("/flag")
    assert load_settings({"jobs": None}).jobs == 3


def test_unknown_or_bad_setting_is_a_usage_error(isolated_config, monkeypatch):
    (isolated_config / "sohoa.toml").write_text('archiv = "/typo"\n')
    with pytest.raises(UsageError, match="unknown setting 'archiv'"):
        load_settings()
    (isolated_config / "sohoa.toml").write_text("")
    monkeypatch.setenv("SOHOA_JOBS", "many")
    with pytest.raises(UsageError, match="SOHOA_JOBS"):
        load_settings()
