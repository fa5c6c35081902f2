"""Exceptions with stable exit codes (the contract's "Exit status")."""
from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    FAILED = 1  # some item failed, or a signature did not pass
    USAGE = 2  # bad flag, missing file
    INDETERMINATE = 3  # verify only
    INTERRUPTED = 130


class SohoaError(Exception):
    """An error the user can act on; its message is one line naming what to do."""

    exit_code = ExitCode.FAILED


class UsageError(SohoaError):
    exit_code = ExitCode.USAGE


class MissingDependency(SohoaError):
    """A system part (Tesseract, a font, a PKCS#11 library) is not installed."""


class BadInput(SohoaError):
    """One input file cannot be used; the batch goes on without it."""

    def __init__(self, path, problem: str, fix: str = ""):
        self.path = str(path)
        self.problem = problem
        self.fix = fix
        super().__init__(f"{self.path}: {problem}" + (f" — {fix}" if fix else ""))
