"""Payments: the provider interface (manual or Stripe), webhooks, refunds and host payouts."""

from flask import Blueprint

bp = Blueprint("payments", __name__, template_folder="templates")

# webhooks registers its job (retry-webhooks) on import.
from rentalcoop.payments import disputes, models, services, views, webhooks  # noqa: E402, F401
from rentalcoop.payments.manual import models as manual_models  # noqa: E402, F401
from rentalcoop.payments.manual import services as manual_services  # noqa: E402, F401
from rentalcoop.payments.manual import views as manual_views  # noqa: E402, F401


@bp.app_template_global()
def payment_processing(booking) -> bool:
    """Whether the booking's payment is a delayed one still on its way (shown instead of
    "waiting for payment")."""
    return services.is_payment_processing(booking)
