"""Rules of paying the cooperative directly. Services flush; the caller commits.

Holds per method (the booking's `expires_at` is the hold; the expiry job reads nothing else):
- **Swish** arrives in seconds: choosing it keeps the hold, or gives `SWISH_HOLD_MINUTES`
  (30) from the choice when less is left.
- **Bank giro** arrives the bank day after the guest pays it (Bankgirot): the hold runs to the
  end of the N-th *bank day* after the day of the choice (N: the board's setting, else
  `BANKGIRO_HOLD_DAYS`, 3), Stockholm time. Bank days are Monday to Friday except Swedish bank
  holidays. A stay that begins before that end cannot be paid by bank giro.
- A choice extends the hold once: bank giro, once chosen, stays the method (the guest may still
  pay by Swish; the hold does not shrink), so choosing again never buys more time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import select

from rentalcoop import outbox
from rentalcoop.accounts.models import User
from rentalcoop.bookings.models import Booking, BookingState
from rentalcoop.db import utcnow
from rentalcoop.errors import DomainError
from rentalcoop.extensions import db
from rentalcoop.i18n import _l
from rentalcoop.jobs import job
from rentalcoop.payments.manual import formats
from rentalcoop.payments.manual.models import (
    PAYMENT_METHOD_LABELS,
    PaymentChoice,
    PaymentMethod,
    PaymentSettings,
)

SETTINGS_ID = 1
COOP_ZONE = ZoneInfo("Europe/Stockholm")


class ManualPaymentError(DomainError):
    status_code = 409


class PaymentInputError(ManualPaymentError):
    """What the guest or the board gave does not fit (422, the form is shown again)."""

    status_code = 422


# --- the board's settings ------------------------------------------------------------------------


@dataclass(frozen=True)
class PaymentDetails:
    """The coop's payment details as pages and mail show them."""

    payee_name: str
    swish_number: str  # digits
    bankgiro_number: str  # digits
    hold_days: int
    hold_days_is_default: bool

    @property
    def swish_display(self) -> str:
        return formats.format_swish(self.swish_number)

    @property
    def bankgiro_display(self) -> str:
        return formats.format_bankgiro(self.bankgiro_number)

    @property
    def has_swish(self) -> bool:
        return bool(self.payee_name and self.swish_number)

    @property
    def has_bankgiro(self) -> bool:
        return bool(self.payee_name and self.bankgiro_number)

    @property
    def is_configured(self) -> bool:
        """A guest can pay by at least one method."""
        return self.has_swish or self.has_bankgiro

    @property
    def is_complete(self) -> bool:
        return self.has_swish and self.has_bankgiro


def settings_row() -> PaymentSettings | None:
    return db.session.get(PaymentSettings, SETTINGS_ID)


def default_hold_days() -> int:
    return int(current_app.config.get("BANKGIRO_HOLD_DAYS", 3))


def payment_details() -> PaymentDetails:
    """What the board has set (empty strings where nothing is)."""
    row = settings_row()
    days = row.bankgiro_hold_days if row is not None else None
    return PaymentDetails(
        payee_name=row.payee_name if row is not None else "",
        swish_number=row.swish_number if row is not None else "",
        bankgiro_number=row.bankgiro_number if row is not None else "",
        hold_days=days or default_hold_days(),
        hold_days_is_default=days is None,
    )


def update_payment_details(
    payee_name: str,
    swish_number: str,
    bankgiro_number: str,
    hold_days: int | None,
    by: User,
) -> PaymentSettings:
    """Save where guests pay (numbers already validated by the form; stored as digits)."""
    row = settings_row()
    if row is None:
        row = PaymentSettings(id=SETTINGS_ID)
        db.session.add(row)
    row.payee_name = payee_name.strip()
    row.swish_number = formats.digits(swish_number)
    row.bankgiro_number = formats.digits(bankgiro_number)
    row.bankgiro_hold_days = hold_days
    row.updated_at = utcnow()
    row.updated_by_id = by.id
    db.session.flush()
    return row


# --- bank days -----------------------------------------------------------------------------------


def easter_sunday(year: int) -> date:
    """Gregorian Easter (the anonymous algorithm, Meeus/Jones/Butcher)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    weekday = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * weekday) // 451
    month, day = divmod(h + weekday - 7 * m + 114, 31)
    return date(year, month, day + 1)


def bank_holidays(year: int) -> set[date]:
    """Swedish weekdays without bank service: the public holidays (lag 1989:253) and the
    eves banks keep closed (midsummer, Christmas and New Year's Eve)."""
    easter = easter_sunday(year)
    midsummer_eve = next(date(year, 6, d) for d in range(19, 26) if date(year, 6, d).weekday() == 4)
    return {
        date(year, 1, 1),
        date(year, 1, 6),
        easter - timedelta(days=2),  # Good Friday
        easter + timedelta(days=1),  # Easter Monday
        date(year, 5, 1),
        easter + timedelta(days=39),  # Ascension Day
        date(year, 6, 6),
        midsummer_eve,
        date(year, 12, 24),
        date(year, 12, 25),
        date(year, 12, 26),
        date(year, 12, 31),
    }


def is_bank_day(day: date) -> bool:
    return day.weekday() < 5 and day not in bank_holidays(day.year)


def nth_bank_day_after(day: date, n: int) -> date:
    count = 0
    while count < n:
        day += timedelta(days=1)
        if is_bank_day(day):
            count += 1
    return day


def bankgiro_deadline(at: datetime, days: int) -> datetime:
    """The end (midnight, Stockholm) of the `days`-th bank day after the day of `at`."""
    last = nth_bank_day_after(at.astimezone(COOP_ZONE).date(), days)
    return datetime.combine(last + timedelta(days=1), time(0), tzinfo=COOP_ZONE).astimezone(UTC)


def swish_deadline(booking: Booking, at: datetime) -> datetime:
    minutes = int(current_app.config.get("SWISH_HOLD_MINUTES", 30))
    return max(booking.expires_at or at, at + timedelta(minutes=minutes))


# --- the guest's choice --------------------------------------------------------------------------


def choice_of(booking: Booking) -> PaymentChoice | None:
    return db.session.get(PaymentChoice, booking.id)


def methods_of(booking_ids: list[int]) -> dict[int, str]:
    """The chosen method's label per booking id, for those that chose one (one query)."""
    if not booking_ids:
        return {}
    rows = db.session.execute(
        select(PaymentChoice.booking_id, PaymentChoice.method).where(
            PaymentChoice.booking_id.in_(booking_ids)
        )
    )
    return {bid: str(PAYMENT_METHOD_LABELS[PaymentMethod(method)]) for bid, method in rows}


@dataclass(frozen=True)
class PayOptions:
    """What the pay page offers a booking waiting for payment."""

    details: PaymentDetails
    chosen: str | None
    swish_until: datetime | None  # the hold if the guest picks Swish now
    bankgiro_until: datetime | None  # the hold if the guest picks bank giro now
    bankgiro_problem: str | None  # why bank giro cannot be chosen

    @property
    def chosen_label(self) -> str:
        return str(PAYMENT_METHOD_LABELS[PaymentMethod(self.chosen)]) if self.chosen else ""


def pay_options(booking: Booking, at: datetime | None = None) -> PayOptions:
    """The methods the guest can choose, and the hold each would give."""
    from rentalcoop.bookings.services import check_in_instant

    now = at or utcnow()
    details = payment_details()
    choice = choice_of(booking)
    bankgiro_until, problem = None, None
    if details.has_bankgiro:
        bankgiro_until = max(booking.expires_at or now, bankgiro_deadline(now, details.hold_days))
        if bankgiro_until > check_in_instant(booking):
            bankgiro_until = None
            problem = _l(
                "Your stay begins too soon for a bank giro payment to arrive in time. "
                "Please pay by Swish."
            )
    return PayOptions(
        details=details,
        chosen=choice.method if choice is not None else None,
        swish_until=swish_deadline(booking, now) if details.has_swish else None,
        bankgiro_until=bankgiro_until,
        bankgiro_problem=problem,
    )


def choose_method(booking: Booking, method: PaymentMethod, at: datetime | None = None) -> bool:
    """The guest says how they will pay: the hold becomes that method's (never shorter).
    Returns whether anything changed (choosing the same again, or anything after bank giro,
    is a no-op)."""
    from rentalcoop.bookings import services as bookings

    now = at or utcnow()
    method = PaymentMethod(method)
    bookings.lock_booking(booking)
    if booking.state != BookingState.PENDING_PAYMENT or booking.paid_at is not None:
        raise ManualPaymentError(_l("This booking is not waiting for payment."))
    if booking.expires_at is not None and booking.expires_at <= now:
        raise ManualPaymentError(_l("The time to pay for this booking has run out."))
    options = pay_options(booking, now)
    offered = {
        PaymentMethod.SWISH: options.details.has_swish,
        PaymentMethod.BANKGIRO: options.details.has_bankgiro,
    }
    if not offered[method]:
        raise PaymentInputError(
            _l("The cooperative does not take payments by %(method)s yet."),
            method=PAYMENT_METHOD_LABELS[method],
        )
    choice = choice_of(booking)
    if choice is not None and (choice.method == method or choice.method == PaymentMethod.BANKGIRO):
        return False
    if method == PaymentMethod.BANKGIRO:
        if options.bankgiro_until is None:
            raise PaymentInputError(options.bankgiro_problem)
        until = options.bankgiro_until
    else:
        until = options.swish_until
    booking.expires_at = until
    if choice is None:
        db.session.add(PaymentChoice(booking_id=booking.id, method=method, chosen_at=now))
    else:
        choice.method = method
        choice.chosen_at = now
    bookings.record_note(
        booking, f"pays by {method}; held until {until.isoformat()}", actor_kind="guest"
    )
    db.session.flush()
    return True


# --- the reminder before a bank giro hold lapses -------------------------------------------------


def reminder_lead() -> timedelta:
    return timedelta(hours=int(current_app.config.get("BANKGIRO_REMINDER_HOURS", 48)))


@job("remind-bank-giro")
def remind_bankgiro_due(at: datetime | None = None) -> int:
    """Mail guests whose bank giro hold ends within `BANKGIRO_REMINDER_HOURS` (48) and who
    have not paid, once (the outbox key), and not before half the hold has passed (a guest
    who has just chosen needs no reminder)."""
    now = at or utcnow()
    rows = db.session.execute(
        select(Booking, PaymentChoice.chosen_at)
        .join(PaymentChoice, PaymentChoice.booking_id == Booking.id)
        .where(
            Booking.state == BookingState.PENDING_PAYMENT,
            Booking.paid_at.is_(None),
            PaymentChoice.method == PaymentMethod.BANKGIRO,
            Booking.expires_at > now,
            Booking.expires_at <= now + reminder_lead(),
        )
        .order_by(Booking.id)
    ).all()
    count = 0
    for booking, chosen_at in rows:
        if now < chosen_at + (booking.expires_at - chosen_at) / 2:
            continue
        guest = booking.guest
        if guest.deleted_at is not None:
            continue
        outbox.enqueue(
            f"booking:{booking.id}:bankgiro_reminder:guest",
            guest.email,
            guest.locale,
            "booking_bankgiro_reminder_guest",
            booking_id=booking.id,
        )
        count += 1
    db.session.commit()
    return count


# --- the board matches an incoming payment -------------------------------------------------------

_TOKEN = re.compile(r"[A-Z0-9]+")


def references_in(text: str) -> list[str]:
    """Booking codes a pasted bank or Swish line may hold: its 8-character words, or the
    whole text without spaces and dashes ("ab3d 5fgh")."""
    upper = (text or "").upper()
    found = [t for t in _TOKEN.findall(upper) if len(t) == 8]
    squeezed = re.sub(r"[\s\-]", "", upper)
    if len(squeezed) == 8 and squeezed.isalnum() and squeezed not in found:
        found.append(squeezed)
    return found


def find_booking_by_reference(text: str) -> Booking:
    """The one booking whose code the text holds, or a PaymentInputError saying why not."""
    candidates = references_in(text)
    bookings = (
        db.session.scalars(select(Booking).where(Booking.code.in_(candidates))).all()
        if candidates
        else []
    )
    if not bookings:
        raise PaymentInputError(
            _l("No booking has the reference %(reference)s."), reference=(text or "").strip()[:40]
        )
    if len(bookings) > 1:
        raise PaymentInputError(
            _l(
                "The text holds several booking references (%(codes)s): enter one payment at "
                "a time."
            ),
            codes=", ".join(sorted(b.code for b in bookings)),
        )
    return bookings[0]


def match_incoming_payment(
    reference: str, amount_ore: int, by: User, at: datetime | None = None
) -> tuple[Booking, bool]:
    """Money arrived with a reference: mark that booking paid through the guarded path
    (`record_payment_succeeded`, which locks the booking and confirms it or, if its hold
    ended meanwhile, refunds it). Refused: an unknown reference, a booking already paid (409),
    a request the host has not answered (409), an amount that is not the booking's total (422).
    Returns the booking and whether the stay is confirmed."""
    from rentalcoop.payments import services as payments

    booking_id = find_booking_by_reference(reference).id
    booking = payments.booking_for_update(booking_id)
    if booking.paid_at is not None:
        raise ManualPaymentError(_l("Booking %(code)s was already marked paid."), code=booking.code)
    if booking.state == BookingState.REQUESTED:
        raise ManualPaymentError(
            _l("Booking %(code)s waits for the host's answer and cannot be paid yet."),
            code=booking.code,
        )
    if amount_ore != booking.total_ore:
        from rentalcoop.i18n import money

        raise PaymentInputError(
            _l("The amount %(amount)s does not match booking %(code)s, which costs %(total)s."),
            amount=money(amount_ore),
            code=booking.code,
            total=money(booking.total_ore),
        )
    confirmed = payments.record_payment_succeeded(booking, by=by, at=at)
    return booking, confirmed
