"""Tests for dashboard.core.language_choice: the page's language, the prompt, and return-path safety."""

from datetime import UTC, datetime
from urllib.parse import urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dashboard.core.language_choice import (
    DEFAULT,
    FOLLOW,
    PROMPT,
    SUPPORTED,
    AccountLanguage,
    LanguageChoice,
    best_match,
    choose_language,
    format_moment,
    parse_browser_setting,
    parse_language,
    safe_return_path,
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


# --- choose_language: the rule as a table ---------------------------------
#
# browser: the Accept-Language header; choice: the "lang" cookie (switcher or "Yes");
# dismissal: the "lang_prompt" cookie ("no" for the browser session, "never" for good);
# account: None when signed out, else what the account saved; setting: BROWSER_LANGUAGE.

EN_BROWSER = "en-US,en;q=0.9"
JA_BROWSER = "ja-JP,ja;q=0.9,en;q=0.8"
OUT = None
NOTHING_SAVED = AccountLanguage()


@pytest.mark.parametrize(
    "setting, browser, cookie, dismissal, account, default, page, prompt",
    [
        # Signed out, nothing chosen: the site's language, the browser's offered when it differs.
        (PROMPT, EN_BROWSER, None, None, OUT, "ja", "ja", "en"),
        (PROMPT, "en", None, None, OUT, "ja", "ja", "en"),
        (PROMPT, JA_BROWSER, None, None, OUT, "ja", "ja", None),
        (PROMPT, "fr-FR, en;q=0.5", None, None, OUT, "ja", "ja", "en"),
        (PROMPT, None, None, None, OUT, "ja", "ja", None),
        (PROMPT, "fr", None, None, OUT, "ja", "ja", None),
        (PROMPT, "*", None, None, OUT, "ja", "ja", None),
        (PROMPT, JA_BROWSER, None, None, OUT, "en", "en", "ja"),      # an English site asks in Japanese
        (PROMPT, EN_BROWSER, None, None, OUT, "en", "en", None),
        (PROMPT, EN_BROWSER, None, None, OUT, "fr", "ja", "en"),      # a bad site language: ja
        # An explicit choice in this browser decides and ends the prompt, whichever it was.
        (PROMPT, EN_BROWSER, "en", None, OUT, "ja", "en", None),      # "Yes", or the switcher
        (PROMPT, EN_BROWSER, "ja", None, OUT, "ja", "ja", None),      # 日本語 chosen in an English browser
        (PROMPT, JA_BROWSER, "en", None, OUT, "ja", "en", None),
        (PROMPT, JA_BROWSER, "ja", None, OUT, "ja", "ja", None),
        (PROMPT, EN_BROWSER, "EN", None, OUT, "ja", "en", None),
        # Dismissed: "No" for the browser session, "Never" for good; nothing else dismisses.
        (PROMPT, EN_BROWSER, None, "no", OUT, "ja", "ja", None),
        (PROMPT, EN_BROWSER, None, "never", OUT, "ja", "ja", None),
        (PROMPT, JA_BROWSER, None, "never", OUT, "en", "en", None),
        (PROMPT, EN_BROWSER, None, "Never", OUT, "ja", "ja", "en"),
        (PROMPT, EN_BROWSER, None, "yes", OUT, "ja", "ja", "en"),
        (PROMPT, EN_BROWSER, None, "", OUT, "ja", "ja", "en"),
        # Malformed or huge values count as absent.
        (PROMPT, EN_BROWSER, "xx", None, OUT, "ja", "ja", "en"),
        (PROMPT, EN_BROWSER, "<script>", "<script>", OUT, "ja", "ja", "en"),
        (PROMPT, EN_BROWSER, HUGE, HUGE, OUT, "ja", "ja", "en"),
        (PROMPT, HUGE, None, None, OUT, "ja", "ja", None),
        (PROMPT, ";;;q=abc,,,", None, None, OUT, "ja", "ja", None),
        # Signed in: the account's saved language and "never" follow it to any browser.
        (PROMPT, EN_BROWSER, None, None, NOTHING_SAVED, "ja", "ja", "en"),
        (PROMPT, EN_BROWSER, None, None, AccountLanguage("en"), "ja", "en", None),
        (PROMPT, EN_BROWSER, None, None, AccountLanguage("ja"), "ja", "ja", None),
        (PROMPT, JA_BROWSER, None, None, AccountLanguage("en"), "ja", "en", None),
        (PROMPT, EN_BROWSER, "en", None, AccountLanguage("ja"), "ja", "ja", None),  # the account beats the cookie
        (PROMPT, JA_BROWSER, "en", None, NOTHING_SAVED, "ja", "en", None),          # the cookie when it saved none
        (PROMPT, EN_BROWSER, None, None, AccountLanguage(never_prompt=True), "ja", "ja", None),
        (PROMPT, JA_BROWSER, None, None, AccountLanguage(never_prompt=True), "en", "en", None),
        (PROMPT, EN_BROWSER, None, "no", NOTHING_SAVED, "ja", "ja", None),
        (PROMPT, EN_BROWSER, None, "never", NOTHING_SAVED, "ja", "ja", None),
        (PROMPT, EN_BROWSER, None, None, AccountLanguage("xx"), "ja", "ja", "en"),
        # BROWSER_LANGUAGE=follow: the browser picks the page unless the visitor chose; no prompt.
        (FOLLOW, EN_BROWSER, None, None, OUT, "ja", "en", None),
        (FOLLOW, JA_BROWSER, None, None, OUT, "en", "ja", None),
        (FOLLOW, None, None, None, OUT, "ja", "ja", None),
        (FOLLOW, "fr", None, None, OUT, "en", "en", None),
        (FOLLOW, EN_BROWSER, "ja", None, OUT, "ja", "ja", None),
        (FOLLOW, JA_BROWSER, "en", None, OUT, "ja", "en", None),
        (FOLLOW, EN_BROWSER, None, None, AccountLanguage("ja"), "ja", "ja", None),
        (FOLLOW, EN_BROWSER, None, None, NOTHING_SAVED, "ja", "en", None),
        (FOLLOW, EN_BROWSER, "en", None, AccountLanguage("ja"), "ja", "ja", None),
        (FOLLOW, EN_BROWSER, None, "never", AccountLanguage(never_prompt=True), "ja", "en", None),
    ],
)
def test_choose_language(setting, browser, cookie, dismissal, account, default, page, prompt):
    got = choose_language(
        accept_language=browser, cookie=cookie, prompt_cookie=dismissal, account=account,
        default=default, browser_setting=setting,
    )
    assert got == LanguageChoice(page=page, prompt=prompt)


def test_choose_language_defaults_are_the_source_pages():
    assert choose_language(accept_language="en", cookie=None, prompt_cookie=None, account=None) == LanguageChoice("ja", "en")


@pytest.mark.parametrize("setting", ["", "Prompt", "FOLLOW", " prompt", "ask", "browser", None, 1, ["prompt"]])
def test_choose_language_refuses_an_unknown_setting(setting):
    with pytest.raises(ValueError, match="BROWSER_LANGUAGE must be 'prompt' or 'follow'"):
        choose_language(accept_language="en", cookie=None, prompt_cookie=None, account=None, browser_setting=setting)


@pytest.mark.parametrize("setting", [PROMPT, FOLLOW])
def test_parse_browser_setting_accepts_the_two_values(setting):
    assert parse_browser_setting(setting) == setting


LANGUAGE_VALUES = st.one_of(st.none(), st.sampled_from(["ja", "en", "EN", "fr", ""]), st.text(max_size=12))


@given(
    setting=st.sampled_from([PROMPT, FOLLOW]),
    header=st.one_of(st.none(), st.sampled_from(["en", "ja", EN_BROWSER, JA_BROWSER, "fr", "*"]), st.text(max_size=60)),
    cookie=LANGUAGE_VALUES,
    dismissal=st.one_of(st.none(), st.sampled_from(["no", "never", "yes"]), st.text(max_size=8)),
    account=st.one_of(st.none(), st.builds(AccountLanguage, LANGUAGE_VALUES, st.booleans())),
    default=st.sampled_from(["ja", "en", "fr"]),
)
@settings(max_examples=300, deadline=None)
def test_choose_language_invariants(setting, header, cookie, dismissal, account, default):
    got = choose_language(accept_language=header, cookie=cookie, prompt_cookie=dismissal, account=account,
                          default=default, browser_setting=setting)
    explicit = parse_language(account.language if account else None) or parse_language(cookie)
    assert got.page in SUPPORTED
    if explicit:
        # An explicit choice is never second-guessed: it is the page, and nobody is asked.
        assert got == LanguageChoice(explicit, None)
    if setting == FOLLOW:
        assert got.prompt is None
    else:
        # The browser never picks the page by itself.
        assert got.page == (explicit or parse_language(default) or DEFAULT)
        if got.prompt is not None:
            assert got.prompt == best_match(header) != got.page
            assert dismissal not in ("no", "never") and not (account and account.never_prompt)
        elif not explicit and dismissal not in ("no", "never") and not (account and account.never_prompt):
            # Not asked only because the browser already has the page's language (or none of ours).
            assert best_match(header) in (None, got.page)


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


# --- at sign-in: the most recent explicit choice wins ----------------------------------------

@pytest.mark.parametrize(
    "browser, chosen_just_now, account, save_on_account, write_in_browser",
    [
        # A "Yes" or switcher choice made just before signing in replaces the account's.
        ("en", True, "ja", "en", None),
        ("ja", True, "en", "ja", None),
        ("en", True, None, "en", None),
        ("en", True, "en", None, None),          # the same: nothing to write
        # An old cookie only fills an account without a language ...
        ("en", False, None, "en", None),
        # ... and otherwise the account's is written into the browser.
        ("en", False, "ja", None, "ja"),
        (None, False, "ja", None, "ja"),
        (None, True, "ja", None, "ja"),         # the marker without a language: nothing was chosen
        ("xx", True, "ja", None, "ja"),         # nor with a bad one
        ("en", False, "en", None, None),
        (None, False, None, None, None),
        ("en", True, "zz", "en", None),         # a bad saved language is no language
    ],
)
def test_language_at_sign_in(browser, chosen_just_now, account, save_on_account, write_in_browser):
    from dashboard.core.language_choice import SignInLanguage, language_at_sign_in

    assert language_at_sign_in(browser=browser, chosen_just_now=chosen_just_now, account=account) == SignInLanguage(
        save_on_account, write_in_browser)
