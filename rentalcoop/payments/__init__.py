"""Payments: the provider interface (manual or Stripe), webhooks, refunds and host payouts."""

from flask import Blueprint

bp = Blueprint("payments", __name__, template_folder="templates")

from rentalcoop.payments import models, services, views  # noqa: E402, F401
from rentalcoop.payments.manual import models as manual_models  # noqa: E402, F401
from rentalcoop.payments.manual import services as manual_services  # noqa: E402, F401
from rentalcoop.payments.manual import views as manual_views  # noqa: E402, F401
