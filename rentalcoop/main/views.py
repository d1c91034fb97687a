"""Home and search, about and health."""

from urllib.parse import urlencode

from flask import jsonify, render_template, request, url_for
from flask_babel import get_translations
from sqlalchemy import text
from wtforms.fields.choices import SelectChoice

from rentalcoop.extensions import db
from rentalcoop.i18n import _
from rentalcoop.listings import district_map as district_maps
from rentalcoop.listings.cards import CardTexts
from rentalcoop.listings.reads import area_rows
from rentalcoop.listings.search import Criteria, Sort, search
from rentalcoop.main import bp
from rentalcoop.main.forms import SearchForm


def _query_without(*names: str) -> dict:
    return {k: v for k, v in request.args.items() if k not in names and v != ""}


# The search form's labels and fixed choices, translated once per catalog. They are constant
# (class-level lazy strings); resolving each through Flask-Babel cost ≈ 10 µs, 18 a page.
_FORM_TEXTS: dict[object, dict] = {}
_LABELLED = ("area", "check_in", "check_out", "guests", "min_price", "max_price")
_LABELLED += ("property_type", "instant", "sort")


def _form_texts(form: SearchForm) -> dict:
    catalog = get_translations()
    texts = _FORM_TEXTS.get(catalog)
    if texts is None:
        texts = _FORM_TEXTS[catalog] = {
            "labels": {name: str(form[name].label.text) for name in _LABELLED},
            "anywhere": _("Anywhere in town"),
            "property_types": [(c.value, str(c.label)) for c in form.property_type.choices],
            "sort_choices": [(c.value, str(c.label)) for c in form.sort.choices],
        }
    return texts


@bp.get("/")
def index():
    """The search page: published homes free for the whole stay, with the all-in price."""
    areas = area_rows()
    form = SearchForm(request.args)
    texts = _form_texts(form)
    form.area.choices = [SelectChoice("", texts["anywhere"])] + [
        SelectChoice(a.code, a.name) for a in areas
    ]
    valid = form.validate()
    area_ids = {a.code: a.id for a in areas}
    criteria = Criteria()
    if valid:
        criteria = Criteria(
            area_id=area_ids.get(form.area.data or ""),
            check_in=form.check_in.data if form.has_stay else None,
            check_out=form.check_out.data if form.has_stay else None,
            guests=form.guests.data,
            min_price_ore=form.min_price.data,
            max_price_ore=form.max_price.data,
            property_type=form.property_type.data or None,
            instant_only=bool(form.instant.data),
            sort=Sort(form.sort.data or Sort.PRICE),
            page=form.page.data or 1,
        )
    results = search(criteria)
    status = 200 if valid else 422
    stay = (
        {
            "check_in": criteria.check_in,
            "check_out": criteria.check_out,
            "guests": criteria.guests or 1,
        }
        if criteria.has_stay
        else {}
    )
    # One url_for for all cards: the listing id is the path's last part.
    prefix = url_for("listings.show", listing_id=0).removesuffix("0")
    # And one for all photos: `<prefix><token>-<variant>.jpg`.
    token = "0" * 32
    photo_prefix = url_for("listings.photo_file", token=token, variant="s").removesuffix(
        f"{token}-s.jpg"
    )
    from rentalcoop.wishlists.cards import save_buttons  # wishlists imports listings, main

    cards = CardTexts(
        {a.id: a.name for a in areas},
        prefix,
        "?" + urlencode(stay) if stay else "",
        (criteria.check_out - criteria.check_in).days if criteria.has_stay else None,
        photo_prefix,
    )
    return render_template(
        "main/index.html",
        form=form,
        results=results,
        criteria=criteria,
        areas=areas,
        result_cards=cards.render(results, save_buttons([row[0] for row in results.listings])),
        labels=texts["labels"],
        anywhere=texts["anywhere"],
        property_types=texts["property_types"],
        sort_choices=texts["sort_choices"],
        page_args=_query_without("page", "lang"),
        district_map=district_maps.district_map(areas),
        map_tiles=district_maps.tiles(),
        current_area=form.area.data if valid else None,
    ), status


@bp.get("/about")
def about():
    """What the cooperative is, how the money works and what the community fund does."""
    return render_template("main/about.html")


@bp.get("/healthz")
def healthz():
    """For load balancers and uptime checks: is the app up and can it reach its database?"""
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:  # noqa: BLE001 - any failure means "not healthy"
        db.session.rollback()
        return jsonify(status="error", database="unreachable"), 503
    return jsonify(status="ok", database="ok")
