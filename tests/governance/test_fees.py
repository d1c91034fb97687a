"""A passed fee motion creates the next fee schedule version (DESIGN §5, §11)."""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest

from rentalcoop.governance import services
from rentalcoop.governance.services import FeeDecisionError
from rentalcoop.listings import pricing
from tests import factories
from tests.governance.conftest import add_to_agenda, convened

DECIDED = date(2027, 1, 20)  # X: the meeting
EFFECTIVE = date(2027, 3, 1)  # Y: the new fee applies


def _fee_motion(meeting, chair, **fields):
    fields.setdefault("fee_bps", 1200)
    fields.setdefault("effective_from", EFFECTIVE)
    return add_to_agenda(
        meeting,
        kind="fee",
        title="Sänk serviceavgiften till 12 %",
        proposer=chair,
        by_board=True,
        today=DECIDED - timedelta(days=30),
        **fields,
    )


def test_passed_fee_motion_applies_from_its_date_only(ctx):
    meeting, chair = convened(held_on=DECIDED)
    at = services.meeting_start(DECIDED, time(19))
    motion = _fee_motion(meeting, chair)
    services.open_vote(motion, chair, at=at)
    services.cast_vote(motion, chair, "yes")
    services.cast_vote(motion, factories.host(), "yes")
    services.close_vote(motion, chair, at=at)
    assert motion.passed
    version = pricing.fee_schedule_in_force(EFFECTIVE)
    assert version.id == motion.fee_version_id
    assert (version.fee_bps, version.community_bps, version.vat_bps) == (1200, 5000, 2500)
    assert version.decided_by.startswith(f"motion:{motion.id} ")

    home = factories.listing(nightly_price_ore=100_000)
    stay = (date(2027, 6, 1), date(2027, 6, 3), 2)
    before = pricing.quote(home, *stay, at=EFFECTIVE - timedelta(days=1))
    on_day = pricing.quote(home, *stay, at=EFFECTIVE)
    assert before.fee_bps == 1500
    assert before.service_fee_ore == 30_000
    assert on_day.fee_bps == 1200
    assert on_day.service_fee_ore == 24_000
    assert [v.id for v, m in services.fee_history() if m is not None] == [version.id]


def test_a_booking_made_before_keeps_the_old_rate(ctx):
    meeting, chair = convened(held_on=DECIDED)
    at = services.meeting_start(DECIDED, time(19))
    motion = _fee_motion(meeting, chair, effective_from=DECIDED + timedelta(days=1))
    services.open_vote(motion, chair, at=at)
    services.cast_vote(motion, chair, "yes")
    booking = factories.booking(created_at=at - timedelta(days=2), check_in=date(2027, 7, 1))
    services.close_vote(motion, chair, at=at)
    assert booking.fee_bps == 1500
    # The morning of the meeting, before the decision, the old rate is in force.
    morning = factories.booking(created_at=at - timedelta(hours=10), check_in=date(2027, 7, 10))
    assert morning.fee_bps == 1500
    later = factories.booking(created_at=at + timedelta(days=1), check_in=date(2027, 8, 1))
    assert later.fee_bps == 1200


def test_a_fee_cannot_be_in_force_on_the_meeting_day_before_the_decision(ctx):
    meeting, chair = convened(held_on=DECIDED)
    with pytest.raises(FeeDecisionError):
        _fee_motion(meeting, chair, effective_from=DECIDED)


def test_community_share_motion_keeps_the_fee(ctx):
    meeting, chair = convened(held_on=DECIDED)
    at = services.meeting_start(DECIDED, time(19))
    motion = add_to_agenda(
        meeting,
        kind="community_share",
        title="Mer till bygden",
        proposer=chair,
        by_board=True,
        community_bps=6000,
        effective_from=EFFECTIVE,
        today=DECIDED,
    )
    services.open_vote(motion, chair, at=at)
    services.cast_vote(motion, chair, "yes")
    services.close_vote(motion, chair, at=at)
    version = pricing.fee_schedule_in_force(EFFECTIVE)
    assert (version.fee_bps, version.community_bps) == (1500, 6000)


def test_backdating_is_refused(ctx):
    meeting, chair = convened(held_on=DECIDED)
    with pytest.raises(FeeDecisionError):
        _fee_motion(meeting, chair, effective_from=DECIDED - timedelta(days=1))


def test_overlapping_versions_are_refused(ctx):
    factories.fee_version(date(2027, 4, 1), 1400)
    meeting, chair = convened(held_on=DECIDED)
    with pytest.raises(FeeDecisionError):
        _fee_motion(meeting, chair, effective_from=EFFECTIVE)  # before the April version
    with pytest.raises(FeeDecisionError):
        _fee_motion(meeting, chair, effective_from=date(2027, 4, 1))  # same day


def test_a_version_decided_meanwhile_stops_a_later_close(ctx):
    meeting, chair = convened(held_on=DECIDED)
    at = services.meeting_start(DECIDED, time(19))
    motion = _fee_motion(meeting, chair)
    services.open_vote(motion, chair, at=at)
    services.cast_vote(motion, chair, "yes")
    factories.fee_version(EFFECTIVE + timedelta(days=10), 1300)
    with pytest.raises(FeeDecisionError):
        services.close_vote(motion, chair, at=at)


def test_a_failed_fee_motion_changes_nothing(ctx):
    meeting, chair = convened(held_on=DECIDED)
    at = services.meeting_start(DECIDED, time(19))
    motion = _fee_motion(meeting, chair)
    services.open_vote(motion, chair, at=at)
    services.cast_vote(motion, factories.host(), "no")
    services.close_vote(motion, chair, at=at)
    assert motion.passed is False
    assert motion.fee_version_id is None
    assert pricing.fee_schedule_in_force(EFFECTIVE).fee_bps == 1500
