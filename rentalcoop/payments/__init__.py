"""Payments: the provider interface (manual or Stripe), webhooks, refunds and host payouts."""

from flask import Blueprint

bp = Blueprint("payments", __name__, template_folder="templates")

from rentalcoop.payments import models, services, views  # noqa: E402, F401
