"""Configuration read from the environment, and the guard that refuses unsafe production settings."""
from __future__ import annotations

import os
import re
from datetime import timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# Keys that must never protect a production deployment: the development default and
# the examples people copy from documentation.
WEAK_SECRET_KEYS = frozenset({"", "dev", "development", "secret", "changeme", "change-me", "dev-only-insecure-key"})
MIN_SECRET_KEY_LENGTH = 32
DEV_SECRET_KEY = "dev-only-insecure-key"


# Werkzeug 3.1 compares an entry without its ":port" part, so "::1" never matches a bracketed
# IPv6 Host ("[::1]:5000"): it is listed for when that is fixed; serve on localhost meanwhile.
DEFAULT_TRUSTED_HOSTS = "localhost,127.0.0.1,::1"
_HOST_NAME = re.compile(r"^\.?[a-z0-9-]+(\.[a-z0-9-]+)*\.?$|^[0-9a-f:.]*:[0-9a-f:.]*$", re.IGNORECASE)


class ConfigurationError(RuntimeError):
    """The app refuses to start; the message says why and what to set."""


def _bool(value: str | None, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    # int() alone would also take "６０", "6_0" and " 60 "; a setting is plain ASCII digits.
    if raw.startswith("-") and raw[1:].isascii() and raw[1:].isdigit():
        raise ConfigurationError(f"{name} must not be negative, got {raw!r}")
    if not (raw.isascii() and raw.isdigit()):
        raise ConfigurationError(f"{name} must be a whole number, got {raw!r}")
    return int(raw)


def _positive(name: str, default: int) -> int:
    value = _int(name, default)
    if value == 0:
        raise ConfigurationError(f"{name} must be at least 1, got 0")
    return value


def trusted_hosts(value: str) -> list[str]:
    """TRUSTED_HOSTS as Flask wants it: names, IPv4 or IPv6 addresses, ".domain" for subdomains,
    comma-separated; a URL, a port or an empty list stops the start rather than trusting nothing."""
    names = [name.strip().lower() for name in value.split(",") if name.strip()]
    bad = [name for name in names if not _HOST_NAME.match(name) or len(name) > 253]
    if bad or not names:
        raise ConfigurationError(
            "TRUSTED_HOSTS must list host names or addresses separated by commas, such as "
            f"'wallet.example.com,localhost' (no scheme, port or path), got {value!r}")
    return names


def replica_urls(value: str) -> list[str]:
    """DATABASE_REPLICA_URLS: PostgreSQL URLs separated by commas; anything else stops the start."""
    urls = [url.strip() for url in value.split(",") if url.strip()]
    bad = [url for url in urls if not url.startswith(("postgresql://", "postgresql+psycopg://"))]
    if bad:
        raise ConfigurationError(
            "DATABASE_REPLICA_URLS must list PostgreSQL URLs separated by commas, such as "
            f"'postgresql+psycopg://reader@replica1/dashboard', got {len(bad)} that are not")
    return urls


def check_replicas(config) -> None:
    """Replicas stand beside a PostgreSQL primary; with SQLite there is nothing to replicate."""
    if config.get("DATABASE_REPLICA_URLS") and not (config.get("SQLALCHEMY_DATABASE_URI") or "").startswith("postgresql"):
        raise ConfigurationError("DATABASE_REPLICA_URLS needs DATABASE_URL to be the PostgreSQL primary they replicate")
    listen = config.get("DATABASE_LISTEN_URL") or ""
    if listen and not listen.startswith(("postgresql://", "postgresql+psycopg://")):
        raise ConfigurationError("DATABASE_LISTEN_URL must be a PostgreSQL URL (the primary, not a PgBouncer), or unset")


def check_limits(config) -> None:
    """A limit the `limits` library cannot read must stop the start, not the first sign-in."""
    from limits import parse

    for name in ("LOGIN_LIMIT", "SECOND_STEP_LIMIT", "API_FAILURE_LIMIT"):
        try:
            parse(config.get(name) or "")
        except ValueError:
            raise ConfigurationError(f"{name} must be a limit such as '10 per hour', got {config.get(name)!r}") from None


def from_environment() -> dict:
    """Settings from environment variables; every one is a row of docs/configuration.md (tests/docs checks it)."""
    env = os.environ
    https = _bool(env.get("DASHBOARD_HTTPS"))
    return {
        "ENV_NAME": env.get("DASHBOARD_ENV", "production"),
        "SECRET_KEY": env.get("SECRET_KEY", ""),
        "DEBUG": _bool(env.get("FLASK_DEBUG")),
        "SQLALCHEMY_DATABASE_URI": env.get("DATABASE_URL") or None,
        # PostgreSQL only: a request's statement that runs longer (stalled by a lock, say) is
        # cancelled and the request answers 503, freeing the worker; 0 lets statements run on.
        # Operator commands are not bounded (dashboard/database.py).
        "DATABASE_STATEMENT_TIMEOUT_MS": _int("DATABASE_STATEMENT_TIMEOUT_MS", 5000),
        # PostgreSQL streaming replicas the signed-in reads may use (read_path/replicas.py),
        # comma-separated; a replica further behind than REPLICA_MAX_LAG_SECONDS is left alone.
        "DATABASE_REPLICA_URLS": replica_urls(env.get("DATABASE_REPLICA_URLS", "")),
        "REPLICA_MAX_LAG_SECONDS": _positive("REPLICA_MAX_LAG_SECONDS", 10),
        # The change feed's LISTEN connection, when DATABASE_URL is a PgBouncer in transaction
        # mode (which cannot carry LISTEN): the primary itself. Empty: DATABASE_URL.
        "DATABASE_LISTEN_URL": env.get("DATABASE_LISTEN_URL", ""),
        # The pools go through PgBouncer in transaction mode: no server-side prepared statements.
        "DATABASE_PGBOUNCER": _bool(env.get("DATABASE_PGBOUNCER")),
        "RATELIMIT_STORAGE_URI": env.get("RATELIMIT_STORAGE_URI", "memory://"),
        "RATELIMIT_KEY_PREFIX": env.get("RATELIMIT_KEY_PREFIX", "dashboard"),
        "LOGIN_LIMIT": env.get("LOGIN_LIMIT", "10 per minute"),
        # Failed second steps (codes, recovery codes, passkeys after the password) per account,
        # from every address and device together; over it, the account's second step waits.
        "SECOND_STEP_LIMIT": env.get("SECOND_STEP_LIMIT") or "10 per hour",
        # Failed signed-API attempts (401/403) per client address and per access key.
        "API_FAILURE_LIMIT": env.get("API_FAILURE_LIMIT", "10 per minute"),
        # The Host names the app answers for (Flask's TRUSTED_HOSTS); any other gets 400. A leading
        # dot takes subdomains too (".example.com"). Passkeys take their RP ID from a trusted Host.
        "TRUSTED_HOSTS": trusted_hosts(env.get("TRUSTED_HOSTS") or DEFAULT_TRUSTED_HOSTS),
        # Number of reverse proxies in front of the app whose X-Forwarded-For is trusted;
        # 0 means the client address is the connection's (nothing a visitor sends is trusted).
        "TRUSTED_PROXIES": _int("TRUSTED_PROXIES", 0),
        # Every form and JSON body here is tiny; a 1 MB field is refused before it is parsed.
        "MAX_CONTENT_LENGTH": 64 * 1024,
        "BABEL_DEFAULT_LOCALE": env.get("DEFAULT_LANGUAGE", "ja"),
        # "prompt": pages are in the visitor's choice, else DEFAULT_LANGUAGE, and a browser that
        # prefers the other language is asked; "follow": pages follow the browser, no prompt.
        "BROWSER_LANGUAGE": env.get("BROWSER_LANGUAGE") or "prompt",
        "BABEL_DEFAULT_TIMEZONE": env.get("DISPLAY_TIMEZONE", "Asia/Tokyo"),
        "RATE_MAX_AGE": timedelta(minutes=_int("RATE_MAX_AGE_MINUTES", 15)),
        "REFRESH_SECONDS": _int("REFRESH_SECONDS", 30),
        # The live wallet (dashboard/live): where the page opens its stream ("" leaves the page to
        # its refresh alone), the stream's heartbeat comment, and how long a browser waits before
        # it reconnects a stream that broke.
        "STREAM_PATH": env.get("STREAM_PATH", "/api/stream"),
        "STREAM_HEARTBEAT_SECONDS": _positive("STREAM_HEARTBEAT_SECONDS", 15),
        "STREAM_RETRY_SECONDS": _positive("STREAM_RETRY_SECONDS", 3),
        # The wallet page's two charts (allocation, net assets over time); off leaves them out of
        # the page (/api/history stays), which is also how the bench measures what they cost.
        "WALLET_CHARTS": _bool(env.get("WALLET_CHARTS"), default=True),
        # PostgreSQL only: sign-in sessions and wallets kept in each process while the database
        # says they are unchanged (read_cache.py); 0 turns it off. Sizes are entries per process.
        "READ_CACHE_SECONDS": _int("READ_CACHE_SECONDS", 60),
        "READ_CACHE_SESSIONS": _int("READ_CACHE_SESSIONS", 100_000),
        "READ_CACHE_WALLETS": _int("READ_CACHE_WALLETS", 20_000),
        # Verified session cookies remembered per process (session_cookie.py); 0 verifies every one.
        "READ_CACHE_COOKIES": _int("READ_CACHE_COOKIES", 20_000),
        # Sign-in sessions end on the server after this long without a request, and this long
        # after sign-in whatever happens (signed_in.py).
        "SESSION_IDLE_MINUTES": _positive("SESSION_IDLE_MINUTES", 30),
        "SESSION_MAX_HOURS": _positive("SESSION_MAX_HOURS", 12),
        # How long a typed password (or a sign-in) lets this browser add a passkey, an
        # authenticator app or an API key, or remove a passkey (accounts/confirmation.py).
        "CONFIRM_SECONDS": 60 * _positive("CONFIRM_MINUTES", 10),
        # How long the Security page's "Recent activity" keeps an event (`flask sessions purge`).
        "SECURITY_EVENT_DAYS": _positive("SECURITY_EVENT_DAYS", 400),
        # WebAuthn relying party: empty means the request's own host and origin. Set both
        # behind a proxy that does not pass the Host header on.
        "WEBAUTHN_RP_ID": env.get("WEBAUTHN_RP_ID", ""),
        "WEBAUTHN_ORIGIN": env.get("WEBAUTHN_ORIGIN", ""),
        "RATES_BASE_URL": env.get("RATES_BASE_URL", ""),
        # Whose exchange this is, in every page's header and footer (brand.py checks them at start).
        "OPERATOR_NAME": env.get("OPERATOR_NAME", "Demo Exchange"),
        "OPERATOR_LOGO": env.get("OPERATOR_LOGO", ""),  # a file; empty: the demo's logo
        "OPERATOR_REGISTRATION": env.get("OPERATOR_REGISTRATION", "関東財務局長 第00000号"),
        "SUPPORT_URL": env.get("SUPPORT_URL", "https://support.example.com/"),
        "TERMS_URL": env.get("TERMS_URL", "https://example.com/terms"),
        "API_KEY_ENCRYPTION_KEY": env.get("API_KEY_ENCRYPTION_KEY", ""),
        # Old keys still accepted for signed cookies while a new SECRET_KEY rolls out
        # (comma-separated; Flask >= 3.1 reads SECRET_KEY_FALLBACKS): docs/operations.md.
        "SECRET_KEY_FALLBACKS": [key.strip() for key in env.get("SECRET_KEY_FALLBACKS", "").split(",") if key.strip()],
        # One JSON object per log line ("json"), or readable lines ("text", the development default).
        "LOG_FORMAT": (env.get("LOG_FORMAT") or ("text" if env.get("DASHBOARD_ENV") == "development" else "json")).strip().lower(),
        # Who may read /metrics: a bearer token, and/or client addresses and networks; neither means nobody.
        "METRICS_TOKEN": env.get("METRICS_TOKEN", ""),
        "METRICS_ALLOW": env.get("METRICS_ALLOW", ""),
        "PREFERRED_URL_SCHEME": "https" if https else "http",
        "SESSION_COOKIE_SECURE": https,
        "HSTS": https,
    }


def check_display_zone(config) -> None:
    """Times are shown in this zone on every page: a wrong name must stop the start, not each page."""
    zone = config.get("BABEL_DEFAULT_TIMEZONE")
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ConfigurationError(f"DISPLAY_TIMEZONE is not a time zone name such as Asia/Tokyo: {zone!r}") from None


def check_browser_language(config) -> None:
    """A misspelt BROWSER_LANGUAGE must stop the start, not quietly pick one behaviour."""
    from dashboard.core.language_choice import FOLLOW, PROMPT, parse_browser_setting

    try:
        parse_browser_setting(config.get("BROWSER_LANGUAGE"))
    except ValueError:
        raise ConfigurationError(
            f"BROWSER_LANGUAGE must be {PROMPT!r} (pages in the visitor's choice or DEFAULT_LANGUAGE, "
            f"with a prompt offering the browser's language) or {FOLLOW!r} (pages follow the "
            f"browser's language, no prompt), got {config.get('BROWSER_LANGUAGE')!r}"
        ) from None


def check_production_safety(config) -> None:
    """Refuse to serve real money with development settings."""
    if config.get("TESTING") or config.get("ENV_NAME") == "development":
        _check_api_key_encryption_key(config, required=False)
        return
    key = config.get("SECRET_KEY") or ""
    if key in WEAK_SECRET_KEYS:
        raise ConfigurationError(
            "SECRET_KEY is missing or a known default. Set SECRET_KEY to a long random value "
            "(e.g. python -c 'import secrets; print(secrets.token_hex(32))'), "
            "or set DASHBOARD_ENV=development on a development machine."
        )
    if len(key) < MIN_SECRET_KEY_LENGTH:
        raise ConfigurationError(
            f"SECRET_KEY is too short ({len(key)} characters); use at least "
            f"{MIN_SECRET_KEY_LENGTH} random characters."
        )
    if config.get("DEBUG"):
        raise ConfigurationError(
            "Debug mode is on outside development: it exposes an interactive debugger. "
            "Unset FLASK_DEBUG, or set DASHBOARD_ENV=development on a development machine."
        )
    _check_api_key_encryption_key(config, required=True)


def _check_api_key_encryption_key(config, *, required: bool) -> None:
    """A key that is set must be usable anywhere; production must set one (development and
    tests derive one from SECRET_KEY when it is unset)."""
    from dashboard.core.secret_storage import KeyConfigurationError, parse_keys

    value = config.get("API_KEY_ENCRYPTION_KEY") or ""
    if not value and not required:
        return
    try:
        parse_keys(value)
    except KeyConfigurationError as error:
        raise ConfigurationError(
            f"{error}. API key secrets are stored encrypted with it: set API_KEY_ENCRYPTION_KEY "
            "to a Fernet key (python -c 'from cryptography.fernet import Fernet; "
            "print(Fernet.generate_key().decode())') and keep it as safe as the database backups."
        ) from None


LOG_FORMATS = ("json", "text")
MIN_METRICS_TOKEN_LENGTH = 16


def check_operations(config) -> None:
    """The log format and who may read /metrics: a typo must stop the start, not open or hide them."""
    from dashboard.core.allowed_addresses import AllowedAddressError, parse_allowed, split_entries

    if config.get("LOG_FORMAT") not in LOG_FORMATS:
        raise ConfigurationError(f"LOG_FORMAT must be 'json' or 'text', got {config.get('LOG_FORMAT')!r}")
    token = config.get("METRICS_TOKEN") or ""
    if token and (len(token) < MIN_METRICS_TOKEN_LENGTH or not token.isascii() or not token.isprintable() or " " in token):
        raise ConfigurationError(
            f"METRICS_TOKEN must be at least {MIN_METRICS_TOKEN_LENGTH} printable ASCII characters without spaces "
            "(e.g. python -c 'import secrets; print(secrets.token_urlsafe(32))'), or unset")
    allow = config.get("METRICS_ALLOW") or ""
    if isinstance(allow, str):
        try:
            config["METRICS_ALLOW"] = [str(network) for network in parse_allowed(split_entries(allow))]
        except AllowedAddressError as error:
            raise ConfigurationError(f"METRICS_ALLOW: {error} (addresses or CIDR networks, comma-separated)") from None
