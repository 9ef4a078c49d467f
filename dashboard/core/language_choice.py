"""Pure helpers for choosing the page language (ja/en) and validating return paths."""

from __future__ import annotations

import functools
import re
import unicodedata
from urllib.parse import unquote, urlsplit

SUPPORTED = ("ja", "en")
DEFAULT = "ja"

# Headers are attacker-controlled; bounding the work keeps a 1 MB header as
# cheap as a normal one.  Real browsers send a handful of entries in < 200 chars.
_MAX_HEADER_CHARS = 4096
_MAX_ENTRIES = 32

# BCP 47-ish language range (RFC 4647 basic range) or the "*" wildcard.
_TAG_RE = re.compile(r"\A(?:\*|[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*)\Z")
# RFC 9110 qvalue: 0..1 with at most three decimals; anything else is malformed.
_QVALUE_RE = re.compile(r"\A(?:0(?:\.[0-9]{0,3})?|1(?:\.0{0,3})?)\Z")

_MAX_RETURN_PATH = 2048
# Each round of percent-decoding can hide another layer (%252F -> %2F -> /);
# more layers than this is never legitimate, so it is rejected outright.
_MAX_DECODE_ROUNDS = 4


def parse_language(value: object) -> str | None:
    """Return 'ja' or 'en' if *value* names exactly one of them, else None."""
    # Exact match only (no strip): cookies, form fields and stored preferences
    # are written by us, so anything else is tampering or corruption.
    if not isinstance(value, str) or len(value) > 8 or not value.isascii():
        return None
    lowered = value.lower()
    return lowered if lowered in SUPPORTED else None


def _parse_accept_language(header: str) -> list[tuple[str, float, int]]:
    """Parse into (lowercased tag, q, position) entries, dropping malformed ones."""
    truncated = len(header) > _MAX_HEADER_CHARS
    header = header[:_MAX_HEADER_CHARS]
    parts = header.split(",", _MAX_ENTRIES)
    if truncated or len(parts) > _MAX_ENTRIES:
        # The last piece was cut off (mid-tag or the unsplit remainder), so it
        # cannot be trusted to mean what the sender wrote.
        parts = parts[:-1]
    entries = []
    for position, part in enumerate(parts[:_MAX_ENTRIES]):
        tag, *params = part.split(";")
        tag = tag.strip(" \t")
        if not _TAG_RE.match(tag):
            continue
        q = 1.0
        valid = True
        for param in params:
            name, sep, raw = param.strip(" \t").partition("=")
            # Accept-Language only defines the weight parameter; anything else
            # (including empty ";;") marks a malformed entry we ignore.
            if not sep or name.strip(" \t").lower() != "q":
                valid = False
                break
            raw = raw.strip(" \t")
            if not _QVALUE_RE.match(raw):
                valid = False
                break
            q = float(raw)
        if valid:
            entries.append((tag.lower(), q, position))
    return entries


def best_match(accept_language: str | None, supported=SUPPORTED) -> str | None:
    """Return the supported language the Accept-Language header prefers most, or None.

    Regional tags count for their base language (ja-JP -> ja). An exact tag's
    q wins over regional ones for the same language (so "ja;q=0, ja-JP" still
    refuses ja); otherwise the highest regional q applies. q=0 means "not
    acceptable". Ties keep header order. The "*" wildcard never selects a
    language: it only says "anything will do", so the caller's configured
    default should apply rather than an arbitrary pick here.
    """
    if not isinstance(accept_language, str) or not accept_language:
        return None
    try:
        wanted = {str(lang).lower(): lang for lang in supported}
    except TypeError:
        return None
    exact: dict[str, tuple[float, int]] = {}
    regional: dict[str, tuple[float, int]] = {}
    for tag, q, position in _parse_accept_language(accept_language):
        if tag in wanted:
            exact.setdefault(tag, (q, position))
            continue
        base = tag.split("-", 1)[0]
        if base in wanted and "-" in tag:
            best_q, first_pos = regional.get(base, (q, position))
            regional[base] = (max(best_q, q), min(first_pos, position))
    ranked = []
    for base in wanted:
        q, position = exact.get(base) or regional.get(base) or (0.0, 0)
        if q > 0:
            ranked.append((-q, position, base))
    if not ranked:
        return None
    ranked.sort()
    return wanted[ranked[0][2]]


def choose_locale(
    *,
    cookie: str | None,
    account: str | None,
    accept_language: str | None,
    default: str = DEFAULT,
) -> str:
    """Pick the page language: account preference, cookie, browser, then default."""
    # The signed-in account's preference beats the cookie because it is the
    # durable, deliberate choice; a cookie may be stale from another user or
    # an old visit on a shared machine.
    for candidate in (parse_language(account), parse_language(cookie), best_match(accept_language)):
        if candidate is not None:
            return candidate
    return parse_language(default) or DEFAULT


def should_prompt(
    *,
    page_locale: str,
    accept_language: str | None,
    never_cookie: bool,
    dismissed_for_session: bool,
    account_never: bool = False,
) -> str | None:
    """Return the browser's language to offer switching to, or None for no prompt."""
    # Respect an explicit "never"/"not now" before even looking at the header.
    if never_cookie or account_never or dismissed_for_session:
        return None
    browser = best_match(accept_language)
    if browser is None:
        return None
    current = parse_language(page_locale)
    return browser if browser != current else None


def _looks_local(path: str) -> bool:
    """True if *path* can only be read by a browser as a path on this site."""
    if not path.startswith("/") or path.startswith("//"):
        return False
    # Browsers treat "\" like "/", so "/\evil" is protocol-relative.
    if "\\" in path:
        return False
    for ch in path:
        # Whitespace and control chars are stripped or split on by browsers and
        # header parsers (response splitting, "/\t/evil" -> "//evil").
        if ch.isspace() or unicodedata.category(ch).startswith("C"):
            return False
    try:
        parts = urlsplit(path)
    except ValueError:
        return False
    return not parts.scheme and not parts.netloc


def safe_return_path(value: object, default: str = "/") -> str:
    """Return *value* if it is a same-site relative path, else *default*."""
    if not isinstance(value, str) or not value or len(value) > _MAX_RETURN_PATH:
        return default
    # The raw value goes into a Location header; keep it printable ASCII.
    if not value.isascii() or not value.isprintable():
        return default
    candidate = value
    for _ in range(_MAX_DECODE_ROUNDS):
        if not _looks_local(candidate):
            return default
        decoded = unquote(candidate)
        if decoded == candidate:
            # Fully decoded and every layer looked local: the original is safe.
            return value
        candidate = decoded
    return default


# Japanese text takes full-width parentheses, which carry their own spacing (GLOSSARY.md).
ZONE_PARENTHESES = {"ja": ("（", "）")}


@functools.lru_cache(maxsize=256)
def format_moment(moment, locale: str, zone: str) -> str:
    """moment in zone, in locale's words, with the zone named: '2018/01/26 23:59:59（日本標準時）',
    'Jan 26, 2018, 11:59:59 PM (Japan Standard Time)'."""
    # Memoised: rates change a few times a minute while pages are rendered many times a second.
    from babel.dates import format_datetime, get_timezone

    tz = get_timezone(zone)
    opening, closing = ZONE_PARENTHESES.get(locale, (" (", ")"))
    return f"{format_datetime(moment, 'medium', tzinfo=tz, locale=locale)}{opening}{format_datetime(moment, 'zzzz', tzinfo=tz, locale=locale)}{closing}"

