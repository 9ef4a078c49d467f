"""JPY rates: what counts as a valid rate, and the client for the exchange's public ticker."""
from __future__ import annotations

import http.client
import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from urllib.error import HTTPError, URLError
from urllib.parse import quote, urlsplit, urlunsplit
from urllib.request import Request, urlopen

from dashboard.core.formatting import normalize
from dashboard.types import INTEGER_DIGITS, SCALE

# JSON's number grammar, ASCII only: Decimal() alone would also take "NaN", "1_000" or "٣".
_NUMERAL = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?", re.ASCII)
# A rate is one small JSON object; anything larger is not the ticker talking.
MAX_BODY_BYTES = 64 * 1024


class RateError(ValueError):
    """A rate or a rate's currency that cannot be stored; the message says why."""


class TickerError(RuntimeError):
    """The ticker gave no valid rate; the message says what happened and after how many attempts."""


def parse_rate(value) -> Decimal:
    """The rate a ticker or an operator gave, as an exact Decimal: finite, > 0, storable.
    Takes a Decimal (JSON parsed with parse_float=Decimal), an int, or a string; never a float."""
    if isinstance(value, bool) or isinstance(value, float):
        raise RateError(f"a rate must be an exact decimal, not {type(value).__name__} {value!r}")
    if isinstance(value, str):
        text = value.strip()
        if not _NUMERAL.fullmatch(text):
            raise RateError(f"not a decimal number: {value[:40]!r}")
        rate = Decimal(text)
    elif isinstance(value, (Decimal, int)):
        rate = Decimal(value)
    else:
        raise RateError(f"a rate must be a number, not {type(value).__name__}")
    if not rate.is_finite():
        raise RateError(f"not a finite number: {value}")
    if rate <= 0:
        raise RateError(f"a rate must be greater than 0, got {value}")
    if rate.adjusted() >= INTEGER_DIGITS:
        raise RateError(f"too large: more than {INTEGER_DIGITS} integer digits")
    rate = normalize(rate)
    if -rate.as_tuple().exponent > SCALE:
        raise RateError(f"more than {SCALE} decimal places: {value}")
    return rate


def check_rate_currency(code: str, currencies: Mapping[str, bool]) -> str:
    """The currency code, lower case, if it can have a rate; currencies maps code to enabled."""
    code = code.strip().lower()
    if code == "jpy":
        raise RateError("JPY has no rate: it is always 1")
    if code not in currencies:
        raise RateError(f"unknown currency: {code[:20]!r}")
    if not currencies[code]:
        raise RateError(f"currency {code} is disabled")
    return code


def public_url(url: str) -> str:
    """The URL without user name or password, fit to be stored as a rate's source or printed."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))


@dataclass
class Ticker:
    """GET {base_url}/api/rate/{currency}_jpy → {"rate": "…"}, with a timeout per attempt and a
    bounded number of attempts, backing off between them. Only failures that may pass (no
    connection, timeout, HTTP 5xx or 429) are tried again; a wrong answer fails at once."""

    base_url: str
    timeout: float = 5.0
    attempts: int = 3
    backoff: float = 0.5
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)

    def __post_init__(self):
        if urlsplit(self.base_url).scheme not in ("http", "https") or not urlsplit(self.base_url).hostname:
            # urllib would also open file:// and ftp:// URLs.
            raise TickerError(f"the rates base URL must be an http:// or https:// URL, got {self.base_url[:80]!r}")
        if self.attempts < 1:
            raise TickerError("attempts must be at least 1")

    def rate_url(self, currency: str) -> str:
        return f"{self.base_url.rstrip('/')}/api/rate/{quote(currency)}_jpy"

    def fetch(self, currency: str) -> Decimal:
        last = "no attempt made"
        for attempt in range(1, self.attempts + 1):
            try:
                return read_rate(self._get(currency))
            except _Transient as error:
                last = str(error)
                if attempt < self.attempts:
                    self.sleep(self.backoff * 2 ** (attempt - 1))
            except RateError as error:
                raise TickerError(f"{error} (attempt {attempt})") from None
        raise TickerError(f"{last} (after {self.attempts} attempts)")

    def _get(self, currency: str) -> bytes:
        request = Request(self.rate_url(currency), headers={"Accept": "application/json", "User-Agent": "wallet-dashboard"})
        try:
            with urlopen(request, timeout=self.timeout) as response:
                body = response.read(MAX_BODY_BYTES + 1)
        except HTTPError as error:
            error.close()
            if error.code >= 500 or error.code == 429:
                raise _Transient(f"HTTP {error.code}") from None
            raise RateError(f"HTTP {error.code}") from None
        except TimeoutError:
            raise _Transient(f"no answer within {self.timeout:g} s") from None
        except (URLError, OSError, http.client.HTTPException) as error:
            reason = getattr(error, "reason", None) or error
            if isinstance(reason, TimeoutError):
                raise _Transient(f"no answer within {self.timeout:g} s") from None
            raise _Transient(f"cannot reach the ticker: {reason}") from None
        if len(body) > MAX_BODY_BYTES:
            raise RateError(f"answer larger than {MAX_BODY_BYTES} bytes")
        return body


class _Transient(Exception):
    """A failure worth another attempt."""


def read_rate(body: bytes) -> Decimal:
    """The rate in a ticker answer; numbers are parsed as Decimal, never float."""
    if not body.strip():
        raise RateError("empty answer")
    try:
        data = json.loads(body.decode("utf-8"), parse_float=Decimal, parse_int=Decimal, parse_constant=Decimal)
    except (UnicodeDecodeError, ValueError, RecursionError):
        start = body[:30].decode("utf-8", "replace").strip()
        raise RateError(f"answer is not JSON: {start!r}") from None
    if not isinstance(data, dict) or "rate" not in data:
        raise RateError('answer has no "rate"')
    return parse_rate(data["rate"])
