"""Human output and progress go to stderr; machine output (--json) to stdout."""
import json
import sys
from typing import Any

from rich.console import Console

err = Console(stderr=True, highlight=False)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")
    sys.stdout.flush()
