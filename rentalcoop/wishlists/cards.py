"""The search cards' save buttons, written out by Python like the cards themselves
(rentalcoop/listings/cards.py): the same markup as wishlists/_save_button.html."""

from __future__ import annotations

from collections.abc import Callable

from flask import request, url_for
from flask_babel import gettext
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from markupsafe import escape

from rentalcoop.wishlists import services

_BUTTON = (
    '  <form class="save-form" method="post" action="{action}">\n'
    '    <input type="hidden" name="csrf_token" value="{token}">\n'
    '    <input type="hidden" name="next" value="{next}">\n'
    '    <button type="submit" class="save-button{modifier}" aria-pressed="{pressed}">'
    "{label}</button>\n"
    "  </form>\n"
)


def save_buttons(listing_ids) -> Callable[[int], str] | None:
    """A writer of each card's button for the signed-in person (one query for which homes
    they saved), or None for someone who cannot save."""
    if not current_user.is_authenticated or current_user.is_municipality:
        return None
    saved = services.saved_among(current_user.id, listing_ids)
    token = escape(generate_csrf())
    back = escape(request.full_path.rstrip("?"))
    save_prefix = url_for("wishlists.save", listing_id=0).removesuffix("0")
    unsave_action = url_for("wishlists.unsave", listing_id=0)
    unsave_prefix, unsave_suffix = unsave_action.split("/0/")
    labels = {True: escape(gettext("Saved")), False: escape(gettext("Save"))}

    def button(listing_id: int) -> str:
        is_saved = listing_id in saved
        action = (
            f"{unsave_prefix}/{int(listing_id)}/{unsave_suffix}"
            if is_saved
            else f"{save_prefix}{int(listing_id)}"
        )
        return _BUTTON.format(
            action=action,
            token=token,
            next=back,
            modifier=" save-button--saved" if is_saved else "",
            pressed="true" if is_saved else "false",
            label=labels[is_saved],
        )

    return button
