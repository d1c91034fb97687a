"""The cooperative's identity (issue 16, build 3): its name, organisation number, address and
contact, and its privacy policy and terms in both languages, kept by the board; registration
records which terms version a person accepted."""

from flask import Blueprint

bp = Blueprint("identity", __name__, template_folder="templates")

from rentalcoop.identity import models, views  # noqa: E402, F401


@bp.app_context_processor
def inject_identity():
    """`coop_identity()` for the footer: one read per request, only when a page shows it."""

    def coop_identity():
        from flask import g
        from sqlalchemy.exc import SQLAlchemyError

        from rentalcoop.identity.services import profile

        if "_coop_identity" not in g:
            try:
                g._coop_identity = profile()
            except SQLAlchemyError:  # an error page must render even when the database is down
                g._coop_identity = None
        return g._coop_identity

    return {"coop_identity": coop_identity}
