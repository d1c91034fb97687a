"""A principal revokes a proxy while its holder votes with it (issue 12).

Either the vote came first (it stands, DESIGN §11: "votes already cast through it stand") or the
revocation did (the vote is refused) — never a vote through a proxy that was already revoked.
The revocation starts once the holder's request has read the proxy, and that request is held
there until the revocation has committed: every round plays the interleaving that let such a
vote through before the proxy was locked (PostgreSQL; on SQLite the voter's write lock makes the
revocation wait, and the hold lapses after a second).
"""

from __future__ import annotations

import threading
from datetime import time, timedelta

import pytest
from sqlalchemy import event, select

from rentalcoop import invariants
from rentalcoop.extensions import db
from rentalcoop.governance import services
from rentalcoop.governance.models import Channel, Motion, Proxy, Vote
from rentalcoop.listings.pricing import coop_date
from tests import factories
from tests.helpers import csrf_token, login
from tests.races import race

ROUNDS = 3


@pytest.fixture
def meeting(app):
    """A meeting held today, chaired by the board member; a principal and a holder."""
    today = coop_date()
    with app.app_context():
        board = factories.user(board=True, email="board@example.org")
        factories.host(email="principal@example.org")
        factories.host(email="holder@example.org")
        meeting, _ = services.create_meeting(
            kind="extra",
            format="physical",
            title="Extrastämma",
            starts_at=services.meeting_start(today, time(0, 1)),
            venue="Bygdegården",
            by=board,
            today=today - timedelta(weeks=3),
        )
        # Every round's matter is on the notice, which freezes the agenda (issue 14).
        for n in range(ROUNDS):
            services.add_motion(
                meeting,
                kind="other",
                title=f"Motion {n}",
                proposer=board,
                by_board=True,
                today=today - timedelta(weeks=3),
            )
        services.send_notice(meeting, board, on=today - timedelta(weeks=3))
        secretary, adjuster = factories.host(), factories.host()
        services.set_officers(meeting, chair=board, secretary=secretary, adjusters=[adjuster])
        db.session.commit()
        return meeting.id


def _round(app, meeting_id: int, n: int) -> tuple[int, int, int]:
    """A motion open for voting and a fresh proxy from the principal to the holder."""
    from rentalcoop.accounts.models import User
    from rentalcoop.governance.models import Meeting

    with app.app_context():
        meeting = db.session.get(Meeting, meeting_id)
        board = db.session.scalar(select(User).where(User.is_board))
        principal = db.session.scalar(select(User).where(User.email == "principal@example.org"))
        holder = db.session.scalar(select(User).where(User.email == "holder@example.org"))
        motion = db.session.scalar(
            select(Motion).where(Motion.meeting_id == meeting.id, Motion.title == f"Motion {n}")
        )
        services.open_vote(motion, board)
        proxy = services.grant_proxy(meeting, principal, holder, None, registered_by=principal)
        db.session.commit()
        return motion.id, proxy.id, principal.id


def test_a_proxy_revoked_while_its_holder_votes(app, meeting):
    clients = {}
    for who in ("principal", "holder"):
        client = app.test_client()
        login(client, f"{who}@example.org")
        clients[who] = (client, csrf_token(client, "/account"))
    with app.app_context():
        engine = db.engine

    for n in range(ROUNDS):
        motion_id, proxy_id, principal_id = _round(app, meeting, n)
        voted, revoke_status = _race(engine, clients, motion_id, proxy_id, principal_id)
        assert revoke_status == 303
        assert voted in (303, 403)  # recorded, or "you hold no proxy for …"
        with app.app_context():
            proxy = db.session.get(Proxy, proxy_id)
            assert proxy.revoked_at is not None
            ballot = db.session.scalar(
                select(Vote).where(Vote.motion_id == motion_id, Vote.member_id == principal_id)
            )
            assert (ballot is not None) == (voted == 303)
            if ballot is not None:
                assert ballot.channel == Channel.PROXY
                assert ballot.cast_at <= proxy.revoked_at  # cast while the proxy was live
            assert db.session.get(Motion, motion_id).state == "open"
            assert invariants.violations() == []


def _race(engine, clients, motion_id: int, proxy_id: int, principal_id: int) -> list:
    """The holder votes for the principal while the principal revokes the proxy."""
    read, revoked = threading.Event(), threading.Event()
    voter: dict = {}

    def hold_after_reading_the_proxy(conn, cursor, statement, *args):
        if (
            threading.get_ident() == voter.get("thread")
            and "FROM proxies" in statement
            and not voter.get("held")
        ):
            voter["held"] = True
            read.set()
            revoked.wait(timeout=1)

    def vote():
        voter["thread"] = threading.get_ident()
        client, token = clients["holder"]
        data = {
            "csrf_token": token,
            f"m{motion_id}-choice": "yes",
            f"m{motion_id}-on_behalf_of": str(principal_id),
        }
        return client.post(f"/motions/{motion_id}/vote", data=data).status_code

    def revoke():
        client, token = clients["principal"]
        read.wait(timeout=1)  # the holder has just found the proxy live
        try:
            return client.post(
                f"/proxies/{proxy_id}/revoke", data={"csrf_token": token}
            ).status_code
        finally:
            revoked.set()

    event.listen(engine, "after_cursor_execute", hold_after_reading_the_proxy)
    try:
        return race(vote, revoke)
    finally:
        event.remove(engine, "after_cursor_execute", hold_after_reading_the_proxy)
