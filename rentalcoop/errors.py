"""Domain errors and the translated error pages."""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException


class DomainError(Exception):
    """A rule of the cooperative was broken; `message` is translatable and shown to the user."""

    status_code = 409

    def __init__(self, message, **params):
        super().__init__(message)
        self._message = message
        self.params = params

    @property
    def message(self) -> str:
        text = str(self._message)
        return text % self.params if self.params else text

    def __str__(self) -> str:
        return self.message


# What each status means to a person, in their language.
ERROR_TEXTS = {
    400: (_l("Bad request"), _l("We could not understand that request. Please try again.")),
    403: (_l("Access denied"), _l("You do not have permission to see this page.")),
    404: (_l("Page not found"), _l("The page you were looking for does not exist.")),
    405: (_l("Method not allowed"), _l("That action is not possible on this page.")),
    409: (_l("Conflict"), _l("That could not be done because something changed meanwhile.")),
    413: (_l("Too large"), _l("What you sent is larger than we accept.")),
    422: (_l("Invalid input"), _l("Some of what you entered needs fixing.")),
    429: (
        _l("Too many attempts"),
        _l("You have tried too often. Please wait a while and try again."),
    ),
    500: (_l("Something went wrong"), _l("An error on our side stopped this. We have been told.")),
}


def _wants_json() -> bool:
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return (
        best == "application/json"
        and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]
    )


def render_error(code: int, detail: str | None = None):
    """The error page. What the request did is rolled back first: a failed flush leaves the
    session unusable, and the page itself reads the database (the current user, the menu)."""
    from rentalcoop.extensions import db

    db.session.rollback()
    title, text = ERROR_TEXTS.get(code, ERROR_TEXTS[500])
    if _wants_json():
        return jsonify(error=str(title), detail=detail or str(text)), code
    return render_template("errors/error.html", code=code, title=title, text=detail or text), code


def register_errorhandlers(app: Flask) -> None:
    def handle_http(err: HTTPException):
        code = err.code or 500
        if code not in ERROR_TEXTS:
            return err
        response = render_error(code)
        if code == 405 and err.valid_methods:
            body, status = response
            return body, status, {"Allow": ", ".join(err.valid_methods)}
        return response

    def handle_csrf(err: CSRFError):
        return render_error(
            400, str(_l("The form had expired or was not sent from this site. Please try again."))
        )

    def handle_domain(err: DomainError):
        return render_error(err.status_code, err.message)

    def handle_unexpected(err: Exception):
        if app.testing and not app.config.get("RENDER_500_IN_TESTS"):
            raise err  # tests must see every server error, never a rendered page hiding it
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        return render_error(500)

    app.register_error_handler(CSRFError, handle_csrf)
    app.register_error_handler(HTTPException, handle_http)
    app.register_error_handler(DomainError, handle_domain)
    app.register_error_handler(Exception, handle_unexpected)
