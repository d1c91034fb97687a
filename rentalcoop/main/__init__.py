"""Site-wide pages: home and search, about the cooperative, health check."""

from flask import Blueprint

bp = Blueprint("main", __name__, template_folder="templates")

from rentalcoop.main import views  # noqa: E402, F401


@bp.app_context_processor
def inject_header_areas():
    """The district list for the header's search box, read only when a page shows it."""

    def header_areas():
        from sqlalchemy.exc import SQLAlchemyError

        from rentalcoop.listings.reads import area_rows

        try:
            return area_rows()  # read once per request: the search page's form shows them too
        except SQLAlchemyError:  # an error page must render even when the database is down
            return []

    return {"header_areas": header_areas}


@bp.app_template_global()
def home_url() -> str:
    """Where "home" is for the reader: the statistics for a municipality account (it may see
    nothing else, DESIGN §1), the start page for everyone else."""
    from flask import url_for
    from flask_login import current_user

    if current_user.is_authenticated and current_user.is_municipality:
        return url_for("stats.index")
    return url_for("main.index")
