"""Tests for dashboard.core.language_choice: locale choice, switch prompt and return-path safety."""

from datetime import UTC, datetime
from urllib.parse import urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dashboard.core.language_choice import (
    DEFAULT,
    SUPPORTED,
    best_match,
    choose_locale,
    format_moment,
    parse_language,
    safe_return_path,
    should_prompt,
)

HUGE = "a" * (1024 * 1024)


def test_constants():
    assert SUPPORTED == ("ja", "en")
    assert DEFAULT == "ja"


# --- parse_language -------------------------------------------------------


@pytest.mark.parametrize(
    "value, expected",
    [
        ("ja", "ja"),
        ("en", "en"),
        ("JA", "ja"),
        ("En", "en"),
        (" ja", None),
        ("ja ", None),
        ("ja\n", None),
        ("ja-JP", None),
        ("fr", None),
        ("", None),
        (None, None),
        (b"ja", None),
        (1, None),
        (["ja"], None),
        ({"ja": 1}, None),
        ("\x00ja", None),
        ("j\u0430", None),  # Cyrillic 'a' lookalike
        (HUGE, None),
    ],
)
def test_parse_language(value, expected):
    assert parse_language(value) == expected


@given(st.one_of(st.text(), st.binary(), st.none(), st.integers(), st.floats()))
@settings(max_examples=100, deadline=None)
def test_parse_language_never_raises(value):
    assert parse_language(value) in (None, "ja", "en")


# --- best_match -----------------------------------------------------------


@pytest.mark.parametrize(
    "header, expected",
    [
        ("ja", "ja"),
        ("en", "en"),
        ("ja-JP", "ja"),
        ("en-GB", "en"),
        ("EN-us", "en"),
        ("ja-JP,ja;q=0.9,en-US;q=0.8,en;q=0.7", "ja"),
        ("en-US,en;q=0.9,ja;q=0.8", "en"),
        ("en;q=0.5, ja;q=0.9", "ja"),
        ("ja;q=0, en", "en"),
        ("ja;q=0", None),
        ("ja;q=0.000, en;q=0.001", "en"),
        ("fr, en-GB;q=0.8", "en"),
        ("fr", None),
        ("fr-CA, de;q=0.9", None),
        # Ties keep header order.
        ("en, ja", "en"),
        ("ja, en", "ja"),
        ("en;q=0.8, ja;q=0.8", "en"),
        # Exact tag's q wins over a regional one for the same language.
        ("ja;q=0, ja-JP", None),
        ("ja-JP;q=0.2, ja-JP-x;q=0.9, en;q=0.5", "ja"),
        # Wildcard alone defers to the configured default.
        ("*", None),
        ("*;q=0.5", None),
        ("fr, *;q=0.1", None),
        ("en;q=0.3, *", "en"),
        # Whitespace around tokens is allowed.
        ("  en ;  q=0.7 , ja ; q=0.6 ", "en"),
        ("Q-ignored, en;Q=1", "en"),
        # Malformed entries are ignored, valid neighbours still count.
        ("ja;q=abc, en", "en"),
        ("ja;q=2, en;q=0.1", "en"),
        ("ja;q=1.5", None),
        ("ja;q=-1", None),
        ("ja;q=0.1234", None),
        ("ja;q=", None),
        ("ja;q", None),
        ("ja;;;", None),
        ("ja;level=1, en", "en"),
        (";;;", None),
        (",,,", None),
        ("", None),
        (None, None),
        ("日本語, en", "en"),
        ("ja\u3000, en", "en"),
        ("ja_JP, en;q=0.1", "en"),
        ("jaaaaaaaa", None),
        ("-ja, en", "en"),
        ("ja-, en", "en"),
        ("\x00ja, en", "en"),
        ("ja\r\nX-Evil: 1", None),
        (b"ja", None),
        (42, None),
    ],
)
def test_best_match(header, expected):
    assert best_match(header) == expected


def test_best_match_custom_supported():
    assert best_match("fr-CA, en;q=0.5", supported=("en", "fr")) == "fr"
    assert best_match("ja", supported=("en",)) is None
    assert best_match("ja", supported=()) is None


@pytest.mark.parametrize(
    "header, expected",
    [
        (HUGE, None),
        ("ja," + HUGE, "ja"),
        ("en;q=0.1, " + ("x, " * 300_000), "en"),
        ("fr, " * 300_000 + "en", None),  # en is beyond the entry cap
        ("ja;q=" + "0" * 1_000_000, None),
        (";" * 1_000_000, None),
        ("," * 1_000_000 + "en", None),
        ("ja-" + "a-" * 500_000, None),
        ("\u00e9" * 1_000_000, None),
    ],
)
def test_best_match_huge_headers_return(header, expected):
    assert best_match(header) == expected


def test_best_match_truncated_tail_is_dropped():
    # The 4096-char cap would cut "en-GB" to a prefix; a cut entry is not used.
    header = "x" * 4090 + ", ja-JPXXXX"
    assert best_match(header) is None


@given(st.text(max_size=300))
@settings(max_examples=200, deadline=None)
def test_best_match_never_raises(header):
    assert best_match(header) in (None, "ja", "en")


# --- choose_locale --------------------------------------------------------


@pytest.mark.parametrize(
    "account, cookie, header, default, expected",
    [
        # Account beats everything.
        ("en", "ja", "ja", "ja", "en"),
        ("ja", "en", "en", "en", "ja"),
        # Cookie beats header.
        (None, "en", "ja-JP", "ja", "en"),
        (None, "ja", "en-US", "en", "ja"),
        # Header beats default.
        (None, None, "en-US,en;q=0.9", "ja", "en"),
        (None, None, "ja-JP", "en", "ja"),
        # Default last.
        (None, None, None, "ja", "ja"),
        (None, None, None, "en", "en"),
        (None, None, "fr", "en", "en"),
        (None, None, "*", "en", "en"),
        # Invalid values at each level are skipped.
        ("fr", "en", "ja", "ja", "en"),
        ("", "", "en", "ja", "en"),
        ("<script>", "\x00", "garbage;;;", "en", "en"),
        (" en", "EN", None, "ja", "en"),
        ("JA", None, "en", "en", "ja"),
        (HUGE, HUGE, HUGE, "ja", "ja"),
        # A bad configured default still yields a supported language.
        (None, None, None, "fr", DEFAULT),
        (None, None, None, "", DEFAULT),
    ],
)
def test_choose_locale(account, cookie, header, default, expected):
    got = choose_locale(cookie=cookie, account=account, accept_language=header, default=default)
    assert got == expected


def test_choose_locale_default_argument():
    assert choose_locale(cookie=None, account=None, accept_language=None) == DEFAULT


@given(
    account=st.one_of(st.none(), st.text(max_size=20), st.sampled_from(["ja", "en", "EN"])),
    cookie=st.one_of(st.none(), st.text(max_size=20), st.sampled_from(["ja", "en"])),
    header=st.one_of(st.none(), st.text(max_size=100)),
)
@settings(max_examples=100, deadline=None)
def test_choose_locale_always_supported(account, cookie, header):
    got = choose_locale(cookie=cookie, account=account, accept_language=header)
    assert got in SUPPORTED
    if parse_language(account):
        assert got == parse_language(account)


# --- should_prompt --------------------------------------------------------


@pytest.mark.parametrize(
    "page, header, never, dismissed, account_never, expected",
    [
        ("en", "ja-JP,ja;q=0.9", False, False, False, "ja"),
        ("ja", "en-US,en;q=0.9", False, False, False, "en"),
        ("ja", "ja-JP", False, False, False, None),
        ("en", "en-GB", False, False, False, None),
        ("en", "ja", True, False, False, None),
        ("en", "ja", False, True, False, None),
        ("en", "ja", False, False, True, None),
        ("ja", "en", True, True, True, None),
        ("en", None, False, False, False, None),
        ("en", "", False, False, False, None),
        ("en", "fr", False, False, False, None),
        ("en", "*", False, False, False, None),
        ("en", "ja;q=0, en", False, False, False, None),
        ("en", "garbage;;;", False, False, False, None),
        ("EN", "ja", False, False, False, "ja"),
        ("en", HUGE, False, False, False, None),
    ],
)
def test_should_prompt(page, header, never, dismissed, account_never, expected):
    got = should_prompt(
        page_locale=page,
        accept_language=header,
        never_cookie=never,
        dismissed_for_session=dismissed,
        account_never=account_never,
    )
    assert got == expected


def test_should_prompt_account_never_defaults_false():
    assert should_prompt(page_locale="en", accept_language="ja", never_cookie=False, dismissed_for_session=False) == "ja"


# --- safe_return_path -----------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "/",
        "/login",
        "/api-keys?x=1",
        "/?tab=1",
        "/wallets/BTC?tab=history&page=2#top",
        "/search?q=a+b",
        "/a%2Fb",
        "/%E3%81%82",
        "/path/with:colon",
        "/x?next=//evil.example",  # harmless inside the query string
    ],
)
def test_safe_return_path_accepts(value):
    assert safe_return_path(value) == value


@pytest.mark.parametrize(
    "value",
    [
        "//evil.example",
        "///evil.example",
        "https://evil.example",
        "http:/evil.example",
        "HTTPS://evil.example",
        "/\\evil.example",
        "\\\\evil.example",
        "\\/evil.example",
        "/x\\y",
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        "data:text/html,x",
        " /x",
        "/x ",
        "/x y",
        "/x\r\nSet-Cookie: a=b",
        "/x\nfoo",
        "/\t/evil.example",
        "/%09/evil.example",
        "/%0d%0aSet-Cookie:%20a=b",
        "/%2F%2Fevil.example",
        "/%2f%2fevil.example",
        "/%5Cevil.example",
        "/%5cevil.example",
        "%2F%2Fevil.example",
        "/%252F%252Fevil.example",
        "/%25252F%25252Fevil.example",
        "/%2525252525252F",  # too many encoding layers
        "/search?q=a%20b",  # strict: decoded whitespace is refused even in the query
        "/%00",
        "/%E2%80%AE",  # right-to-left override (format char)
        "/\u3000x",
        "/ページ",  # raw non-ASCII: callers should percent-encode
        "evil.example",
        "login",
        "?x=1",
        "#top",
        "",
        "/" + "a" * 2048,
    ],
)
def test_safe_return_path_rejects(value):
    assert safe_return_path(value) == "/"
    assert safe_return_path(value, default="/home") == "/home"


@pytest.mark.parametrize("value", [None, b"/login", 1, ["/"], object()])
def test_safe_return_path_non_str(value):
    assert safe_return_path(value) == "/"


def test_safe_return_path_length_cap_boundary():
    ok = "/" + "a" * 2047
    assert safe_return_path(ok) == ok
    assert safe_return_path(ok + "a") == "/"
    assert safe_return_path(HUGE) == "/"


@given(st.one_of(st.text(max_size=200), st.text(alphabet="/\\%2FfC5c09aA:.ex \t\r\n", max_size=40)))
@settings(max_examples=300, deadline=None)
def test_safe_return_path_property(value):
    default = "/fallback"
    got = safe_return_path(value, default=default)
    if got == default:
        return
    assert got == value
    assert got.startswith("/")
    assert not got.startswith("//")
    assert "\\" not in got
    parts = urlsplit(got)
    assert not parts.scheme
    assert not parts.netloc


def test_a_moment_names_its_zone_in_each_languages_parentheses():
    moment = datetime(2018, 1, 26, 14, 59, 59, tzinfo=UTC)
    assert format_moment(moment, "ja", "Asia/Tokyo") == "2018/01/26 23:59:59（日本標準時）"
    assert format_moment(moment, "en", "Asia/Tokyo").endswith("PM (Japan Standard Time)")
