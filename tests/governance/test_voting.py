"""Voting at the meeting (DESIGN §11): one member one vote, proxies, postal votes, secret
ballots, jäv, majorities and ties, notice windows, minutes."""

from __future__ import annotations

import threading
import traceback
from datetime import date, time, timedelta

import pytest
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import OperationalError

from rentalcoop.db import begin_write
from rentalcoop.extensions import db
from rentalcoop.governance import services
from rentalcoop.governance.models import (
    Attendance,
    Channel,
    MeetingKind,
    MeetingState,
    Motion,
    SecretVote,
    Vote,
)
from rentalcoop.governance.services import GovernanceError, NotAllowed, TieNeedsChair
from rentalcoop.listings.pricing import coop_date
from tests import factories
from tests.governance.conftest import HELD_ON, add_to_agenda, convened, deliver_accounts


def _motion(meeting, chair, at, **fields):
    fields.setdefault("kind", "other")
    fields.setdefault("title", "Köp en ny gräsklippare")
    motion = add_to_agenda(meeting, proposer=chair, by_board=True, **fields)
    services.open_vote(motion, chair, at=at)
    return motion


def test_second_open_ballot_replaces_the_first(ctx, at_meeting):
    meeting, chair = convened()
    member = factories.host()
    motion = _motion(meeting, chair, at_meeting)
    services.cast_vote(motion, member, "yes", at=at_meeting)
    services.cast_vote(motion, member, "no", at=at_meeting)
    assert services.tally(motion) == {"no": 1}
    assert db.session.scalar(select(Vote.choice).where(Vote.member_id == member.id)) == "no"


def test_second_secret_ballot_is_refused(ctx, at_meeting):
    meeting, chair = convened()
    member = factories.host()
    motion = _motion(meeting, chair, at_meeting, ballot="secret")
    services.cast_vote(motion, member, "yes", at=at_meeting)
    with pytest.raises(GovernanceError):
        services.cast_vote(motion, member, "no", at=at_meeting)
    assert services.tally(motion) == {"yes": 1}
    assert services.has_voted(motion, member)


def test_secret_choice_table_has_no_member_reference_and_no_time(ctx):
    inspector = inspect(db.engine)
    columns = {c["name"]: c for c in inspector.get_columns("secret_votes")}
    assert set(columns) == {"id", "motion_id", "choice"}
    referred = {fk["referred_table"] for fk in inspector.get_foreign_keys("secret_votes")}
    assert referred == {"motions"}
    receipts = {c["name"] for c in inspector.get_columns("ballot_receipts")}
    assert not {"choice", "cast_at", "created_at"} & receipts


def test_secret_choice_rows_cannot_be_joined_to_voters(ctx, at_meeting):
    meeting, chair = convened()
    motion = _motion(meeting, chair, at_meeting, ballot="secret")
    for choice in ("yes", "no", "yes"):
        services.cast_vote(motion, factories.host(), choice, at=at_meeting)
    assert db.session.scalars(select(SecretVote.id)).all() == []  # counts only while open
    services.close_vote(motion, chair, at=at_meeting)
    keys = db.session.scalars(select(SecretVote.id)).all()
    assert len(keys) == 3
    assert all(len(key) == 32 for key in keys)
    assert db.session.scalar(select(Vote.id)) is None  # no open-ballot row was written


def test_nothing_stored_joins_a_secret_choice_to_its_receipt(ctx, at_meeting):
    """No row number (SQLite), no shared transaction id and no storage order (PostgreSQL)
    pairs a receipt with its choice, once each voter has voted in a transaction of their own."""
    meeting, chair = convened()
    motion = _motion(meeting, chair, at_meeting, ballot="secret")
    db.session.commit()
    for choice in ("yes", "no", "yes", "abstain"):
        services.cast_vote(motion, factories.host(), choice, at=at_meeting)
        db.session.commit()
    of_motion = {"m": motion.id}
    if db.engine.dialect.name == "sqlite":
        with pytest.raises(OperationalError):
            db.session.execute(text("SELECT rowid FROM secret_votes"))
        db.session.rollback()
    else:
        receipts = db.session.scalars(
            text("SELECT xmin::text FROM ballot_receipts WHERE motion_id = :m"), of_motion
        ).all()
        choices = set(
            db.session.scalars(
                text("SELECT xmin::text FROM secret_tallies WHERE motion_id = :m"), of_motion
            )
        )
        assert db.session.scalar(text("SELECT count(*) FROM secret_votes")) == 0
        assert len(receipts) == 4
        assert len(choices) == 1  # every count carries the latest voter's transaction
        assert sum(xmin in choices for xmin in receipts) == 1  # only the latest voter's
    services.close_vote(motion, chair, at=at_meeting)
    db.session.commit()
    if db.engine.dialect.name == "postgresql":
        stored = db.session.scalars(
            text("SELECT id FROM secret_votes WHERE motion_id = :m ORDER BY ctid"), of_motion
        ).all()
        assert stored == sorted(stored)  # in key order (random), not in the order they came
    assert (motion.yes_count, motion.no_count, motion.abstain_count) == (2, 1, 1)


def test_proxy_votes_and_a_personal_vote_beats_it(ctx, at_meeting):
    meeting, chair = convened()
    principal, holder = factories.host(), factories.host()
    services.grant_proxy(
        meeting, principal, holder, HELD_ON - timedelta(days=3), registered_by=chair
    )
    motion = _motion(meeting, chair, at_meeting)
    assert services.cast_vote(motion, holder, "yes", on_behalf_of=principal) == Channel.PROXY
    services.cast_vote(motion, holder, "yes", at=at_meeting)  # the holder's own vote
    assert services.tally(motion) == {"yes": 2}
    # The principal turns up and votes: the personal vote replaces the proxy's.
    services.cast_vote(motion, principal, "no", at=at_meeting)
    assert services.tally(motion) == {"yes": 1, "no": 1}
    # ...and the holder cannot override it again.
    with pytest.raises(GovernanceError):
        services.cast_vote(motion, holder, "yes", on_behalf_of=principal)
    row = db.session.scalar(select(Attendance).where(Attendance.member_id == principal.id))
    assert row.channel == Channel.IN_PERSON


def test_proxy_limits(ctx):
    meeting, chair = convened()
    a, b, c = factories.host(), factories.host(), factories.host()
    services.grant_proxy(meeting, a, b, HELD_ON - timedelta(days=30), registered_by=chair)
    with pytest.raises(GovernanceError):  # one principal per holder
        services.grant_proxy(meeting, c, b, HELD_ON - timedelta(days=30), registered_by=chair)
    with pytest.raises(GovernanceError):  # one proxy per principal
        services.grant_proxy(meeting, a, c, HELD_ON - timedelta(days=30), registered_by=chair)
    with pytest.raises(GovernanceError):  # not oneself
        services.grant_proxy(meeting, c, c, HELD_ON - timedelta(days=30), registered_by=chair)
    with pytest.raises(GovernanceError):  # not a member
        services.grant_proxy(meeting, c, factories.user(), HELD_ON, registered_by=chair)


def test_proxy_older_than_a_year_is_refused_and_expires(ctx, at_meeting):
    meeting, chair = convened()
    a, b = factories.host(), factories.host()
    with pytest.raises(GovernanceError):
        services.grant_proxy(meeting, a, b, date(2025, 5, 19), registered_by=chair)
    proxy = services.grant_proxy(meeting, a, b, date(2025, 5, 20), registered_by=chair)
    assert services.proxy_is_valid(proxy, meeting)
    # The meeting is postponed by a week: the same proxy is now more than a year old.
    meeting.held_on = HELD_ON + timedelta(days=7)
    assert not services.proxy_is_valid(proxy, meeting)
    later = services.meeting_start(meeting.held_on, time(19))
    motion = _motion(meeting, chair, later)
    with pytest.raises(GovernanceError):
        services.cast_vote(motion, b, "yes", on_behalf_of=a)


def test_revoked_proxy_cannot_vote(ctx, at_meeting):
    meeting, chair = convened()
    a, b = factories.host(), factories.host()
    proxy = services.grant_proxy(meeting, a, b, HELD_ON - timedelta(days=1), registered_by=chair)
    services.revoke_proxy(proxy)
    motion = _motion(meeting, chair, at_meeting)
    with pytest.raises(NotAllowed):
        services.cast_vote(motion, b, "yes", on_behalf_of=a)
    # Revoked, the holder may hold someone else's proxy.
    services.grant_proxy(meeting, factories.host(), b, HELD_ON, registered_by=chair)


def test_only_members_vote(ctx, at_meeting):
    meeting, chair = convened()
    motion = _motion(meeting, chair, at_meeting)
    with pytest.raises(NotAllowed):
        services.cast_vote(motion, factories.user(), "yes")


def test_no_vote_on_ones_own_discharge(ctx, at_meeting):
    meeting, chair = convened()
    subject, holder = factories.host(), factories.host()
    services.grant_proxy(meeting, subject, holder, HELD_ON, registered_by=chair)
    motion = _motion(
        meeting,
        chair,
        at_meeting,
        kind="discharge",
        title="Ansvarsfrihet",
        subject_member_id=subject.id,
    )
    with pytest.raises(GovernanceError):
        services.cast_vote(motion, subject, "yes")
    with pytest.raises(GovernanceError):
        services.cast_vote(motion, holder, "yes", on_behalf_of=subject)


def test_postal_votes_only_when_the_statutes_allow(ctx, at_meeting):
    meeting, chair = convened()
    member = factories.host()
    motion = add_to_agenda(meeting, kind="other", title="Ny logga", proposer=chair, by_board=True)
    with pytest.raises(GovernanceError):
        services.cast_vote(motion, member, "yes", postal=True)
    services.set_setting(services.POSTAL_VOTING, "yes")
    assert services.cast_vote(motion, member, "yes", postal=True) == Channel.POSTAL
    services.open_vote(motion, chair, at=at_meeting)
    assert services.tally(motion) == {"yes": 1}


def test_second_proxy_ballot_replaces_and_counts_once(ctx, at_meeting):
    meeting, chair = convened()
    principal, holder = factories.host(), factories.host()
    services.grant_proxy(meeting, principal, holder, HELD_ON, registered_by=chair)
    motion = _motion(meeting, chair, at_meeting)
    services.cast_vote(motion, holder, "yes", on_behalf_of=principal)
    services.cast_vote(motion, holder, "no", on_behalf_of=principal)
    assert services.tally(motion) == {"no": 1}


@pytest.mark.parametrize(
    ("majority", "yes", "no", "casting", "passes"),
    [
        ("simple", 3, 2, None, True),
        ("simple", 2, 3, None, False),
        ("simple", 0, 0, None, False),
        ("simple", 2, 2, "yes", True),
        ("simple", 2, 2, "no", False),
        ("two_thirds", 2, 1, None, True),  # exactly 2/3 of the votes cast
        ("two_thirds", 3, 2, None, False),
        ("three_quarters", 3, 1, None, True),
        ("three_quarters", 5, 2, None, False),
        ("three_quarters", 2, 1, None, False),
    ],
)
def test_majority_rules(majority, yes, no, casting, passes):
    assert services.motion_passes(majority, yes, no, casting) is passes


def test_a_tie_without_the_chairs_view_cannot_be_decided():
    with pytest.raises(TieNeedsChair):
        services.motion_passes("simple", 4, 4)


def test_abstentions_are_not_votes_cast(ctx, at_meeting):
    meeting, chair = convened()
    motion = _motion(meeting, chair, at_meeting)
    services.cast_vote(motion, factories.host(), "yes", at=at_meeting)
    for _ in range(3):
        services.cast_vote(motion, factories.host(), "abstain", at=at_meeting)
    services.close_vote(motion, chair, at=at_meeting)
    assert (motion.yes_count, motion.no_count, motion.abstain_count, motion.passed) == (
        1,
        0,
        3,
        True,
    )


def test_tie_is_decided_by_the_chairs_vote_and_recorded(ctx, at_meeting):
    meeting, chair = convened()
    motion = _motion(meeting, chair, at_meeting)
    services.cast_vote(motion, chair, "no", at=at_meeting)
    services.cast_vote(motion, factories.host(), "yes", at=at_meeting)
    services.close_vote(motion, chair, at=at_meeting)
    assert motion.passed is False
    assert motion.chair_casting_vote == "no"


def test_secret_tie_needs_the_chairs_casting_vote(ctx, at_meeting):
    meeting, chair = convened()
    motion = _motion(meeting, chair, at_meeting, ballot="secret")
    services.cast_vote(motion, factories.host(), "yes")
    services.cast_vote(motion, factories.host(), "no")
    with pytest.raises(TieNeedsChair):
        services.close_vote(motion, chair, at=at_meeting)
    services.close_vote(motion, chair, casting_vote="yes", at=at_meeting)
    assert motion.passed is True
    assert motion.chair_casting_vote == "yes"


def test_statute_majorities_are_enforced_through_close(ctx, at_meeting):
    services.set_setting(services.STATUTES_ONE_MEETING, "yes")
    meeting, chair = convened(changes_statutes=True)
    motion = _motion(
        meeting,
        chair,
        at_meeting,
        kind="statutes",
        title="Tillåt poströstning",
        setting_key=services.POSTAL_VOTING,
        setting_value="yes",
    )
    assert motion.majority == "two_thirds"  # from the kind, not chosen
    for choice in ("yes", "yes", "no"):
        services.cast_vote(motion, factories.host(), choice)
    services.close_vote(motion, chair, at=at_meeting)
    assert motion.passed is True
    assert motion.valid_on == HELD_ON
    assert not services.setting_enabled(services.POSTAL_VOTING)  # not before registration
    services.register_statute_change(
        motion, HELD_ON + timedelta(days=20), chair, today=HELD_ON + timedelta(days=30)
    )
    assert services.setting_enabled(services.POSTAL_VOTING)


def test_election_most_votes_and_tie_by_recorded_lot(ctx, at_meeting):
    meeting, chair = convened()
    a, b, c = factories.host(), factories.host(), factories.host()
    motion = add_to_agenda(
        meeting,
        kind="election",
        title="Val av styrelseledamot",
        proposer=chair,
        by_board=True,
        candidates=[a.id, b.id, c.id],
        seats=1,
    )
    services.open_vote(motion, chair, at=at_meeting)
    ids = {cand.user_id: cand.id for cand in motion.candidates}
    for voter, who in [(factories.host(), a), (factories.host(), b), (factories.host(), c)]:
        services.cast_vote(motion, voter, f"candidate:{ids[who.id]}")
    services.cast_vote(motion, factories.host(), f"candidate:{ids[a.id]}")
    services.cast_vote(motion, factories.host(), f"candidate:{ids[b.id]}")
    services.close_vote(motion, chair, at=at_meeting)
    assert motion.lot_seed is not None
    elected = [cand for cand in motion.candidates if cand.is_elected]
    assert len(elected) == 1
    assert elected[0].user_id in (a.id, b.id)
    # Anyone can redo the draw from the recorded seed.
    votes = {cand.id: cand.votes for cand in motion.candidates}
    assert services.elect(votes, 1, motion.lot_seed) == [elected[0].id]


def test_election_without_tie_needs_no_lot():
    assert services.elect({1: 3, 2: 5, 3: 1}, 2, None) == [2, 1]
    assert not services.needs_lot({1: 3, 2: 5, 3: 1}, 2)
    assert services.needs_lot({1: 3, 2: 5, 3: 3}, 2)


def test_only_the_chair_opens_and_closes(ctx, at_meeting):
    meeting, chair = convened()
    motion = add_to_agenda(meeting, kind="other", title="x", proposer=chair, by_board=True)
    other_board = factories.user(board=True)
    with pytest.raises(NotAllowed):
        services.open_vote(motion, other_board, at=at_meeting)
    with pytest.raises(GovernanceError):  # not before the meeting day
        services.open_vote(
            motion, chair, at=services.meeting_start(HELD_ON - timedelta(days=1), time(12))
        )
    services.open_vote(motion, chair, at=at_meeting)
    with pytest.raises(NotAllowed):
        services.close_vote(motion, other_board, at=at_meeting)


@pytest.mark.parametrize(
    ("kind", "statutes", "weeks_before", "ok"),
    [
        ("ordinary", False, 5, True),
        ("ordinary", False, 3, False),
        ("ordinary", False, 7, False),
        ("extra", False, 3, True),
        ("extra", False, 1, False),
        ("extra", True, 3, False),
        ("extra", True, 6, True),
    ],
)
def test_notice_window(ctx, kind, statutes, weeks_before, ok):
    board = factories.user(board=True)
    services.set_setting(services.DIGITAL_MEETINGS, "yes")  # the statutes allow it
    meeting, _ = services.create_meeting(
        kind=kind,
        format="digital",
        title="Stämma",
        starts_at=services.meeting_start(HELD_ON, time(18)),
        join_info="https://meet.example.org/stamma",
        by=board,
        changes_statutes=statutes,
        today=HELD_ON - timedelta(weeks=8),
    )
    on = HELD_ON - timedelta(weeks=weeks_before)
    if kind == "ordinary":
        deliver_accounts(meeting, board, on=HELD_ON - timedelta(weeks=8))
    if ok:
        services.send_notice(meeting, board, on=on)
        assert meeting.state == MeetingState.CONVENED
    else:
        with pytest.raises(GovernanceError):
            services.send_notice(meeting, board, on=on)


def test_notice_is_mailed_to_each_member_in_their_language(ctx):
    from rentalcoop.outbox import OutboxMessage

    factories.host(locale="en")
    meeting, _chair = convened()  # the board member and the host are the members at notice
    rows = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.template == "meeting_notice")
    ).all()
    assert len(rows) == 2
    assert {row.locale for row in rows} == {"sv", "en"}
    assert all(row.context == {"meeting_id": meeting.id} for row in rows)


def test_annual_meeting_has_fixed_items_and_warns_when_late(ctx):
    board = factories.user(board=True)
    meeting, warnings = services.create_meeting(
        kind=MeetingKind.ORDINARY,
        format="physical",
        title="Årsstämma",
        starts_at=services.meeting_start(date(2026, 9, 1), time(18)),
        venue="Bygdegården",
        by=board,
        today=date(2026, 7, 1),
    )
    kinds = [m.kind for m in meeting.motions]
    assert kinds == ["accounts", "disposition", "discharge", "election", "election"]
    assert [m.office for m in meeting.motions[-2:]] == ["board", "auditor"]
    assert meeting.fiscal_year == 2025
    assert warnings
    discharge = meeting.motions[2]
    assert discharge.subject_member_id == board.id


def test_member_motions_before_the_deadline_then_the_board_places_them(ctx):
    meeting, chair = convened()
    meeting.motion_deadline = HELD_ON - timedelta(days=20)
    member = factories.host()
    motion = add_to_agenda(
        meeting,
        kind="other",
        title="Cykelställ",
        proposer=member,
        by_board=False,
        today=HELD_ON - timedelta(days=21),
    )
    assert motion.state == "submitted"
    with pytest.raises(GovernanceError):
        add_to_agenda(
            meeting,
            kind="other",
            title="För sent",
            proposer=member,
            by_board=False,
            today=HELD_ON - timedelta(days=19),
        )
    with pytest.raises(NotAllowed):
        add_to_agenda(
            meeting,
            kind="other",
            title="Gäst",
            proposer=factories.user(),
            by_board=False,
            today=HELD_ON - timedelta(days=30),
        )
    services.place_on_agenda(motion)
    assert motion.state == "on_agenda"


def test_minutes_signed_by_officers_then_published(ctx, at_meeting):
    meeting, chair = convened()
    motion = _motion(meeting, chair, at_meeting)
    services.cast_vote(motion, chair, "yes")
    services.close_vote(motion, chair, at=at_meeting)
    with pytest.raises(GovernanceError):
        services.sign_minutes(meeting, chair)  # not closed yet
    services.close_meeting(meeting)
    with pytest.raises(NotAllowed):
        services.sign_minutes(meeting, factories.host())
    officers = {o.user_id for o in meeting.officers}
    published = [
        services.sign_minutes(meeting, db.session.get(type(chair), uid)) for uid in sorted(officers)
    ]
    assert published[-1] is True
    assert published[:-1] == [False] * (len(officers) - 1)
    assert meeting.state == MeetingState.PUBLISHED
    assert db.session.get(Motion, motion.id).yes_count == 1


def test_members_voting_secretly_at_the_same_time_are_all_counted(app, at_meeting):
    """The choices' rewrite (PostgreSQL) makes secret voters take turns: no deadlock, no loss."""
    voters = 12
    with app.app_context():
        meeting, chair = convened()
        motion = _motion(meeting, chair, at_meeting, ballot="secret")
        member_ids = [factories.host().id for _ in range(voters)]
        db.session.commit()
        motion_id, chair_id = motion.id, chair.id

    barrier = threading.Barrier(voters)
    errors: list[str] = []

    def vote(n: int) -> None:
        with app.app_context():
            try:
                barrier.wait(30)
                begin_write(db.session)  # what a POST request does first (SQLite)
                found = db.session.get(Motion, motion_id)
                member = db.session.get(factories.User, member_ids[n])
                services.cast_vote(found, member, "yes" if n % 3 else "no", at=at_meeting)
                db.session.commit()
            except Exception:  # noqa: BLE001 - reported below
                errors.append(traceback.format_exc())

    threads = [threading.Thread(target=vote, args=(n,)) for n in range(voters)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, "\n".join(errors[:1])
    with app.app_context():
        found = db.session.get(Motion, motion_id)
        services.close_vote(found, db.session.get(factories.User, chair_id), at=at_meeting)
        db.session.commit()
        assert (found.yes_count, found.no_count) == (8, 4)


def test_a_member_gives_only_their_own_proxy_dated_the_day_they_give_it(ctx):
    meeting, _chair = convened(held_on=coop_date() + timedelta(weeks=6))
    member, holder, other = factories.host(), factories.host(), factories.host()
    with pytest.raises(NotAllowed):
        services.grant_proxy(meeting, other, holder, None, registered_by=member)
    proxy = services.grant_proxy(
        meeting, member, holder, coop_date() - timedelta(days=30), registered_by=member
    )
    assert proxy.signed_on == coop_date()  # not the date the member typed
