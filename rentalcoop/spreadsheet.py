"""CSV cells a spreadsheet will not run: every export that people open in Excel or LibreOffice."""

from __future__ import annotations

# A cell that starts like a formula is run by the spreadsheet (OWASP "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value):
    """`value`, with a leading apostrophe when it is text that a spreadsheet would run."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value
