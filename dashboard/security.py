"""Response headers and cookie settings that every page and API answer carries."""
from __future__ import annotations

# Everything is served from this origin: no inline script or style, no third parties,
# and no framing (clickjacking a "Show in header" switch or a sign-in form).
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


EVERY_RESPONSE = (
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "no-referrer"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
    ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
)


# Balances are personal: never kept by shared caches or the back button's cache.
NOT_STORED = ("Cache-Control", "no-store")


def response_headers(config) -> tuple[tuple[str, str], ...]:
    """The headers every answer carries under this configuration (HSTS only over HTTPS)."""
    if config.get("HSTS"):
        return (*EVERY_RESPONSE, ("Strict-Transport-Security", "max-age=63072000; includeSubDomains"))
    return EVERY_RESPONSE


def init_app(app) -> None:
    # Flask's defaults exist already (SameSite=None), so these are set, not defaulted.
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.config["REMEMBER_COOKIE_HTTPONLY"] = True
    app.config["REMEMBER_COOKIE_SAMESITE"] = "Lax"
    app.config["REMEMBER_COOKIE_SECURE"] = app.config.get("SESSION_COOKIE_SECURE", False)

    always = response_headers(app.config)

    @app.after_request
    def add_security_headers(response):
        # Each header unless the view set its own: one pass over the response's headers.
        headers = response.headers
        present = {name.lower() for name in headers.keys()}
        for name, value in always:
            if name.lower() not in present:
                headers.add(name, value)
        if "cache-control" not in present and response.mimetype in ("text/html", "application/json"):
            headers.add(*NOT_STORED)
        return response
