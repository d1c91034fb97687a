"""The municipality's view of the statistics releases."""

from flask import render_template

from rentalcoop.access import role_required
from rentalcoop.accounts.models import Role
from rentalcoop.stats import bp


@bp.get("/")
@role_required(Role.MUNICIPALITY, Role.BOARD)
def index():
    """The published releases (none until the first month is released)."""
    return render_template("stats/index.html", releases=[])
