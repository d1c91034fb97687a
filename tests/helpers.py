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


class _FormReader:
    """Collects, per <form>, what a browser would submit unchanged (html.parser based)."""

    def __init__(self):
        from html.parser import HTMLParser

        reader = self
        self.forms: list[dict] = []
        self._form = None
        self._select = None
        self._textarea = None

        class Parser(HTMLParser):
            def handle_starttag(self, tag, attrs):
                reader.start(tag, dict(attrs))

            def handle_endtag(self, tag):
                reader.end(tag)

            def handle_data(self, data):
                if reader._textarea is not None:
                    reader._textarea[1].append(data)

        self.parser = Parser(convert_charrefs=True)

    def start(self, tag, attrs):
        if tag == "form":
            self._form = {"action": attrs.get("action", ""), "method": attrs.get("method", "get")}
            self._form["fields"] = []
            self.forms.append(self._form)
        if self._form is None or "disabled" in attrs:
            return
        fields = self._form["fields"]
        name = attrs.get("name")
        if tag == "input" and name:
            kind = attrs.get("type", "text")
            if kind in ("checkbox", "radio"):
                if "checked" in attrs:
                    fields.append((name, attrs.get("value", "on")))
            elif kind not in ("submit", "button", "file", "image", "reset"):
                fields.append((name, attrs.get("value", "")))
        elif tag == "select" and name:
            self._select = {"name": name, "chosen": None, "first": None}
        elif tag == "option" and self._select is not None:
            value = attrs.get("value", "")
            if self._select["first"] is None:
                self._select["first"] = value
            if "selected" in attrs:
                self._select["chosen"] = value
        elif tag == "textarea" and name:
            self._textarea = (name, [])

    def end(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select" and self._select is not None:
            chosen = self._select["chosen"]
            if chosen is None:
                chosen = self._select["first"]
            if chosen is not None and self._form is not None:
                self._form["fields"].append((self._select["name"], chosen))
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            name, parts = self._textarea
            # A browser drops the newline that directly follows <textarea>.
            text = "".join(parts)
            self._form["fields"].append((name, text[1:] if text.startswith("\n") else text))
            self._textarea = None


def forms_of(html: str) -> list[dict]:
    """Each form of the page: action, method and the (name, value) pairs a browser submits
    when nothing is changed (checked boxes, selected or first options, textarea text)."""
    reader = _FormReader()
    reader.parser.feed(html)
    reader.parser.close()
    return reader.forms


def submit_unchanged(client, url: str, action: str | None = None, **kwargs):
    """GET `url` and submit its form (the one posting to `action`, default: the first POST
    form that is not the log-out button) exactly as a browser would with nothing changed."""
    from werkzeug.datastructures import MultiDict

    page = client.get(url).get_data(as_text=True)
    candidates = [
        f
        for f in forms_of(page)
        if f["method"].lower() == "post"
        and (action is None or f["action"] == action)
        and not f["action"].endswith("/logout")
    ]
    assert candidates, f"no such form on {url}"
    form = candidates[0]
    return client.post(form["action"] or url, data=MultiDict(form["fields"]), **kwargs)
