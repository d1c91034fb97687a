"""Search result cards, written out by Python: the busiest markup of the busiest page.

Twenty cards through Jinja cost about 30 µs each (an attribute lookup, a call and an escape
per expression); the same markup joined here costs about 5. Every text is escaped exactly as
Jinja's autoescape (markupsafe) would, numbers are written as numbers, and the markup is the
one the template had (the search page's output was compared byte for byte).
Change the card here; `main/index.html` places it.
"""

from __future__ import annotations

from markupsafe import Markup

# What markupsafe.escape (Jinja's autoescape) does to a plain string, in one C call.
_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "'": "&#39;", '"': "&#34;"})


def _esc(value: str) -> str:
    return value.translate(_ESCAPES)


_CARD = (
    '<article class="card" id="listing-{id}" data-listing-id="{id}">\n'
    '  <a class="card__link" href="{href}">\n'
    '    <div class="card__image card__image--{kind}">\n'
    "      {image}\n"
    "    </div>\n"
    '    <div class="card__body">\n'
    '      <p class="card__meta">{area} · {kind_label}{instant}</p>\n'
    '      <h3 class="card__title">{title}</h3>\n'
    '      <p class="card__guests">{guests}</p>\n'
    "      {price}\n"
    "    </div>\n"
    "  </a>\n"
    "{save}</article>"
)
# A photo's sizes differ only in the variant before ".jpg" (`CardTexts.photo_prefix`).
_PHOTO = (
    '<img src="{photo}-m.jpg"\n'
    '     srcset="{photo}-s.jpg 400w, {photo}-m.jpg 800w, {photo}-l.jpg 1600w"\n'
    '     sizes="(max-width: 800px) 100vw, 33vw" alt="{alt}" loading="lazy"\n'
    '     width="{width}" height="{height}">'
)
_NO_PHOTO = '<span class="visually-hidden">{kind_label}</span>'
_INSTANT = ' · <span class="badge">{instant}</span>'
_TOTAL = (
    '\n      <p class="card__price card__total" data-total-ore="{total}"><strong>{money}</strong>'
    " {for_nights}</p>\n"
    '      <p class="card__fine">{fees}</p>\n'
    "      "
)
_NIGHTLY = '\n      <p class="card__price"><strong>{money}</strong> {per_night}</p>\n      '


_FIXED_PHRASES: dict[object, tuple] = {}


class CardTexts:
    """What every result card repeats, worked out once per page: translated phrases, district
    names, the link and photo address prefixes and the money formatter of the language.

    Twenty cards would otherwise ask Babel ~200 times and build ~100 URLs.
    """

    def __init__(
        self,
        area_names: dict[int, str],
        href_prefix: str,
        href_query: str,
        nights: int | None,
        photo_prefix: str = "",
    ) -> None:
        from flask_babel import get_translations, gettext

        from rentalcoop.i18n import current_language, money_formatter
        from rentalcoop.listings.models import PROPERTY_TYPE_LABELS

        # One catalog for the page; its fixed phrases are translated once per catalog.
        catalog = get_translations()
        fixed = _FIXED_PHRASES.get(catalog)
        if fixed is None:
            fixed = _FIXED_PHRASES[catalog] = (
                {str(k): str(v) for k, v in PROPERTY_TYPE_LABELS.items()},
                gettext("Instant book"),
                gettext("per night"),
                gettext("Cleaning and service fee included"),
            )
        self.area_names = area_names
        self.href_prefix = href_prefix
        self.href_query = href_query
        # A photo's address is `photo_prefix + token + "-" + variant + ".jpg"`.
        self.photo_prefix = photo_prefix
        self.money = money_formatter(current_language())
        self.types, self.instant, self.per_night, self.fees_included = fixed
        # As flask_babel.ngettext does it (`num` in the variables), without its lookups.
        self.ngettext = catalog.ungettext
        self.total_for_nights = (
            self.ngettext("in total for %(num)s night", "in total for %(num)s nights", nights)
            % {"num": nights}
            if nights
            else ""
        )
        self._guests: dict[int, str] = {}

    def guests(self, count: int) -> str:
        if count not in self._guests:
            self._guests[count] = self.ngettext(
                "Up to %(count)s guest", "Up to %(count)s guests", count
            ) % {"count": count, "num": count}
        return self._guests[count]

    def render(self, results, save=None) -> Markup:
        """The cards of `results` (a `search.Results`), one after another; `save(listing_id)`,
        given, writes each card's save button (rentalcoop/wishlists/cards.py)."""
        quotes, out = results.quotes, []
        # Escaped once per page: the phrases, prefixes, district and type names.
        instant = _INSTANT.format(instant=_esc(self.instant))
        for_nights, fees = _esc(self.total_for_nights), _esc(self.fees_included)
        per_night = _esc(self.per_night)
        href_prefix, href_query = _esc(self.href_prefix), _esc(self.href_query)
        photo_prefix = _esc(self.photo_prefix)
        areas = {area_id: _esc(name) for area_id, name in self.area_names.items()}
        kinds = {kind: _esc(label) for kind, label in self.types.items()}
        for row in results.listings:  # `search.CARD_COLUMNS` first
            listing_id, area_id, title, kind, max_guests, is_instant, nightly = row[:7]
            kind, kind_label = _esc(kind), kinds[kind]
            image = (
                _PHOTO.format(
                    photo=photo_prefix + _esc(row.token),
                    alt=_esc(row.alt_text),
                    width=int(row.width),
                    height=int(row.height),
                )
                if row.token is not None  # `search.COVER_COLUMNS`: NULL without a photo
                else _NO_PHOTO.format(kind_label=kind_label)
            )
            quote = quotes.get(listing_id)
            price = (
                _TOTAL.format(
                    total=int(quote.total_ore),
                    money=_esc(self.money(quote.total_ore)),
                    for_nights=for_nights,
                    fees=fees,
                )
                if quote
                else _NIGHTLY.format(money=_esc(self.money(nightly)), per_night=per_night)
            )
            out.append(
                _CARD.format(
                    id=int(listing_id),
                    href=f"{href_prefix}{int(listing_id)}{href_query}",
                    kind=kind,
                    image=image,
                    area=areas[area_id],
                    kind_label=kind_label,
                    instant=instant if is_instant else "",
                    title=_esc(title),
                    guests=_esc(self.guests(max_guests)),
                    price=price,
                    save=save(listing_id) if save is not None else "",
                )
            )
        return Markup("".join(out))  # noqa: S704 - every value above was escaped
