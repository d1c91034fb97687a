"""The annual seller report a platform gives the tax agency (EU DAC7).

Law: rådets direktiv (EU) 2021/514 (DAC7, amending direktiv 2011/16/EU); in Sweden lag
(2022:1681) om plattformsoperatörers inhämtande av vissa uppgifter på skatteområdet (what the
platform must collect about its sellers, 6 kap. kundkännedom), lag (2022:1682) om automatiskt
utbyte av upplysningar om inkomster genom digitala plattformar, and the duty to report in
22 c kap. skatteförfarandelagen (2011:1244), filed with Skatteverket by 31 January for the year
before. Fields below are those of the directive's reporting annex as we read it (the annex's
section numbers were not checked against the text).

The rules as implemented:

- **Who**: every host with consideration credited or nights rented in the year (the coop's
  hosts rent out immovable property, so every listing is reported with its own figures).
- **Identifying fields** come from the host's `SellerDetails` (entered on the host's own page,
  every field optional): name, primary address, personnummer/samordningsnummer or
  organisationsnummer, date of birth (a person), a foreign TIN and its country, VAT number,
  IBAN. What a person (name, address, TIN, date of birth) or an entity (name, address, TIN or
  organisation number) must have and does not is listed under "missing", so the board can ask.
  The listing's street address and its registration number (EU 2024/1028) are shown; a land
  registration number (fastighetsbeteckning) is not collected and is listed as missing.
- **Consideration per quarter** = what the ledger credited the host for the listing's bookings
  in that quarter: payments (`HOST_PAYABLE` credited) less refunds of nights and cleaning
  (debited), by the transaction's booking date, in öre, shown as SEK. Payouts move money already
  credited and are not consideration.
- **Fees withheld per quarter** = what the coop kept from the host of a booking paid in that
  quarter (accommodation − host payout). Hosts pay no fee (DESIGN §5: the guest pays the
  service fee), so this is 0 unless that rule changes; it is computed, not assumed.
- **Activities per quarter** = bookings paid in that quarter (a refunded booking stays counted:
  it was paid); **nights per quarter** = nights dated in the quarter of bookings not cancelled.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import select

from rentalcoop.accounts.models import User
from rentalcoop.bookings.models import Booking, BookingState
from rentalcoop.errors import DomainError
from rentalcoop.extensions import db
from rentalcoop.governance.models import SELLER_KIND_LABELS, SellerDetails, SellerKind
from rentalcoop.i18n import _l
from rentalcoop.ledger.models import Account, LedgerEntry, LedgerTransaction, TransactionKind
from rentalcoop.listings.models import Listing

__all__ = ["SELLER_KIND_LABELS", "seller_report", "save_seller_details"]

RENTED = (BookingState.CONFIRMED, BookingState.COMPLETED)

MISSING_LABELS = {
    "address": _l("primary address"),
    "tin": _l("personnummer, organisation number or TIN"),
    "date_of_birth": _l("date of birth"),
    "listing_address": _l("address of the listing"),
    "land_registration": _l("land registration number (not collected)"),
}


def quarter(day: date) -> int:
    """0 … 3 for January–March … October–December."""
    return (day.month - 1) // 3


@dataclass
class ListingFigures:
    listing: Listing
    nights: list[int] = field(default_factory=lambda: [0, 0, 0, 0])
    consideration_ore: list[int] = field(default_factory=lambda: [0, 0, 0, 0])
    fees_ore: list[int] = field(default_factory=lambda: [0, 0, 0, 0])
    activities: list[int] = field(default_factory=lambda: [0, 0, 0, 0])

    @property
    def missing(self) -> list[str]:
        found = [] if self.listing.street_address.strip() else ["listing_address"]
        return [*found, "land_registration"]


@dataclass
class SellerFigures:
    host: User
    details: SellerDetails | None
    listings: list[ListingFigures]

    @property
    def missing(self) -> list[str]:
        """Required identifying fields this host has not given."""
        d = self.details
        found = []
        if d is None or not d.address.strip():
            found.append("address")
        if d is None or not (d.national_id or d.tin):
            found.append("tin")
        if (d is None or d.kind == SellerKind.INDIVIDUAL) and birth_date(d) is None:
            found.append("date_of_birth")
        return found

    def total(self, name: str) -> int:
        return sum(sum(getattr(line, name)) for line in self.listings)


def birth_date(details: SellerDetails | None) -> date | None:
    """The date given, or the one a personnummer or samordningsnummer carries."""
    if details is None:
        return None
    if details.date_of_birth is not None:
        return details.date_of_birth
    if details.kind != SellerKind.INDIVIDUAL or len(details.national_id) != 12:
        return None
    digits = details.national_id
    day = int(digits[6:8])
    try:
        return date(int(digits[:4]), int(digits[4:6]), day - 60 if day > 60 else day)
    except ValueError:
        return None


def seller_report(year: int) -> list[SellerFigures]:
    """Every host with consideration or nights in `year`, with per-listing quarter figures."""
    per_listing: dict[int, ListingFigures] = {}

    def figures(listing: Listing) -> ListingFigures:
        return per_listing.setdefault(listing.id, ListingFigures(listing))

    credited = db.session.execute(
        select(LedgerTransaction.kind, LedgerTransaction.booked_on, LedgerEntry.amount_ore, Booking)
        .join(LedgerEntry, LedgerEntry.transaction_id == LedgerTransaction.id)
        .join(Booking, Booking.id == LedgerTransaction.booking_id)
        .where(
            LedgerTransaction.fiscal_year == year,
            LedgerTransaction.kind.in_((TransactionKind.PAYMENT, TransactionKind.REFUND)),
            LedgerEntry.account == Account.HOST_PAYABLE,
        )
        .order_by(LedgerTransaction.id)
    ).all()
    for kind, booked_on, amount_ore, booking in credited:
        line, q = figures(booking.listing), quarter(booked_on)
        line.consideration_ore[q] -= amount_ore  # a credit to the host is negative
        if kind == TransactionKind.PAYMENT:
            line.activities[q] += 1
            line.fees_ore[q] += booking.accommodation_ore - booking.host_payout_ore
    first, last = date(year, 1, 1), date(year, 12, 31)
    rented = db.session.scalars(
        select(Booking).where(
            Booking.state.in_(RENTED), Booking.check_in <= last, Booking.check_out > first
        )
    )
    for booking in rented:
        night = max(booking.check_in, first)
        end = min(booking.check_out, last + timedelta(days=1))
        line = figures(booking.listing)
        while night < end:
            line.nights[quarter(night)] += 1
            night += timedelta(days=1)
    by_host: dict[int, list[ListingFigures]] = defaultdict(list)
    for line in per_listing.values():
        by_host[line.listing.host_id].append(line)
    hosts = db.session.scalars(select(User).where(User.id.in_(by_host)).order_by(User.id)).all()
    return [
        SellerFigures(
            host=host,
            details=db.session.get(SellerDetails, host.id),
            listings=sorted(by_host[host.id], key=lambda line: line.listing.id),
        )
        for host in hosts
    ]


# --- the host's own details ---------------------------------------------------------------------


class SellerDetailsError(DomainError):
    status_code = 422


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(digits):
        n = int(ch) * (2 - i % 2)
        total += n - 9 if n > 9 else n
    return total % 10 == 0


def normalised_national_id(kind: str, value: str, today: date | None = None) -> str:
    """A personnummer/samordningsnummer as 12 digits (YYYYMMDDNNNN), an organisationsnummer as
    10; the check digit (Luhn) and, for a person, the date are checked."""
    raw = value.strip()
    digits = "".join(ch for ch in raw if ch.isdigit())
    if not digits:
        return ""
    if kind == SellerKind.ENTITY:
        if len(digits) == 12 and digits.startswith("16"):
            digits = digits[2:]
        if len(digits) != 10 or int(digits[2]) < 2 or not _luhn_ok(digits):
            raise SellerDetailsError(_l("That is not a valid organisation number."))
        return digits
    today = today or date.today()
    if len(digits) == 10:  # YYMMDD-NNNN: the century that makes the person at most 100
        century = (today.year // 100) * 100
        year = century + int(digits[:2])
        if year > today.year or "+" in raw:
            year -= 100
        digits = f"{year}"[:2] + digits
    if len(digits) != 12 or not _luhn_ok(digits[2:]):
        raise SellerDetailsError(_l("That is not a valid personnummer."))
    probe = SellerDetails(kind=SellerKind.INDIVIDUAL, national_id=digits)
    born = birth_date(probe)
    if born is None or born > today:
        raise SellerDetailsError(_l("That is not a valid personnummer."))
    return digits


def _iban_ok(iban: str) -> bool:
    if not 15 <= len(iban) <= 34 or not iban[:2].isalpha() or not iban[2:4].isdigit():
        return False
    moved = iban[4:] + iban[:4]
    try:
        number = "".join(str(int(ch, 36)) for ch in moved)
    except ValueError:
        return False
    return int(number) % 97 == 1


def save_seller_details(
    host: User,
    *,
    kind: str,
    legal_name: str = "",
    address: str = "",
    national_id: str = "",
    date_of_birth: date | None = None,
    tin: str = "",
    tin_country: str = "SE",
    vat_number: str = "",
    iban: str = "",
) -> SellerDetails:
    """A host saves what the seller report needs about them; each value is checked."""
    from rentalcoop.db import utcnow

    kind = SellerKind(kind)
    country = (tin_country or "SE").strip().upper()
    if len(country) != 2 or not country.isalpha():
        raise SellerDetailsError(_l("The country is two letters, like SE."))
    vat = vat_number.replace(" ", "").upper()
    if vat and not (len(vat) >= 4 and vat[:2].isalpha() and vat[2:].isalnum()):
        raise SellerDetailsError(_l("That is not a VAT number (like SE556677889901)."))
    if vat.startswith("SE") and not (len(vat) == 14 and vat[2:].isdigit() and vat.endswith("01")):
        raise SellerDetailsError(_l("That is not a VAT number (like SE556677889901)."))
    account = iban.replace(" ", "").upper()
    if account and not _iban_ok(account):
        raise SellerDetailsError(_l("That is not a valid IBAN."))
    if date_of_birth is not None and date_of_birth > date.today():
        raise SellerDetailsError(_l("The date of birth cannot be in the future."))
    row = db.session.get(SellerDetails, host.id) or SellerDetails(user_id=host.id)
    row.kind = kind
    row.legal_name = legal_name.strip()
    row.address = address.strip()
    row.national_id = normalised_national_id(kind, national_id)
    row.date_of_birth = date_of_birth if kind == SellerKind.INDIVIDUAL else None
    row.tin = tin.strip()
    row.tin_country = country
    row.vat_number = vat
    row.iban = account
    row.updated_at = utcnow()
    db.session.add(row)
    db.session.flush()
    return row
