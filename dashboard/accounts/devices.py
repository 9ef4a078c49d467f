"""A signed-in browser in words for the Security page ("Chrome on Windows"), from the User-Agent
it signed in with, by ua-parser and the uap-core rules every major project shares."""
from __future__ import annotations

import functools

from flask_babel import gettext as _
from ua_parser import parse

UNKNOWN = "Other"  # what uap-core calls a browser or system it does not know


@functools.lru_cache(maxsize=1024)
def browser_and_system(user_agent: str) -> tuple[str | None, str | None]:
    """The browser's and the operating system's names, each None when unknown. The rules load
    on the first call (about a quarter of a second per process); a parse then takes about 1 ms,
    and the same string is parsed once."""
    if not user_agent:
        return None, None
    result = parse(user_agent)
    browser = result.user_agent.family if result.user_agent and result.user_agent.family != UNKNOWN else None
    system = result.os.family if result.os and result.os.family != UNKNOWN else None
    return browser, system


def in_words(user_agent: str) -> str:
    """The browser as the Security page names it: "Chrome on Windows", or "Unknown device"."""
    browser, system = browser_and_system(user_agent)
    if browser and system:
        return _("%(browser)s on %(system)s", browser=browser, system=system)
    return browser or system or _("Unknown device")
