"""What every command promises: help with an example, exit 2 on bad usage."""
import pytest

COMMANDS = [["ocr"], ["meta"], ["sign"], ["verify"], ["run"], ["init"], ["doctor"], ["demo"],
            ["samples", "generate"], ["samples", "pki", "export"], ["samples", "pki", "serve"],
            ["samples", "softhsm"], ["trust", "add"], ["trust", "list"],
            *[["archive", c] for c in ("add", "search", "show", "export", "stats", "check", "log",
                                      "replicate", "reindex")]]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_help_shows_an_example(sohoa, command):
    result = sohoa(*command, "--help")
    assert result.returncode == 0, result.stderr
    assert "Example: sohoa " + command[0] in " ".join(result.stdout.split())


def test_unknown_flag_is_a_usage_error(sohoa):
    result = sohoa("doctor", "--no-such-flag")
    assert result.returncode == 2
    assert "--no-such-flag" in result.stderr
    assert "Traceback" not in result.stderr


def test_broken_config_file_names_the_file_and_exits_2(sohoa, isolated_config):
    (isolated_config / "sohoa.toml").write_text("archive = [unclosed\n")
    result = sohoa("doctor", cwd=isolated_config)
    assert result.returncode == 2
    assert "sohoa.toml" in result.stderr and "not valid TOML" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
