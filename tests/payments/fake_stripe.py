"""An in-process Stripe for tests: a `stripe.HTTPClient` that records every request the real
`stripe` library makes and answers with JSON shaped like Stripe's, so nothing leaves the process.

It keeps just enough state for the flows rentalcoop uses (Checkout Sessions, PaymentIntents,
refunds, transfers and their reversals, connected accounts and account links) and replays the
first answer for a repeated `Idempotency-Key`, as Stripe does.
"""

from __future__ import annotations

import itertools
import json
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit

import stripe

API_BASE = "https://stripe.invalid"  # never resolves: a guard should anything bypass the fake


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    params: dict[str, str]

    @property
    def idempotency_key(self) -> str | None:
        return self.headers.get("Idempotency-Key")


@dataclass
class FakeStripe(stripe.HTTPClient):
    requests: list[Request] = field(default_factory=list)
    objects: dict[str, dict] = field(default_factory=dict)
    replies: dict[str, tuple[str, int]] = field(default_factory=dict)
    refund_status: str = "succeeded"
    fail_paths: set[str] = field(default_factory=set)
    name = "fake"

    def __post_init__(self):
        super().__init__()
        self._ids = itertools.count(1)

    # --- the HTTPClient interface ----------------------------------------------------------------

    def request(self, method, url, headers, post_data=None, *, _usage=None):
        parts = urlsplit(url)
        assert url.startswith(API_BASE), f"request to {url} would leave the test"
        body = post_data or parts.query or ""
        if isinstance(body, bytes):
            body = body.decode()
        req = Request(method.upper(), parts.path, dict(headers or {}), dict(parse_qsl(body)))
        self.requests.append(req)
        key = req.idempotency_key
        if key and key in self.replies:
            text, status = self.replies[key]
            return text, status, {"Request-Id": "req_replay", "Idempotent-Replayed": "true"}
        status, payload = self._answer(req)
        text = json.dumps(payload)
        if key and status < 500:
            self.replies[key] = (text, status)
        return text, status, {"Request-Id": f"req_{next(self._ids)}"}

    def close(self):
        pass

    # --- helpers for tests -----------------------------------------------------------------------

    def calls(self, method: str, path_prefix: str) -> list[Request]:
        return [r for r in self.requests if r.method == method and r.path.startswith(path_prefix)]

    def new_id(self, prefix: str) -> str:
        return f"{prefix}_test_{next(self._ids)}"

    def pay_session(self, session_id: str, *, method: str = "card", delayed: bool = False) -> dict:
        """The guest pays: the session completes with a PaymentIntent and its charge. A
        delayed method (a bank debit) completes the session unpaid, the money on its way."""
        session = self.objects[session_id]
        intent_id = self.new_id("pi")
        charge_id = self.new_id("ch")
        self.objects[intent_id] = {
            "id": intent_id,
            "object": "payment_intent",
            "amount": session["amount_total"],
            "currency": "sek",
            "status": "processing" if delayed else "succeeded",
            "latest_charge": charge_id,
            "transfer_group": session["_transfer_group"],
            "payment_method_types": [method],
        }
        self.objects[charge_id] = {
            "id": charge_id,
            "object": "charge",
            "amount": session["amount_total"],
            "amount_refunded": 0,
            "payment_intent": intent_id,
            "refunded": False,
            "status": "pending" if delayed else "succeeded",
            "payment_method_details": {"type": method},
        }
        session.update(
            status="complete",
            payment_status="unpaid" if delayed else "paid",
            payment_intent=intent_id,
        )
        return self.public(session_id)

    def settle_delayed(self, session_id: str, *, succeeded: bool = True) -> dict:
        """The bank's answer to a delayed payment."""
        session = self.objects[session_id]
        intent = self.objects[session["payment_intent"]]
        intent["status"] = "succeeded" if succeeded else "requires_payment_method"
        self.objects[intent["latest_charge"]]["status"] = "succeeded" if succeeded else "failed"
        if succeeded:
            session["payment_status"] = "paid"
        return self.public(session_id)

    def charge_of_session(self, session_id: str) -> dict:
        intent = self.objects[self.objects[session_id]["payment_intent"]]
        return self.public(intent["latest_charge"])

    def dispute(self, session_id: str, *, status="needs_response", amount=None, fee=20_000):
        """A dispute of the session's charge, as `charge.dispute.*` events carry it."""
        charge = self.charge_of_session(session_id)
        amount = charge["amount"] if amount is None else amount
        withdrawn = {"object": "balance_transaction", "amount": -amount, "fee": fee}
        transactions = [withdrawn]
        if status == "won":
            transactions.append({"object": "balance_transaction", "amount": amount, "fee": -fee})
        return {
            "id": f"dp_{charge['id']}",
            "object": "dispute",
            "amount": amount,
            "currency": "sek",
            "charge": charge["id"],
            "payment_intent": charge["payment_intent"],
            "reason": "product_not_received",
            "status": status,
            "balance_transactions": transactions,
        }

    def public(self, object_id: str) -> dict:
        return {k: v for k, v in self.objects[object_id].items() if not k.startswith("_")}

    # --- Stripe's answers ------------------------------------------------------------------------

    def _answer(self, req: Request) -> tuple[int, dict]:
        if req.path in self.fail_paths:
            return 500, _error("api_error", "Something went wrong on Stripe's end.")
        p = req.params
        segments = req.path.strip("/").split("/")
        if req.method == "POST" and req.path == "/v1/checkout/sessions":
            session_id = self.new_id("cs")
            self.objects[session_id] = {
                "id": session_id,
                "object": "checkout.session",
                "url": f"https://checkout.stripe.test/c/pay/{session_id}",
                "amount_total": int(p["line_items[0][price_data][unit_amount]"]),
                "currency": p["line_items[0][price_data][currency]"],
                "expires_at": int(p["expires_at"]),
                "client_reference_id": p.get("client_reference_id"),
                "metadata": {"booking_id": p["metadata[booking_id]"]},
                "mode": "payment",
                "payment_intent": None,
                "payment_status": "unpaid",
                "status": "open",
                "locale": p.get("locale"),
                "payment_method_types": [
                    v for k, v in sorted(p.items()) if k.startswith("allowed_payment_method_types[")
                ]
                or ["card"],
                "_transfer_group": p.get("payment_intent_data[transfer_group]"),
            }
            return 200, self.public(session_id)
        if req.method == "GET" and segments[:2] == ["v1", "payment_intents"]:
            return self._get(segments[2])
        if req.method == "POST" and req.path == "/v1/refunds":
            intent = self.objects.get(p.get("payment_intent", ""))
            if intent is None:
                return 404, _error("invalid_request_error", "No such payment_intent")
            charge = self.objects[intent["latest_charge"]]
            amount = int(p.get("amount", charge["amount"]))
            if charge["amount_refunded"] + amount > charge["amount"]:
                return 400, _error("invalid_request_error", "Refund exceeds the charge")
            charge["amount_refunded"] += amount
            refund_id = self.new_id("re")
            self.objects[refund_id] = {
                "id": refund_id,
                "object": "refund",
                "amount": amount,
                "charge": charge["id"],
                "payment_intent": intent["id"],
                "status": self.refund_status,
                "currency": "sek",
            }
            return 200, self.public(refund_id)
        if req.method == "POST" and req.path == "/v1/transfers":
            transfer_id = self.new_id("tr")
            self.objects[transfer_id] = {
                "id": transfer_id,
                "object": "transfer",
                "amount": int(p["amount"]),
                "amount_reversed": 0,
                "currency": p["currency"],
                "destination": p["destination"],
                "transfer_group": p.get("transfer_group"),
                "source_transaction": p.get("source_transaction"),
                "reversed": False,
            }
            return 200, self.public(transfer_id)
        if req.method == "POST" and segments[:2] == ["v1", "transfers"] and len(segments) == 4:
            transfer = self.objects.get(segments[2])
            if transfer is None:
                return 404, _error("invalid_request_error", "No such transfer")
            amount = int(p.get("amount", transfer["amount"] - transfer["amount_reversed"]))
            if transfer["amount_reversed"] + amount > transfer["amount"]:
                return 400, _error("invalid_request_error", "Reversal exceeds the transfer")
            transfer["amount_reversed"] += amount
            reversal_id = self.new_id("trr")
            self.objects[reversal_id] = {
                "id": reversal_id,
                "object": "transfer_reversal",
                "amount": amount,
                "transfer": transfer["id"],
                "currency": "sek",
            }
            return 200, self.public(reversal_id)
        if req.method == "POST" and req.path == "/v1/accounts":
            account_id = self.new_id("acct")
            self.objects[account_id] = {
                "id": account_id,
                "object": "account",
                "country": p.get("country"),
                "email": p.get("email"),
                "details_submitted": False,
                "charges_enabled": False,
                "payouts_enabled": False,
            }
            return 200, self.public(account_id)
        if req.method == "GET" and segments[:2] == ["v1", "accounts"]:
            return self._get(segments[2])
        if req.method == "POST" and req.path == "/v1/account_links":
            return 200, {
                "object": "account_link",
                "url": f"https://connect.stripe.test/setup/e/{p['account']}/{next(self._ids)}",
                "created": int(time.time()),
                "expires_at": int(time.time()) + 300,
            }
        return 404, _error("invalid_request_error", f"Unrecognized request URL ({req.path})")

    def _get(self, object_id: str) -> tuple[int, dict]:
        if object_id not in self.objects:
            return 404, _error("invalid_request_error", f"No such object: {object_id}")
        return 200, self.public(object_id)


def _error(kind: str, message: str) -> dict:
    return {"error": {"type": kind, "message": message}}


def event(event_type: str, obj: dict, *, event_id: str | None = None, account=None) -> str:
    """A webhook body as Stripe sends it."""
    body = {
        "id": event_id or f"evt_{abs(hash((event_type, json.dumps(obj, sort_keys=True))))}",
        "object": "event",
        "api_version": "2026-10-28.endive",
        "created": int(time.time()),
        "type": event_type,
        "livemode": False,
        "pending_webhooks": 1,
        "data": {"object": obj},
    }
    if account:
        body["account"] = account
    return json.dumps(body)


def signature(payload: str, secret: str) -> str:
    return stripe.WebhookSignature.generate_signature_header(payload, secret)
