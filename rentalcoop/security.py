"""Security headers (ASVS 3.4): a Content-Security-Policy that needs no inline script or style."""

from flask import Flask, request

CSP = "; ".join(
    [
        "default-src 'self'",
        "img-src 'self' data:",
        "style-src 'self'",
        "script-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


def csp_for(app: Flask) -> str:
    """The policy, letting images come from the coop's tile server when one is configured."""
    from rentalcoop.listings.district_map import tile_origin

    origin = tile_origin(app.config.get("MAP_TILE_URL"))
    return CSP.replace("img-src 'self' data:", f"img-src 'self' data: {origin}") if origin else CSP


def init_app(app: Flask) -> None:
    policy = csp_for(app)

    @app.after_request
    def set_security_headers(response):
        headers = response.headers
        headers.setdefault("Content-Security-Policy", policy)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Permissions-Policy", "geolocation=(), camera=(), microphone=()")
        if app.config.get("SESSION_COOKIE_SECURE"):
            headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        if request.endpoint != "static" and "Cache-Control" not in headers:
            # Pages can carry personal data: never kept by shared caches.
            headers["Cache-Control"] = "private, no-cache"
        return response
