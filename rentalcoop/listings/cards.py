"""Search result cards, written out by Python: the busiest markup of the busiest page.

Twenty cards through Jinja cost about 30 µs each (an attribute lookup, a call and an escape
per expression); the same markup joined here costs a few. Every value is escaped exactly as
Jinja's autoescape would, and the markup is the one the template had (tests compare pages).
Change the card here; `main/index.html` places it.
"""

from __future__ import annotations

from markupsafe import Markup, escape

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
    "</article>"
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
        from flask_babel import gettext, ngettext

        from rentalcoop.i18n import current_language, money_formatter
        from rentalcoop.listings.models import PROPERTY_TYPE_LABELS

        self.area_names = area_names
        self.href_prefix = href_prefix
        self.href_query = href_query
        # A photo's address is `photo_prefix + token + "-" + variant + ".jpg"`.
        self.photo_prefix = photo_prefix
        self.money = money_formatter(current_language())
        self.types = {str(k): str(v) for k, v in PROPERTY_TYPE_LABELS.items()}
        self.instant = gettext("Instant book")
        self.per_night = gettext("per night")
        self.fees_included = gettext("Cleaning and service fee included")
        self.total_for_nights = (
            ngettext("in total for %(num)s night", "in total for %(num)s nights", nights)
            if nights
            else ""
        )
        self._guests: dict[int, str] = {}
        self._ngettext = ngettext

    def guests(self, count: int) -> str:
        if count not in self._guests:
            self._guests[count] = self._ngettext(
                "Up to %(count)s guest", "Up to %(count)s guests", count, count=count
            )
        return self._guests[count]

    def render(self, results) -> Markup:
        """The cards of `results` (a `search.Results`), one after another."""
        covers, quotes, out = results.covers, results.quotes, []
        instant = _INSTANT.format(instant=escape(self.instant))
        for listing in results.listings:
            kind_label = escape(self.types[listing.property_type])
            cover = covers.get(listing.id)
            image = (
                _PHOTO.format(
                    photo=escape(self.photo_prefix + cover.token),
                    alt=escape(cover.alt_text),
                    width=escape(cover.width),
                    height=escape(cover.height),
                )
                if cover
                else _NO_PHOTO.format(kind_label=kind_label)
            )
            quote = quotes.get(listing.id)
            price = (
                _TOTAL.format(
                    total=escape(quote.total_ore),
                    money=escape(self.money(quote.total_ore)),
                    for_nights=escape(self.total_for_nights),
                    fees=escape(self.fees_included),
                )
                if quote
                else _NIGHTLY.format(
                    money=escape(self.money(listing.nightly_price_ore)),
                    per_night=escape(self.per_night),
                )
            )
            out.append(
                _CARD.format(
                    id=escape(listing.id),
                    href=escape(f"{self.href_prefix}{listing.id}{self.href_query}"),
                    kind=escape(listing.property_type),
                    image=image,
                    area=escape(self.area_names[listing.area_id]),
                    kind_label=kind_label,
                    instant=instant if listing.is_instant_book else "",
                    title=escape(listing.title),
                    guests=escape(self.guests(listing.max_guests)),
                    price=price,
                )
            )
        return Markup("".join(out))  # noqa: S704 - every value above went through escape()
