"""Swish numbers, bank giro numbers, amounts typed by the board, and the Swish QR code.

Swish QR ("C" format, Swish QR code specification §6.1):
`C<payee>;<amount>;<message>;<lock mask>`, the payee the coop's Swish number, the amount in
kronor with two decimals and a decimal comma, the message URL-encoded, and a lock mask whose
bits (payee 1, amount 2, message 4) say what the payer may edit: 0, nothing.
"""

from __future__ import annotations

import io
import re
from urllib.parse import quote

import segno

# A Swish number for organisations (Swish Företag/Handel): ten digits starting 123.
SWISH_RE = re.compile(r"^123\d{7}$")
# A bank giro number: seven or eight digits, the last a mod-10 (Luhn) check digit.
BANKGIRO_RE = re.compile(r"^\d{7,8}$")
_SEPARATORS = re.compile(r"[\s\-\u00a0\u202f]")


def digits(value: str | None) -> str:
    """The value without spaces and dashes (how people write these numbers)."""
    return _SEPARATORS.sub("", value or "")


def is_swish_number(number: str) -> bool:
    return bool(SWISH_RE.match(number))


def luhn_ok(number: str) -> bool:
    """The mod-10 check of bank giro numbers (the same as Swedish personal numbers)."""
    total = 0
    for position, char in enumerate(reversed(number)):
        value = int(char)
        if position % 2:
            value *= 2
            value -= 9 if value > 9 else 0
        total += value
    return total % 10 == 0


def is_bankgiro_number(number: str) -> bool:
    return bool(BANKGIRO_RE.match(number)) and luhn_ok(number)


def format_swish(number: str) -> str:
    """123 456 78 90, as Swish prints it."""
    if len(number) != 10:
        return number
    return f"{number[:3]} {number[3:6]} {number[6:8]} {number[8:]}"


def format_bankgiro(number: str) -> str:
    """NNN-NNNN or NNNN-NNNN, as Bankgirot writes it."""
    if not BANKGIRO_RE.match(number):
        return number
    return f"{number[:-4]}-{number[-4:]}"


_AMOUNT_CHARS = re.compile(r"^[0-9.,]+$")


def parse_amount_ore(text: str | None) -> int | None:
    """An amount as the board types or pastes it ("3 795,00 kr", "3795", "SEK 3,795.00") in
    öre; None when it is not one. A separator followed by one or two digits at the end is the
    decimal one; other separators group thousands."""
    value = _SEPARATORS.sub("", text or "")
    value = re.sub(r"(?i)kr|sek|:-", "", value).rstrip(".,")
    if not value or not _AMOUNT_CHARS.match(value):
        return None
    decimals = "00"
    match = re.search(r"[.,](\d{1,2})$", value)
    if match:
        decimals = match.group(1).ljust(2, "0")
        value = value[: match.start()]
    whole = re.sub(r"[.,](?=\d{3}(?:[.,]|$))", "", value)
    if not whole.isdigit():
        return None
    return int(whole) * 100 + int(decimals)


def swish_amount(amount_ore: int) -> str:
    """Kronor with two decimals and a decimal comma, no grouping (the C format's amount)."""
    return f"{amount_ore // 100},{amount_ore % 100:02d}"


def swish_payload(number: str, amount_ore: int, message: str) -> str:
    """What the Swish QR code holds: payee, amount and message fixed (lock mask 0)."""
    return f"C{number};{swish_amount(amount_ore)};{quote(message, safe='')};0"


def qr_svg(payload: str, title: str) -> bytes:
    """The QR code of `payload` as a standalone SVG document (no script, no style)."""
    code = segno.make(payload, error="m", micro=False)
    out = io.BytesIO()
    code.save(out, kind="svg", scale=6, border=4, xmldecl=True, title=title)
    return out.getvalue()
