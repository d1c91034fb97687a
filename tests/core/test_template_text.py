"""No interface text is written into a template past the catalog (issue 16): every word a
person reads — between tags, or in alt/title/placeholder/aria-label attributes — comes from
`_()` / `{% trans %}`, so the Swedish page cannot show English a translator never saw.
The crawl (tests/crawl) catches the other way English leaks: a lookup the catalog lacks."""

from __future__ import annotations

import re
from pathlib import Path

from jinja2 import Environment
from jinja2.ext import i18n

ROOT = Path(__file__).resolve().parents[2] / "rentalcoop"
# Words that are the same in every language: the name, units and file formats.
ALLOWED = {"rentalcoop", "CSV", "JSON", "iCal", "SEK", "kr", "SV", "EN", "AGPL"}
WORD = re.compile(r"[A-Za-zÅÄÖåäö]{2,}")
READ_ATTRS = re.compile(r'\b(?:alt|title|placeholder|aria-label)="([^"{]*)"')


def _literal_text(source: str) -> str:
    """The template with every Jinja tag, expression and trans block replaced by a space, so
    what is left is the literal HTML a person would read."""
    env = Environment(extensions=[i18n])  # noqa: S701 - only lexing
    parts, in_trans = [], 0
    tokens = list(env.lex(source))
    for n, (_line, kind, value) in enumerate(tokens):
        if kind == "name" and value == "trans" and tokens[n - 2][1] == "block_begin":
            in_trans += 1
        elif kind == "name" and value == "endtrans":
            in_trans -= 1
        parts.append(value if kind == "data" and not in_trans else " ")
    return "".join(parts)


def _words(html: str) -> list[str]:
    found = READ_ATTRS.findall(html)
    text = re.sub(r"<!--.*?-->", " ", html, flags=re.S)
    text = re.sub(r"<(script|style)\b.*?</\1>", " ", text, flags=re.S)
    text = re.sub(r"<[^>]*>", " ", text)
    text = re.sub(r"&\w+;", " ", text)
    found.append(text)
    return [w for part in found for w in WORD.findall(part) if w not in ALLOWED]


def test_templates_hold_no_untranslated_interface_text():
    offenders = {}
    for path in sorted(ROOT.rglob("templates/**/*.html")):
        if "/mail/" in path.as_posix():
            continue  # mail templates are rendered under the recipient's locale and checked there
        words = _words(_literal_text(path.read_text("utf-8")))
        if words:
            offenders[str(path.relative_to(ROOT))] = sorted(set(words))
    assert not offenders, offenders


def test_the_check_sees_literal_words_and_ignores_translated_ones():
    source = (
        '<p class="x" id="{{ a }}">Hello {{ _("Hi") }}</p><img alt="A house" src="{{ u }}">'
        '{% trans %}Inside a block{% endtrans %}<a href="{{ h }}" title="{{ _("T") }}">CSV</a>'
    )
    assert sorted(_words(_literal_text(source))) == ["Hello", "house"]
