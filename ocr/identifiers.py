"""Identifiers printed on Vietnamese administrative papers (vn-rules.md, "Identifiers")."""
import re

# Classic `000.00.12.H27-230614-0001` and Circular 04/2025 `H15.50.05-261008-AA0975`
# forms alike: an opaque agency part, the receipt date, a running number.
DOSSIER_CODE = re.compile(r"[A-Z0-9][A-Z0-9.]*-\d{6}-[A-Z]{0,2}\d{4,}")
CITIZEN_ID = re.compile(r"(?<!\d)\d{12}(?!\d)")


def is_dossier_code(text: str) -> bool:
    return DOSSIER_CODE.fullmatch(text.strip()) is not None
