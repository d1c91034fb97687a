"""The Swedish catalog is complete: every message in the code is in it, translated, not fuzzy."""

from pathlib import Path

import pytest
from babel.messages.frontend import CommandLineInterface
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
PO = ROOT / "translations" / "sv" / "LC_MESSAGES" / "messages.po"


def _catalog():
    with PO.open("rb") as f:
        return read_po(f)


def _untranslated(message) -> bool:
    if isinstance(message.string, tuple):
        return not all(message.string)
    return not message.string


def test_every_swedish_message_is_translated_and_not_fuzzy():
    bad = [m.id for m in _catalog() if m.id and (_untranslated(m) or m.fuzzy)]
    assert bad == []


@pytest.mark.sqlite_only
def test_every_message_in_the_code_is_in_the_catalog(tmp_path):
    pot = tmp_path / "messages.pot"
    CommandLineInterface().run(
        [
            "pybabel",
            "-q",
            "extract",
            "-F",
            str(ROOT / "babel.cfg"),
            "-k",
            "_l",
            "--no-location",
            "-o",
            str(pot),
            str(ROOT),
        ]
    )
    with pot.open("rb") as f:
        extracted = {m.id for m in read_po(f) if m.id}
    assert len(extracted) > 100, "extraction found (almost) nothing: check babel.cfg's paths"
    known = {m.id for m in _catalog() if m.id}
    missing = sorted(str(i) for i in extracted - known)
    assert missing == [], "run `flask translate update` and translate the new messages"


def test_placeholders_survive_translation():
    import re

    named = re.compile(r"%\((\w+)\)s")
    for message in _catalog():
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        wanted = set().union(*(named.findall(i) for i in ids))
        for string in strings:
            assert set(named.findall(string)) <= wanted, message.id
