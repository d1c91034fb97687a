"""Payment providers (DESIGN §7): who moves the money, behind one small interface.

`manual` (the default, no keys): the guest pays the cooperative by bank giro or Swish, the board
marks the booking paid, and refunds and payouts are recorded as owed until the board marks them
done. `stripe`: **separate charges and transfers** — the guest pays the cooperative through a
Checkout Session, and 24 h after check-in a transfer pays the host's connected account.

Providers only talk to the outside world; the rules (which payout, how much, when) live in
`rentalcoop.payments.services`. Every Stripe call carries an idempotency key derived from the
booking, so a repeated call (a retry, two job runners, a crash before our commit) returns what
the first one did instead of moving money twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Protocol

import stripe
from flask import current_app

if TYPE_CHECKING:
    from rentalcoop.accounts.models import User
    from rentalcoop.bookings.models import Booking
    from rentalcoop.payments.models import HostPaymentAccount, Payment, Payout, Refund

log = logging.getLogger("rentalcoop.payments")

CURRENCY = "sek"  # öre is the minor unit Stripe counts in
# Stripe accepts `expires_at` 30 min to 24 h after it creates the session, measured on its own
# clock: a minute of margin keeps request latency and clock skew from making it 29:59.
CHECKOUT_LIFETIME = timedelta(minutes=31)
# What a Swedish guest expects to pay with (`STRIPE_PAYMENT_METHODS` overrides; empty = every
# method turned on in the dashboard).
PAYMENT_METHODS = ("card", "klarna", "swish")


class ProviderName:
    MANUAL = "manual"
    STRIPE = "stripe"


@dataclass(frozen=True, slots=True)
class Checkout:
    """A started checkout: where to send the guest, the provider's reference, when it lapses."""

    url: str
    ref: str | None = None
    expires_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Sent:
    """The provider's answer to a refund, transfer or reversal.

    `ref` is None when nothing was sent (manual: the board does it by hand); `is_done` says the
    money has moved, not merely that the request was accepted.
    """

    ref: str | None
    is_done: bool


@dataclass(frozen=True, slots=True)
class AccountStatus:
    account_id: str
    details_submitted: bool
    charges_enabled: bool
    payouts_enabled: bool


class PaymentProvider(Protocol):
    """What the rest of the application asks of a payment provider."""

    name: str
    #: True when refunds and payouts go through the provider's API (False: the board pays).
    is_automatic: bool

    def create_checkout_session(
        self, booking: Booking, payment: Payment, *, attempt: int, success_url: str, cancel_url: str
    ) -> Checkout:
        """Open a provider checkout for the booking's total; `payment` is the attempt's row."""

    def refund(self, booking: Booking, payment: Payment, refund: Refund) -> Sent:
        """Give `refund.amount_ore` back to the guest."""

    def transfer_payout(self, payout: Payout, payment: Payment, account_id: str | None) -> Sent:
        """Pay a host their payout."""

    def reverse_payout(self, payout: Payout, amount_ore: int, *, key: str | None = None) -> Sent:
        """Take part of a paid payout back from the host (`key`: the idempotency key, when it
        is not the refund's)."""

    def send_transfer(
        self, payout: Payout, account_id: str | None, amount_ore: int, *, key: str
    ) -> Sent:
        """Pay a host an amount other than their payout (what a won dispute gives back)."""

    def onboarding_link(
        self, host: User, account: HostPaymentAccount | None, return_url: str, refresh_url: str
    ) -> tuple[str, str]:
        """A link where the host sets up payouts, and the account id it belongs to."""

    def account_status(self, account_id: str) -> AccountStatus:
        """The connected account's current flags."""


class ProviderError(Exception):
    """The provider refused or could not be reached; the message is for the log, not users."""


class ManualProvider:
    """No keys, no API: the cooperative's board moves the money and records it here."""

    name = ProviderName.MANUAL
    is_automatic = False

    def create_checkout_session(self, booking, payment, *, attempt, success_url, cancel_url):
        raise ProviderError("the manual provider has no checkout sessions")

    def refund(self, booking, payment, refund) -> Sent:
        return Sent(ref=None, is_done=False)

    def transfer_payout(self, payout, payment, account_id) -> Sent:
        return Sent(ref=None, is_done=False)

    def reverse_payout(self, payout, amount_ore, *, key=None) -> Sent:
        return Sent(ref=None, is_done=False)

    def send_transfer(self, payout, account_id, amount_ore, *, key) -> Sent:
        return Sent(ref=None, is_done=False)

    def onboarding_link(self, host, account, return_url, refresh_url) -> tuple[str, str]:
        raise ProviderError("the manual provider has no onboarding")

    def account_status(self, account_id) -> AccountStatus:
        raise ProviderError("the manual provider has no connected accounts")


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


class StripeProvider:
    """Stripe Connect with separate charges and transfers, through one `StripeClient`."""

    name = ProviderName.STRIPE
    is_automatic = True

    def __init__(
        self,
        api_key: str,
        *,
        http_client: stripe.HTTPClient | None = None,
        api_base: str | None = None,
        max_network_retries: int = 2,
        connect_country: str = "SE",
        payment_methods: tuple[str, ...] | None = PAYMENT_METHODS,
        clock=None,
    ):
        base_addresses = {"api": api_base} if api_base else None
        self.client = stripe.StripeClient(
            api_key,
            http_client=http_client,
            base_addresses=base_addresses,
            max_network_retries=max_network_retries,
        )
        self.connect_country = connect_country
        self.payment_methods = tuple(payment_methods or ())
        self._clock = clock or (lambda: datetime.now(UTC))

    # --- Guest payments -------------------------------------------------------------------------

    def create_checkout_session(
        self, booking, payment, *, attempt, success_url, cancel_url
    ) -> Checkout:
        expires_at = self._clock() + CHECKOUT_LIFETIME
        params = {
            "mode": "payment",
            "line_items": [
                {
                    "quantity": 1,
                    "price_data": {
                        "currency": CURRENCY,
                        "unit_amount": booking.total_ore,
                        "product_data": {
                            "name": f"{booking.listing.title} ({booking.code})",
                        },
                    },
                }
            ],
            "payment_intent_data": {
                # Separate charges and transfers: the payout transfer joins this group later.
                "transfer_group": transfer_group(booking),
                "metadata": {"booking_id": str(booking.id)},
            },
            "metadata": {"booking_id": str(booking.id), "payment_id": str(payment.id)},
            "client_reference_id": str(booking.id),
            "success_url": success_url,
            "cancel_url": cancel_url,
            "expires_at": _epoch(expires_at),
            "locale": booking.guest.locale if booking.guest.locale in ("sv", "en") else "auto",
            # Swish shows this in the guest's app, the booking code they also see here.
            "payment_method_options": {"swish": {"reference": booking.code}},
        }
        if self.payment_methods:
            # A filter on the methods the dashboard has turned on (not a fixed list): one not
            # yet activated is left out instead of making every Checkout fail. API version
            # 2026-09-30.endive removed `payment_method_types` from Checkout (docs/payments.md).
            params["allowed_payment_method_types"] = list(self.payment_methods)
        if booking.guest.email:
            params["customer_email"] = booking.guest.email
        session = self._call(
            self.client.v1.checkout.sessions.create,
            params,
            key=f"checkout-booking-{booking.id}-{attempt}",
        )
        return Checkout(
            url=session.url,
            ref=session.id,
            expires_at=datetime.fromtimestamp(session.expires_at, UTC),
        )

    def refund(self, booking, payment, refund) -> Sent:
        if not payment.payment_ref:
            raise ProviderError(f"booking {booking.id}: no PaymentIntent to refund")
        result = self._call(
            self.client.v1.refunds.create,
            {
                "payment_intent": payment.payment_ref,
                "amount": refund.amount_ore,
                "reason": "requested_by_customer",
                "metadata": {"booking_id": str(booking.id), "refund_id": str(refund.id)},
            },
            key=f"refund-booking-{booking.id}",
        )
        return Sent(ref=result.id, is_done=result.status == "succeeded")

    # --- Host payouts -----------------------------------------------------------------------------

    def charge_of(self, payment: Payment) -> str:
        """The Charge behind a paid Checkout Session (the transfer's `source_transaction`)."""
        if payment.charge_ref:
            return payment.charge_ref
        if not payment.payment_ref:
            raise ProviderError(f"payment {payment.id} has no PaymentIntent")
        intent = self._call(self.client.v1.payment_intents.retrieve, payment.payment_ref)
        charge = intent.latest_charge
        charge_id = charge if isinstance(charge, str) or charge is None else charge.id
        if not charge_id:
            raise ProviderError(f"PaymentIntent {payment.payment_ref} has no charge")
        return charge_id

    def transfer_payout(self, payout, payment, account_id) -> Sent:
        if not account_id:
            raise ProviderError(f"payout {payout.id}: the host has no connected account")
        booking = payout.booking
        charge = payment.charge_ref = self.charge_of(payment)
        transfer = self._call(
            self.client.v1.transfers.create,
            {
                "amount": payout.amount_ore,
                "currency": CURRENCY,
                "destination": account_id,
                "transfer_group": transfer_group(booking),
                # Ties the transfer to the guest's charge: no `balance_insufficient` while the
                # charge's funds are still pending.
                "source_transaction": charge,
                "metadata": {"booking_id": str(booking.id), "payout_id": str(payout.id)},
            },
            key=f"payout-booking-{booking.id}",
        )
        return Sent(ref=transfer.id, is_done=True)

    def reverse_payout(self, payout, amount_ore, *, key=None) -> Sent:
        if not payout.provider_ref:
            raise ProviderError(f"payout {payout.id} has no transfer to reverse")
        reversal = self._call(
            self.client.v1.transfers.reversals.create,
            payout.provider_ref,
            {
                "amount": amount_ore,
                "metadata": {"booking_id": str(payout.booking_id), "payout_id": str(payout.id)},
            },
            key=key or f"payout-reversal-booking-{payout.booking_id}",
        )
        return Sent(ref=reversal.id, is_done=True)

    def send_transfer(self, payout, account_id, amount_ore, *, key) -> Sent:
        if not account_id:
            raise ProviderError(f"payout {payout.id}: the host has no connected account")
        transfer = self._call(
            self.client.v1.transfers.create,
            {
                "amount": amount_ore,
                "currency": CURRENCY,
                "destination": account_id,
                "transfer_group": transfer_group(payout.booking),
                "metadata": {"booking_id": str(payout.booking_id), "payout_id": str(payout.id)},
            },
            key=key,
        )
        return Sent(ref=transfer.id, is_done=True)

    # --- Host onboarding (AccountLinks) ------------------------------------------------------

    def onboarding_link(self, host, account, return_url, refresh_url) -> tuple[str, str]:
        if account is None:
            # Express-like: Stripe-hosted onboarding and dashboard, the platform carries losses
            # (separate charges and transfers make the cooperative merchant of record anyway).
            created = self._call(
                self.client.v1.accounts.create,
                {
                    "country": self.connect_country,
                    "email": host.email,
                    "controller": {
                        "stripe_dashboard": {"type": "express"},
                        "fees": {"payer": "application"},
                        "losses": {"payments": "application"},
                    },
                    # Hosts never take payments themselves (the coop is merchant of
                    # record), so `transfers` alone under the recipient service agreement:
                    # Stripe allows no `card_payments` under it, and requires `card_payments`
                    # with `transfers` under the full one (README, "Connect").
                    "capabilities": {"transfers": {"requested": True}},
                    "tos_acceptance": {"service_agreement": "recipient"},
                    "metadata": {"user_id": str(host.id)},
                },
                key=f"account-host-{host.id}",
            )
            account_id = created.id
        else:
            account_id = account.stripe_account_id
        link = self._call(
            self.client.v1.account_links.create,
            {
                "account": account_id,
                "type": "account_onboarding",
                "return_url": return_url,
                "refresh_url": refresh_url,
            },
        )
        return link.url, account_id

    def account_status(self, account_id) -> AccountStatus:
        return account_status_of(self._call(self.client.v1.accounts.retrieve, account_id))

    # --- Plumbing -------------------------------------------------------------------------------

    def _call(self, method, *args, key: str | None = None):
        options = {"idempotency_key": key} if key else None
        try:
            if options:
                return method(*args, options=options)
            return method(*args)
        except stripe.StripeError as err:
            log.warning(
                "stripe %s failed: %s %s", key or method.__qualname__, type(err).__name__, err
            )
            raise ProviderError(f"{type(err).__name__}: {err.user_message or err}") from err


def account_status_of(account) -> AccountStatus:
    """The flags of a Stripe Account object (from the API or an `account.updated` event)."""
    return AccountStatus(
        account_id=account.id,
        details_submitted=bool(getattr(account, "details_submitted", False)),
        charges_enabled=bool(getattr(account, "charges_enabled", False)),
        payouts_enabled=bool(getattr(account, "payouts_enabled", False)),
    )


def transfer_group(booking: Booking) -> str:
    return f"booking-{booking.id}"


def get_provider() -> PaymentProvider:
    """The provider `PAYMENT_PROVIDER` names, built once per application."""
    config = current_app.config
    name = config.get("PAYMENT_PROVIDER") or ProviderName.MANUAL
    cached = current_app.extensions.get("rentalcoop_payment_provider")
    if cached is not None and cached.name == name:
        return cached
    if name == ProviderName.MANUAL:
        provider: PaymentProvider = ManualProvider()
    elif name == ProviderName.STRIPE:
        if not config.get("STRIPE_SECRET_KEY"):
            raise RuntimeError("PAYMENT_PROVIDER=stripe needs STRIPE_SECRET_KEY")
        provider = StripeProvider(
            config["STRIPE_SECRET_KEY"],
            http_client=config.get("STRIPE_HTTP_CLIENT"),
            api_base=config.get("STRIPE_API_BASE"),
            max_network_retries=config.get("STRIPE_MAX_NETWORK_RETRIES", 2),
            connect_country=config.get("STRIPE_CONNECT_COUNTRY", "SE"),
            payment_methods=_methods(config.get("STRIPE_PAYMENT_METHODS", PAYMENT_METHODS)),
        )
    else:
        raise RuntimeError(f"unknown PAYMENT_PROVIDER {name!r}: use 'manual' or 'stripe'")
    current_app.extensions["rentalcoop_payment_provider"] = provider
    return provider


def _methods(value) -> tuple[str, ...]:
    """`STRIPE_PAYMENT_METHODS` as a tuple: a list, or a comma-separated string."""
    if isinstance(value, str):
        value = value.split(",")
    return tuple(method.strip() for method in value or () if method.strip())
