"""Listing pages for guests."""

from flask import abort, render_template

from rentalcoop.listings import bp, services


@bp.get("/listings/<int:listing_id>")
def show(listing_id: int):
    """One published listing."""
    listing = services.get_published_listing(listing_id) or abort(404)
    return render_template("listings/show.html", listing=listing)
