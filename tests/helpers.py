"""Helpers for functional tests: real forms, real CSRF tokens."""

from __future__ import annotations

import re

CSRF_RE = re.compile(
    r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"'
)


def csrf_token(client, url: str) -> str:
    """The CSRF token of the first form on `url`, as a browser would send it."""
    page = client.get(url).get_data(as_text=True)
    match = CSRF_RE.search(page)
    assert match, f"no csrf_token on {url}"
    return match.group(1) or match.group(2)


def post_form(client, url: str, data: dict, *, form_url: str | None = None, **kwargs):
    """Submit a form the way a browser does: fetch its page for the token, then post."""
    data = {"csrf_token": csrf_token(client, form_url or url), **data}
    return client.post(url, data=data, **kwargs)


def login(client, email: str, password: str = "correct horse battery", **kwargs):
    return post_form(client, "/login", {"email": email, "password": password, **kwargs})


def logout(client):
    return post_form(client, "/logout", {}, form_url="/account")


def text_of(response) -> str:
    return response.get_data(as_text=True)
