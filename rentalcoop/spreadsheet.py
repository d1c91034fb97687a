"""CSV cells a spreadsheet will not run: every export that people open in Excel or LibreOffice."""

from __future__ import annotations

# A cell that starts like a formula is run by the spreadsheet (OWASP "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value):
    """`value`, with a leading apostrophe when it is text that a spreadsheet would run."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def kronor(amount_ore: int) -> str:
    """Öre as kronor with a decimal comma and no grouping (`-1234,50`), as Swedish Excel reads
    a number."""
    sign = "-" if amount_ore < 0 else ""
    whole, ore = divmod(abs(amount_ore), 100)
    return f"{sign}{whole},{ore:02d}"
