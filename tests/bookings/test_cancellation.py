"""refund_for: every row and boundary of DESIGN §6, to the second, plus properties."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rentalcoop.bookings.cancellation import (
    CancellationPolicy,
    CancelledBy,
    Refund,
    RefundableBooking,
    refund_for,
)

STHLM = ZoneInfo("Europe/Stockholm")
SECOND = timedelta(seconds=1)


@dataclass(frozen=True)
class Booking:
    """A stand-in for the Booking model: the attributes of `RefundableBooking`."""

    check_in: date
    check_out: date
    created_at: datetime
    cancellation_policy: str
    night_prices_ore: Sequence[int]
    cleaning_fee_ore: int
    service_fee_ore: int
    fee_vat_ore: int
    community_ore: int
    total_ore: int
    timezone: str = "Europe/Stockholm"
    check_in_time: time = time(15, 0)


def priced(check_in, nights, cleaning=50_000, fee_bps=1500, **fields) -> Booking:
    """A booking priced by the formulas of DESIGN §5 (founding values by default)."""
    accommodation = sum(nights) + cleaning
    fee = (accommodation * fee_bps + 5_000) // 10_000
    fee_vat = fee - (fee * 10_000 + 12_500 // 2) // 12_500
    community = ((fee - fee_vat) * 5_000 + 5_000) // 10_000
    fields.setdefault("created_at", datetime(2027, 3, 1, 10, 0, tzinfo=UTC))
    fields.setdefault("cancellation_policy", "flexible")
    return Booking(
        check_in=check_in,
        check_out=check_in + timedelta(days=len(nights)),
        night_prices_ore=tuple(nights),
        cleaning_fee_ore=cleaning,
        service_fee_ore=fee,
        fee_vat_ore=fee_vat,
        community_ore=community,
        total_ore=accommodation + fee,
        **fields,
    )


# Three summer nights from Saturday 10 July 2027, check-in 15:00 CEST (13:00 UTC).
# Nights 360 000 öre + cleaning 50 000 = 410 000; fee 15 % = 61 500, of which VAT 12 300 and
# community 24 600; the guest paid 471 500.
STAY = priced(date(2027, 7, 10), [100_000, 120_000, 140_000])
CHECK_IN = datetime(2027, 7, 10, 15, 0, tzinfo=STHLM)
FULL = (360_000, 50_000, 61_500)


def days_before(days: int) -> datetime:
    """The check-in wall time N dates earlier (no DST change in July, so also N × 24 h)."""
    return CHECK_IN - timedelta(days=days)


def components(refund: Refund) -> tuple[int, int, int]:
    return refund.nights_ore, refund.cleaning_ore, refund.service_fee_ore


# (policy, booked at, cancelled at, expected nights / cleaning / service fee refund)
# "booked" is the booking's created_at; the default is months ahead, outside any grace.
EARLY = datetime(2027, 3, 1, 10, 0, tzinfo=UTC)
CASES = [
    # flexible: ≥ 24 h before → all nights; later → unstayed nights minus the next night.
    ("flexible", EARLY, days_before(30), FULL),
    ("flexible", EARLY, days_before(1) - SECOND, FULL),
    ("flexible", EARLY, days_before(1), FULL),
    # 260 000 = all but the first night; fee 61 500 × 260/360 = 44 416.67 → 44 417.
    ("flexible", EARLY, days_before(1) + SECOND, (260_000, 50_000, 44_417)),
    ("flexible", EARLY, CHECK_IN - SECOND, (260_000, 50_000, 44_417)),
    # From the check-in instant the cleaning fee is no longer refunded.
    ("flexible", EARLY, CHECK_IN, (260_000, 0, 44_417)),
    ("flexible", EARLY, CHECK_IN.replace(hour=22), (260_000, 0, 44_417)),
    # On the morning after the first night: unstayed = nights 2 and 3, minus night 2.
    # 61 500 × 140/360 = 23 916.67 → 23 917.
    ("flexible", EARLY, datetime(2027, 7, 11, 10, 0, tzinfo=STHLM), (140_000, 0, 23_917)),
    # On the last night only that night is left, and it is "the next night": nothing.
    ("flexible", EARLY, datetime(2027, 7, 12, 10, 0, tzinfo=STHLM), (0, 0, 0)),
    # On and after the check-out day there is nothing to refund.
    ("flexible", EARLY, datetime(2027, 7, 13, 9, 0, tzinfo=STHLM), (0, 0, 0)),
    ("flexible", EARLY, datetime(2027, 8, 1, 12, 0, tzinfo=STHLM), (0, 0, 0)),
    # moderate: ≥ 5 days before → all; later → 50 % of (unstayed minus the next night).
    ("moderate", EARLY, days_before(5) - SECOND, FULL),
    ("moderate", EARLY, days_before(5), FULL),
    # 50 % of 260 000 = 130 000; fee 61 500 × 130/360 = 22 208.33 → 22 208.
    ("moderate", EARLY, days_before(5) + SECOND, (130_000, 50_000, 22_208)),
    ("moderate", EARLY, days_before(1) + SECOND, (130_000, 50_000, 22_208)),
    # After check-in: 50 % of night 3 = 70 000; 61 500 × 70/360 = 11 958.33 → 11 958.
    ("moderate", EARLY, datetime(2027, 7, 11, 10, 0, tzinfo=STHLM), (70_000, 0, 11_958)),
    ("moderate", EARLY, datetime(2027, 7, 13, 9, 0, tzinfo=STHLM), (0, 0, 0)),
    # firm: ≥ 30 days → all; 7–30 days → 50 % of all nights; < 7 days or after check-in → 0.
    ("firm", EARLY, days_before(30) - SECOND, FULL),
    ("firm", EARLY, days_before(30), FULL),
    ("firm", EARLY, days_before(30) + SECOND, (180_000, 50_000, 30_750)),
    ("firm", EARLY, days_before(7), (180_000, 50_000, 30_750)),
    # < 7 days: no nights and no fee, but the cleaning fee still comes back before check-in.
    ("firm", EARLY, days_before(7) + SECOND, (0, 50_000, 0)),
    ("firm", EARLY, CHECK_IN - SECOND, (0, 50_000, 0)),
    ("firm", EARLY, CHECK_IN + timedelta(hours=2), (0, 0, 0)),
    # firm's grace: booked 20 days ahead, cancelled within 48 h (18 days before) → all.
    ("firm", days_before(20), days_before(20) + timedelta(hours=48), FULL),
    (
        "firm",
        days_before(20),
        days_before(20) + timedelta(hours=48) + SECOND,
        (180_000, 50_000, 30_750),
    ),
    # Grace needs the cancellation itself ≥ 14 days before check-in (see the module docstring).
    ("firm", days_before(15), days_before(14), FULL),
    ("firm", days_before(15), days_before(14) + SECOND, (180_000, 50_000, 30_750)),
    ("firm", days_before(14), days_before(14), FULL),
    ("firm", days_before(14) + SECOND, days_before(14) + SECOND, (180_000, 50_000, 30_750)),
    # Booked 10 days ahead, cancelled an hour later: no grace.
    ("firm", days_before(10), days_before(10) + timedelta(hours=1), (180_000, 50_000, 30_750)),
    # strict: grace → all; ≥ 7 days → 50 % of all nights; < 7 days or after check-in → 0.
    ("strict", EARLY, days_before(60), (180_000, 50_000, 30_750)),
    ("strict", EARLY, days_before(30), (180_000, 50_000, 30_750)),
    ("strict", EARLY, days_before(7) - SECOND, (180_000, 50_000, 30_750)),
    ("strict", EARLY, days_before(7), (180_000, 50_000, 30_750)),
    ("strict", EARLY, days_before(7) + SECOND, (0, 50_000, 0)),
    ("strict", EARLY, CHECK_IN, (0, 0, 0)),
    ("strict", EARLY, datetime(2027, 7, 11, 10, 0, tzinfo=STHLM), (0, 0, 0)),
    # strict's grace, at exactly 48 h after booking and one second past it.
    ("strict", days_before(60), days_before(60), FULL),
    ("strict", days_before(60), days_before(60) + timedelta(hours=48), FULL),
    (
        "strict",
        days_before(60),
        days_before(60) + timedelta(hours=48) + SECOND,
        (180_000, 50_000, 30_750),
    ),
    ("strict", days_before(15), days_before(14) - SECOND, FULL),
    ("strict", days_before(15), days_before(14), FULL),
    ("strict", days_before(15), days_before(14) + SECOND, (180_000, 50_000, 30_750)),
    ("strict", days_before(10), days_before(10) + timedelta(minutes=5), (180_000, 50_000, 30_750)),
    ("strict", days_before(3), days_before(3) + timedelta(minutes=5), (0, 50_000, 0)),
]


@pytest.mark.parametrize(("policy", "booked_at", "cancelled_at", "expected"), CASES)
def test_guest_cancellation_follows_the_policy_table(policy, booked_at, cancelled_at, expected):
    booking = replace(STAY, cancellation_policy=policy, created_at=booked_at.astimezone(UTC))
    refund = refund_for(booking, cancelled_at, CancelledBy.GUEST)
    assert components(refund) == expected
    assert refund.total_ore == sum(expected)


@pytest.mark.parametrize("policy", list(CancellationPolicy))
@pytest.mark.parametrize("by", [CancelledBy.HOST, CancelledBy.BOARD])
@pytest.mark.parametrize(
    "cancelled_at",
    [days_before(60), days_before(1) + SECOND, CHECK_IN, datetime(2027, 7, 12, 9, 0, tzinfo=STHLM)],
)
def test_host_or_board_cancellation_refunds_everything(policy, by, cancelled_at):
    booking = replace(STAY, cancellation_policy=policy)
    refund = refund_for(booking, cancelled_at, by)
    assert refund == Refund(360_000, 50_000, 61_500, fee_vat_ore=12_300, community_ore=24_600)
    assert refund.total_ore == STAY.total_ore == 471_500


def test_the_same_instant_in_any_zone_gives_the_same_refund():
    cancelled = days_before(1) + SECOND
    in_utc = refund_for(STAY, cancelled.astimezone(UTC), "guest")
    in_tokyo = refund_for(STAY, cancelled.astimezone(ZoneInfo("Asia/Tokyo")), "guest")
    assert in_utc == in_tokyo == refund_for(STAY, cancelled, "guest")


def test_unstayed_nights_start_from_the_local_date_not_the_utc_date():
    # 23:30 UTC on 10 July is 01:30 on 11 July in Stockholm: night 1 is over, night 2 is "next".
    refund = refund_for(STAY, datetime(2027, 7, 10, 23, 30, tzinfo=UTC), "guest")
    assert components(refund) == (140_000, 0, 23_917)


# --- DST: the spring change on Sunday 28 March 2027, the autumn one on Sunday 31 October ------


def test_five_days_are_calendar_days_across_the_spring_change():
    # Check-in Wed 31 March 15:00 CEST (13:00 UTC); five days before is Fri 26 March 15:00 CET
    # (14:00 UTC), only 119 real hours earlier.
    booking = priced(date(2027, 3, 31), [80_000, 80_000], cancellation_policy="moderate")
    deadline = datetime(2027, 3, 26, 14, 0, tzinfo=UTC)
    assert deadline == datetime(2027, 3, 26, 15, 0, tzinfo=STHLM)
    assert refund_for(booking, deadline, "guest").nights_ore == 160_000
    assert refund_for(booking, deadline + SECOND, "guest").nights_ore == 40_000


def test_five_days_are_calendar_days_across_the_autumn_change():
    # Check-in Wed 3 November 15:00 CET (14:00 UTC); five days before is Fri 29 October
    # 15:00 CEST (13:00 UTC), 121 real hours earlier.
    booking = priced(date(2027, 11, 3), [80_000, 80_000], cancellation_policy="moderate")
    deadline = datetime(2027, 10, 29, 13, 0, tzinfo=UTC)
    assert refund_for(booking, deadline, "guest").nights_ore == 160_000
    assert refund_for(booking, deadline + SECOND, "guest").nights_ore == 40_000


def test_twenty_four_hours_are_real_hours_across_the_spring_change():
    # Check-in Sun 28 March 15:00 CEST (13:00 UTC): 24 real hours earlier is Saturday 14:00 CET,
    # not 15:00 — the night is one hour short.
    booking = priced(date(2027, 3, 28), [90_000, 70_000], cancellation_policy="flexible")
    deadline = datetime(2027, 3, 27, 14, 0, tzinfo=STHLM)
    assert refund_for(booking, deadline, "guest").nights_ore == 160_000
    assert refund_for(booking, deadline + SECOND, "guest").nights_ore == 70_000
    assert refund_for(booking, deadline + timedelta(hours=1), "guest").nights_ore == 70_000


def test_forty_eight_hours_are_real_hours_across_the_autumn_change():
    # Booked Fri 29 October 12:00 CEST; 48 real hours later is Sunday 11:00 CET.
    booked = datetime(2027, 10, 29, 12, 0, tzinfo=STHLM)
    booking = priced(date(2027, 12, 1), [90_000], cancellation_policy="strict", created_at=booked)
    end_of_grace = datetime(2027, 10, 31, 11, 0, tzinfo=STHLM)
    assert end_of_grace - booked.astimezone(UTC) == timedelta(hours=48)
    assert refund_for(booking, end_of_grace, "guest").nights_ore == 90_000
    assert refund_for(booking, end_of_grace + SECOND, "guest").nights_ore == 45_000


def test_check_in_time_is_in_the_listing_zone():
    # A New York listing with 16:00 check-in: 24 h before is 20:00 UTC the day before (EDT).
    booking = priced(
        date(2027, 7, 10),
        [50_000, 50_000],
        timezone="America/New_York",
        check_in_time=time(16, 0),
    )
    deadline = datetime(2027, 7, 9, 20, 0, tzinfo=UTC)
    assert refund_for(booking, deadline, "guest").nights_ore == 100_000
    assert refund_for(booking, deadline + SECOND, "guest").nights_ore == 50_000


# --- rounding, single nights, the ledger parts ------------------------------------------------


def test_fifty_percent_rounds_half_up():
    # moderate, late: 50 % of (10 001 + 10 000) = 10 000.5 → 10 001.
    booking = priced(date(2027, 7, 10), [10_000, 10_001, 10_000], cancellation_policy="moderate")
    assert refund_for(booking, days_before(2), "guest").nights_ore == 10_001


def test_service_fee_proportion_rounds_half_up():
    # Half the nights come back; half of a 3 001 öre fee is 1 500.5 → 1 501. Its parts:
    # VAT 600 → 300; community 1 201 → 600.5 → 601.
    booking = priced(date(2027, 7, 10), [10_000, 10_000], cancellation_policy="strict")
    booking = replace(
        booking, service_fee_ore=3_001, fee_vat_ore=600, community_ore=1_201, total_ore=73_001
    )
    refund = refund_for(booking, days_before(20), "guest")
    assert refund == Refund(10_000, 50_000, 1_501, fee_vat_ore=300, community_ore=601)
    assert refund.total_ore == 61_501


def test_a_single_night_minus_the_next_night_is_nothing():
    booking = priced(date(2027, 7, 10), [95_000], cancellation_policy="flexible")
    refund = refund_for(booking, CHECK_IN - timedelta(hours=2), "guest")
    assert components(refund) == (0, 50_000, 0)
    moderate = replace(booking, cancellation_policy="moderate")
    assert components(refund_for(moderate, days_before(2), "guest")) == (0, 50_000, 0)


def test_ledger_parts_of_a_partial_fee_refund():
    # 44 417 of 61 500: VAT 12 300 × 44 417 / 61 500 = 8 883.4 → 8 883;
    # community 24 600 × 44 417 / 61 500 = 17 766.8 → 17 767.
    refund = refund_for(STAY, days_before(1) + SECOND, "guest")
    assert (refund.service_fee_ore, refund.fee_vat_ore, refund.community_ore) == (
        44_417,
        8_883,
        17_767,
    )


def test_ledger_parts_never_exceed_the_fee_refunded():
    # Community = the whole net fee: rounding both halves up would give 2 öre of a 1 öre refund.
    booking = priced(date(2027, 7, 10), [1_000, 1_000], cleaning=0, cancellation_policy="strict")
    booking = replace(booking, service_fee_ore=2, fee_vat_ore=1, community_ore=1, total_ore=2_002)
    refund = refund_for(booking, days_before(20), "guest")
    assert (refund.service_fee_ore, refund.fee_vat_ore, refund.community_ore) == (1, 1, 0)


def test_a_refund_never_exceeds_what_was_paid():
    # Stored inconsistently: the guest paid 1 000 öre less than the parts. The fee gives way first.
    short = replace(STAY, total_ore=STAY.total_ore - 1_000)
    refund = refund_for(short, days_before(60), "host")
    assert components(refund) == (360_000, 50_000, 60_500)
    assert refund.total_ore == short.total_ore
    tiny = replace(STAY, total_ore=100_000)
    assert components(refund_for(tiny, days_before(60), "board")) == (100_000, 0, 0)


def test_free_nights_keep_the_service_fee():
    booking = priced(date(2027, 7, 10), [0, 0], cancellation_policy="flexible")
    assert components(refund_for(booking, days_before(10), "guest")) == (0, 50_000, 0)


# --- refusals ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "cancelled_at", "message"),
    [
        ({}, datetime(2027, 7, 1, 12, 0), "cancelled_at must be timezone-aware"),
        ({"created_at": datetime(2027, 3, 1, 10, 0)}, days_before(10), "created_at must be"),
        ({"cancellation_policy": "super_strict"}, days_before(10), "super_strict"),
        ({"night_prices_ore": (100_000, 120_000)}, days_before(10), "2 night prices"),
        ({"check_out": date(2027, 7, 10)}, days_before(10), "stay of 0 nights"),
        ({"cleaning_fee_ore": -1}, days_before(10), "cleaning fee cannot be negative"),
        ({"night_prices_ore": (100_000, -1, 140_000)}, days_before(10), "night price cannot"),
        ({"fee_vat_ore": 61_500}, days_before(10), "exceed the service fee"),
        ({"timezone": "Mars/Olympus_Mons"}, days_before(10), "unknown time zone"),
        ({}, datetime(2027, 2, 1, 12, 0, tzinfo=UTC), "before it was made"),
    ],
)
def test_refuses_what_cannot_be_right(change, cancelled_at, message):
    booking = replace(STAY, **change)
    with pytest.raises(ValueError, match=message):
        refund_for(booking, cancelled_at, "guest")


def test_refuses_an_unknown_canceller():
    with pytest.raises(ValueError, match="landlord"):
        refund_for(STAY, days_before(10), "landlord")


def test_a_refund_cannot_be_negative():
    with pytest.raises(ValueError, match="negative"):
        Refund(-1, 0, 0, fee_vat_ore=0, community_ore=0)


def test_the_stand_in_booking_satisfies_the_protocol():
    booking: RefundableBooking = STAY
    assert refund_for(booking, days_before(60), CancelledBy.GUEST).total_ore == 471_500


# --- properties ------------------------------------------------------------------------------

ZONES = ["Europe/Stockholm", "UTC", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata"]


@st.composite
def bookings(draw, *, consistent=True):
    """Any stay a listing could sell, priced by DESIGN §5 at any fee level."""
    nights = draw(st.lists(st.integers(0, 900_000), min_size=1, max_size=30))
    booking = priced(
        draw(st.dates(date(2026, 1, 1), date(2030, 12, 31))),
        nights,
        cleaning=draw(st.integers(0, 150_000)),
        fee_bps=draw(st.integers(0, 3_000)),
        cancellation_policy=draw(st.sampled_from(list(CancellationPolicy))),
        timezone=draw(st.sampled_from(ZONES)),
        check_in_time=draw(st.times()),
        created_at=datetime(2000, 1, 1, tzinfo=UTC),  # set below, relative to check-in
    )
    check_in = datetime.combine(booking.check_in, booking.check_in_time, ZoneInfo(booking.timezone))
    lead = draw(st.timedeltas(timedelta(hours=-12), timedelta(days=400)))
    booking = replace(booking, created_at=(check_in - lead).astimezone(UTC))
    if not consistent:
        booking = replace(booking, total_ore=draw(st.integers(0, booking.total_ore)))
    return booking


moments = st.timedeltas(timedelta(0), timedelta(days=500))


@given(bookings(), moments, st.sampled_from(list(CancelledBy)))
def test_a_refund_is_never_negative_and_never_more_than_paid(booking, after, by):
    refund = refund_for(booking, booking.created_at + after, by)
    assert min(refund.nights_ore, refund.cleaning_ore, refund.service_fee_ore) >= 0
    assert refund.nights_ore <= sum(booking.night_prices_ore)
    assert refund.cleaning_ore <= booking.cleaning_fee_ore
    assert refund.service_fee_ore <= booking.service_fee_ore
    assert 0 <= refund.fee_vat_ore <= booking.fee_vat_ore
    assert 0 <= refund.community_ore <= booking.community_ore
    assert refund.fee_vat_ore + refund.community_ore <= refund.service_fee_ore
    assert refund.total_ore == refund.nights_ore + refund.cleaning_ore + refund.service_fee_ore
    assert refund.total_ore <= booking.total_ore


@given(bookings(consistent=False), moments, st.sampled_from(list(CancelledBy)))
def test_never_more_than_paid_even_when_paid_is_short(booking, after, by):
    refund = refund_for(booking, booking.created_at + after, by)
    assert 0 <= refund.total_ore <= booking.total_ore
    if by is not CancelledBy.GUEST:
        assert refund.total_ore == booking.total_ore


@given(bookings(), moments, st.sampled_from([CancelledBy.HOST, CancelledBy.BOARD]))
def test_host_or_board_always_refunds_in_full(booking, after, by):
    refund = refund_for(booking, booking.created_at + after, by)
    assert refund.total_ore == booking.total_ore
    assert (refund.fee_vat_ore, refund.community_ore) == (
        booking.fee_vat_ore,
        booking.community_ore,
    )


@given(bookings(), moments, moments)
def test_cancelling_later_never_refunds_more(booking, first, second):
    earlier, later = sorted([first, second])
    sooner = refund_for(booking, booking.created_at + earlier, "guest")
    afterwards = refund_for(booking, booking.created_at + later, "guest")
    assert afterwards.nights_ore <= sooner.nights_ore
    assert afterwards.cleaning_ore <= sooner.cleaning_ore
    assert afterwards.total_ore <= sooner.total_ore


@given(bookings(), st.timedeltas(timedelta(days=1), timedelta(days=30)))
def test_after_check_out_a_guest_gets_nothing(booking, after):
    check_out = datetime.combine(booking.check_out, time(0), ZoneInfo(booking.timezone))
    refund = refund_for(booking, max(check_out + after, booking.created_at), "guest")
    assert refund.total_ore == 0
