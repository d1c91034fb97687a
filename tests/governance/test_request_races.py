"""Members sign a request for an extra meeting at the same moment (issue 14).

With 21 members a request needs 3 signatures; the requester's is the first. Two members sign
at once: whichever commits second must see the other's signature and make the request valid.
Without the request row locked, each counted 2 on PostgreSQL (its own and the requester's) and
the request stayed short with three signatures.
"""

from __future__ import annotations

from sqlalchemy import func, select

from rentalcoop.extensions import db
from rentalcoop.governance import services
from rentalcoop.governance.models import MeetingRequest, MeetingRequestSignature
from tests import factories
from tests.helpers import csrf_token, login
from tests.races import post, race

ROUNDS = 3


def test_two_members_sign_at_once_and_the_tenth_is_reached(app):
    with app.app_context():
        factories.user(board=True)
        for n in range(20):
            factories.host(email=f"m{n}@example.org")
        db.session.commit()
        assert services.signatures_needed() == 3
    clients = []
    for n in (1, 2):
        client = app.test_client()
        login(client, f"m{n}@example.org")
        clients.append((client, csrf_token(client, "/member/extra-meeting")))
    for n in range(ROUNDS):
        with app.app_context():
            requester = db.session.scalar(
                select(factories.User).where(factories.User.email == "m0@example.org")
            )
            request_id = services.request_extra_meeting(requester, f"Ärende {n}").id
            db.session.commit()
        url = f"/member/extra-meeting/{request_id}/sign"
        statuses = race(*(post(c, url, {"csrf_token": token}) for c, token in clients))
        assert statuses == [303, 303]
        with app.app_context():
            count = db.session.scalar(
                select(func.count()).where(MeetingRequestSignature.request_id == request_id)
            )
            assert count == 3
            assert db.session.get(MeetingRequest, request_id).received_on is not None
