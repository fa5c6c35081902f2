"""PAdES signing and signature validation."""
from __future__ import annotations

import importlib
import importlib.util
import sys


def _defer_package_init(name: str) -> None:
    """Run package `name`'s __init__ only when one of its own names is first used.

    `pyhanko.sign`'s __init__ imports the whole signing stack (signers, timestamp
    clients, aiohttp): ≈0.2 s that `sohoa verify` pays at start-up and never uses, as
    validation lives in submodules. Submodules import as usual; `pyhanko.sign.X` for a
    name the __init__ defines runs it then, so every use behaves exactly as before.
    """
    if name in sys.modules:
        return
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None or not spec.submodule_search_locations:
        return
    package = importlib.util.module_from_spec(spec)

    def __getattr__(attr: str):
        if importlib.util.find_spec(f"{name}.{attr}") is not None:
            return importlib.import_module(f"{name}.{attr}")
        del package.__dict__["__getattr__"]
        spec.loader.exec_module(package)
        return getattr(package, attr)

    package.__getattr__ = __getattr__  # type: ignore[attr-defined]
    sys.modules[name] = package
    parent, _, child = name.rpartition(".")
    setattr(sys.modules[parent], child, package)


_defer_package_init("pyhanko.sign")
