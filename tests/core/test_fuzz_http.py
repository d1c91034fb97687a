"""HTTP fuzzing (issue 12, item 4): every route of `app.url_map`, with hostile ids, query
strings and form fields, as an anonymous visitor, a guest and a board member (who is a host
too): never a 5xx.

The app runs with TESTING (an unexpected exception propagates and fails the test) and with
WTF_CSRF_ENABLED off in this module only, so POSTs reach the views' validation and services
instead of stopping at the CSRF check (CSRF itself is tested with real tokens elsewhere).
Hypothesis runs derandomized with a bounded number of examples, so a run is repeatable and
short on both databases.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.routing import IntegerConverter

from rentalcoop.extensions import db
from rentalcoop.input_guard import _form_field_names
from tests import factories

# Never sent by a logged-in client: they end the very session the test goes on using.
SESSION_ENDING = {"accounts.logout", "accounts.logout_everywhere", "accounts.delete"}
# The board member is a host member too, with a listing of their own: host pages are covered.
ROLES = ("anonymous", "guest", "board")

HUGE_INTS = [2**31 - 1, 2**31, 2**32, 2**63 - 1, 2**63, 2**64, 10**30]
ODD_TEXT = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "1e30",
    "-1e30",
    "NaN",
    "Infinity",
    "sNaN",
    "1e-30",
    "9" * 40,
    "-1",
    "0",
    "2147483648",
    "9223372036854775808",
    "9999-12-31",
    "0001-01-01",
    "2027-02-30",
    "99999-99",
    "\u202e\u0301\ufeff",
    "😀" * 3,
    "' OR 1=1 --",
    "<script>",
    "%00",
    "../../etc/passwd",
    "x" * 5000,
]
QUERY_KEYS = [
    "page",
    "year",
    "version",
    "month",
    "check_in",
    "check_out",
    "guests",
    "min_price",
    "max_price",
    "sort",
    "area",
    "property_type",
    "instant",
    "next",
    "lang",
    "reviews_page",
    "checkout",
    "onboarding",
]

hostile_text = st.one_of(
    st.sampled_from(ODD_TEXT),
    st.sampled_from(HUGE_INTS).map(str),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
)


@pytest.fixture
def app_config(tmp_path):
    return {"WTF_CSRF_ENABLED": False, "UPLOAD_DIR": str(tmp_path / "uploads")}


@pytest.fixture
def clients(app):
    """A logged-in client per role, and the objects whose ids 1 the routes can reach."""
    with app.app_context():
        board = factories.user(board=True, email="board@example.org")
        guest = factories.user(email="guest@example.org")
        home = factories.listing(host=board)
        factories.booking(listing=home, guest=guest)
        factories.community_project()
        db.session.commit()
    made = {"anonymous": app.test_client()}
    for role in ROLES[1:]:
        made[role] = app.test_client()
        data = {"email": f"{role}@example.org", "password": factories.PASSWORD}
        assert made[role].post("/login", data=data).status_code == 303
    return made


def _routes(app):
    return sorted(
        (rule for rule in app.url_map.iter_rules() if rule.endpoint != "static"),
        key=lambda rule: rule.rule,
    )


def _url(rule, ints, text):
    """The rule's path with `ints` for its numbers and `text` for its strings, built by hand
    so values no converter would accept (huge ids) still reach the router."""
    path = rule.rule
    for arg, converter in rule._converters.items():
        if isinstance(converter, IntegerConverter):
            value = str(ints.get(arg, 1))
        else:
            value = text.get(arg, "x")
        # Rule text: <int:name>, <year:name>, <string:name>, <name>, <path:name>.
        for spelled in (f"<{kind}:{arg}>" for kind in ("int", "year", "string", "path")):
            path = path.replace(spelled, value)
        path = path.replace(f"<{arg}>", value)
    return path


def _request(client, rule, ints, text, query, form):
    """GET the route, or POST `form` to it (a POST-only route gets an empty form)."""
    url = _url(rule, ints, text)
    if "GET" in rule.methods and (form is None or "POST" not in rule.methods):
        response = client.get(url, query_string=query)
    else:
        response = client.post(url, query_string=query, data=form or {})
    response.get_data()  # a streamed body (CSV) runs to its end
    response.close()
    return response


def _check(response, what):
    assert response.status_code < 500, (what, response.status_code)


@pytest.mark.parametrize("role", ROLES)
def test_every_route_answers_hostile_ids_below_500(app, clients, role):
    """Each route with id 1 and with ids beyond int8; GET, and POST where it takes one."""
    client = clients[role]
    hostile_form = {"title": "\x00", "amount_ore": str(2**40), "body": "a\x00"}
    for rule in _routes(app):
        if role != "anonymous" and rule.endpoint in SESSION_ENDING:
            continue
        forms = [None, hostile_form] if rule.methods >= {"GET", "POST"} else [hostile_form]
        for number in (1, 2**63):
            ints = {arg: number for arg in rule.arguments}
            for form in forms:
                response = _request(client, rule, ints, {}, {"page": str(number)}, form)
                _check(response, (role, rule.rule, number, form))
        # Bytes that are not UTF-8 in the query string.
        response = _request(client, rule, {}, {}, "page=%ff&check_in=%c0%80&sort=%fe", None)
        _check(response, (role, rule.rule, "not utf-8"))


@st.composite
def hostile_requests(draw, rules):
    rule = draw(st.sampled_from(rules))
    ints = {
        arg: draw(st.one_of(st.integers(0, 3), st.sampled_from(HUGE_INTS)))
        for arg, conv in rule._converters.items()
        if isinstance(conv, IntegerConverter)
    }
    text = {
        arg: draw(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=20))
        .replace("/", "")
        .replace("?", "")
        .replace("#", "")
        or "x"
        for arg, conv in rule._converters.items()
        if not isinstance(conv, IntegerConverter)
    }
    any_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=8)
    keys = st.one_of(st.sampled_from(QUERY_KEYS), any_text.filter(bool))
    query = draw(st.dictionaries(keys, hostile_text, max_size=4))
    form = None
    if "POST" in rule.methods:
        names = st.one_of(st.sampled_from(sorted(_form_field_names())), any_text)
        form = draw(st.dictionaries(names, hostile_text, max_size=6))
    return rule, ints, text, query, form


@pytest.mark.parametrize("role", ROLES)
def test_fuzzed_requests_never_get_a_server_error(app, clients, role):
    client = clients[role]
    rules = [r for r in _routes(app) if not (role != "anonymous" and r.endpoint in SESSION_ENDING)]

    @settings(
        max_examples=50,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(hostile_requests(rules))
    def fuzz(case):
        rule, ints, text, query, form = case
        _check(_request(client, rule, ints, text, query, form), (role, rule.rule, case))

    fuzz()
