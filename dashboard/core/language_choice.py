"""Pure helpers for choosing the page language (ja/en) and validating return paths."""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
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


# BROWSER_LANGUAGE: "prompt" keeps the site's language until the visitor chooses and offers the
# browser's own in a prompt (the source page's behaviour); "follow" lets the browser's language
# pick the page at once and never prompts (the behaviour before the prompt existed).
PROMPT = "prompt"
FOLLOW = "follow"
BROWSER_LANGUAGE_SETTINGS = (PROMPT, FOLLOW)

# Values of the prompt cookie: "never" is kept for 400 days, "no" only until the browser closes.
NEVER = "never"
NOT_NOW = "no"


@dataclass(frozen=True)
class AccountLanguage:
    """What a signed-in account has saved: its language (or None) and whether it said "never"."""

    language: str | None = None
    never_prompt: bool = False


@dataclass(frozen=True)
class LanguageChoice:
    """The page's language, and the browser's language to offer in the prompt (None: no prompt)."""

    page: str
    prompt: str | None = None


@dataclass(frozen=True)
class SignInLanguage:
    """At sign-in: the language to save on the account, and the one to write into the browser
    (each None: leave it as it is)."""

    save_on_account: str | None = None
    write_in_browser: str | None = None


def language_at_sign_in(*, browser: object, chosen_just_now: bool, account: object) -> SignInLanguage:
    """The most recent explicit choice wins when a browser signs in.

    `browser` is the browser's language cookie; `chosen_just_now` says it was set (switcher or
    "Yes") in this browser session before signing in, seconds ago rather than on an old visit;
    `account` is the account's saved language. A choice just made replaces the account's; an old
    cookie only fills an account that has none, and otherwise the account's is written into the
    browser (an old cookie may be another person's on a shared machine)."""
    browser_language, account_language = parse_language(browser), parse_language(account)
    if browser_language is not None and (chosen_just_now or account_language is None):
        return SignInLanguage(save_on_account=browser_language if browser_language != account_language else None)
    if account_language is not None and account_language != browser_language:
        return SignInLanguage(write_in_browser=account_language)
    return SignInLanguage()


def parse_browser_setting(value: object) -> str:
    """The BROWSER_LANGUAGE setting, or ValueError naming the two accepted values."""
    if value in BROWSER_LANGUAGE_SETTINGS:
        return value
    raise ValueError(f"BROWSER_LANGUAGE must be {PROMPT!r} or {FOLLOW!r}, got {value!r}")


def choose_language(
    *,
    accept_language: str | None,
    cookie: str | None,
    prompt_cookie: str | None,
    account: AccountLanguage | None,
    default: str = DEFAULT,
    browser_setting: str = PROMPT,
) -> LanguageChoice:
    """Which language the page is in and whether to offer the browser's language.

    The visitor's explicit choice (the signed-in account's saved language, else this browser's
    cookie from the switcher or a "Yes") decides; without one the site's language does, and the
    browser's language is only offered, never imposed. `account` is None when signed out.
    """
    setting = parse_browser_setting(browser_setting)
    # The account beats the cookie: it is the durable, deliberate choice, while a cookie may be
    # left from another person or an old visit on a shared machine.
    explicit = parse_language(account.language if account else None) or parse_language(cookie)
    site = parse_language(default) or DEFAULT
    browser = best_match(accept_language)
    if setting == FOLLOW:
        return LanguageChoice(page=explicit or browser or site)
    page = explicit or site
    dismissed = prompt_cookie in (NEVER, NOT_NOW) or bool(account and account.never_prompt)
    if explicit is not None or dismissed or browser is None or browser == page:
        return LanguageChoice(page=page)
    return LanguageChoice(page=page, prompt=browser)


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
def format_moment_in_zone(moment, locale: str, zone: str) -> str:
    """moment in zone, in locale's words, the zone left to a heading that names it once."""
    from babel.dates import format_datetime, get_timezone

    return format_datetime(moment, "medium", tzinfo=get_timezone(zone), locale=locale)


def zone_name(moment, zone: str, locale: str) -> str:
    """The zone's name at moment in locale's words, as format_moment names it: 'Japan Standard Time', '日本標準時'."""
    from babel.dates import format_datetime, get_timezone

    return format_datetime(moment, "zzzz", tzinfo=get_timezone(zone), locale=locale)


@functools.lru_cache(maxsize=256)
def format_moment(moment, locale: str, zone: str) -> str:
    """moment in zone, in locale's words, with the zone named: '2018/01/26 23:59:59（日本標準時）',
    'Jan 26, 2018, 11:59:59 PM (Japan Standard Time)'."""
    # Memoised: rates change a few times a minute while pages are rendered many times a second.
    from babel.dates import format_datetime, get_timezone

    tz = get_timezone(zone)
    opening, closing = ZONE_PARENTHESES.get(locale, (" (", ")"))
    return f"{format_datetime(moment, 'medium', tzinfo=tz, locale=locale)}{opening}{format_datetime(moment, 'zzzz', tzinfo=tz, locale=locale)}{closing}"

