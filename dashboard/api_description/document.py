"""The OpenAPI 3.1 document, as one Python dict: a new API adds its path under PATHS and its
shapes under SCHEMAS. The test suite runs Schemathesis against it (tests/api_description/)."""
from __future__ import annotations

import copy

DECIMAL = {"type": "string", "pattern": r"^-?[0-9]+(\.[0-9]+)?$",
           "description": "An exact decimal in plain notation (never a float or an exponent)."}
TIME = {"type": ["string", "null"], "format": "date-time"}
# An amount is null where it cannot be known (no rate) or must not be shown (discreet mode).
AMOUNT = {"oneOf": [{"$ref": "#/components/schemas/Decimal"}, {"type": "null"}]}
# "Hide small balances": a currency worth less than this many yen is small.
SMALL_BALANCE_JPY = {"type": "integer", "minimum": 0, "maximum": 1_000_000_000}

# The wallet's gains figures (docs/gains.md): null on JPY's row, without a cost or a rate 24 hours
# ago, and (the yen amounts) in discreet mode.
SIGNED_AMOUNT = {"oneOf": [{"$ref": "#/components/schemas/Decimal"}, {"type": "null"}]}
PERCENT = {"type": ["string", "null"], "pattern": r"^-?[0-9]+\.[0-9]{2}$", "description": "Half-up to 2 decimals."}
GAINS_FIELDS = {
    "average_price_jpy": SIGNED_AMOUNT, "cost_jpy": SIGNED_AMOUNT, "unrealized_jpy": SIGNED_AMOUNT,
    "unrealized_percent": PERCENT, "change_24h_jpy": SIGNED_AMOUNT, "change_24h_percent": PERCENT,
}

SCHEMAS: dict = {
    "Decimal": DECIMAL,
    "Error": {
        "type": "object", "required": ["success", "error"],
        "properties": {"success": {"const": False}, "error": {"type": "string", "description": "In the request's language."}},
    },
    "Balance": {
        "type": "object",
        "required": ["currency", "available", "in_use", "total", "rate_jpy", "available_jpy", "in_use_jpy", "total_jpy",
                     "share_percent", "missing_rate", "stale", "zero", "small", "hidden", "name_is_code", "formatted"],
        "properties": {
            "currency": {"type": "string", "pattern": "^[a-z0-9]{1,10}$"},
            "available": AMOUNT,
            "in_use": AMOUNT,
            "total": AMOUNT,
            "rate_jpy": AMOUNT,
            "rate_as_of": TIME,
            "available_jpy": AMOUNT,
            "in_use_jpy": AMOUNT,
            "total_jpy": AMOUNT,
            "share_percent": {"type": ["string", "null"], "pattern": r"^[0-9]{1,3}\.[0-9]$",
                              "description": "Of net assets, half-up to one decimal; null without a rate or with net assets zero."},
            "zero": {"type": "boolean"},
            "small": {"type": "boolean", "description": "Worth less than the account's small_balance_jpy (false without a rate)."},
            "hidden": {"type": "boolean", "description": "Left out by Hide zero balances or Hide small balances."},
            "name_is_code": {"type": "boolean", "description": "The currency's name is its code (XRP): say it once."},
            **GAINS_FIELDS,
            "missing_rate": {"type": "boolean"},
            "stale": {"type": "boolean"},
            "formatted": {"type": "object", "additionalProperties": {"type": ["string", "null"]}},
        },
    },
    "Wallet": {
        "type": "object",
        "required": ["net_assets", "complete", "missing_rates", "stale", "show_in_header", "hide_zero_balances",
                     "discreet", "balance_order", "hide_small_balances", "small_balance_jpy", "locale", "balances"],
        "properties": {
            "net_assets": {"type": "object", "required": ["jpy", "formatted"],
                           "properties": {"jpy": AMOUNT, "formatted": {"type": "string"},
                                          "unrealized_jpy": SIGNED_AMOUNT, "unrealized_percent": PERCENT,
                                          "change_24h_jpy": SIGNED_AMOUNT, "change_24h_percent": PERCENT,
                                          "formatted_gains": {"type": "object", "additionalProperties": {"type": ["string", "null"]}}}},
            "complete": {"type": "boolean"},
            "missing_rates": {"type": "array", "items": {"type": "string"}},
            "stale": {"type": "boolean"},
            "rates_as_of": TIME,
            "show_in_header": {"type": "boolean"},
            "hide_zero_balances": {"type": "boolean"},
            "discreet": {"type": "boolean"},
            "balance_order": {"enum": ["value", "name"],
                              "description": "The balances' order: largest yen value first (no rate last), or by name."},
            "hide_small_balances": {"type": "boolean"},
            "small_balance_jpy": SMALL_BALANCE_JPY,
            "locale": {"enum": ["ja", "en"]},
            "balances": {"type": "array", "items": {"$ref": "#/components/schemas/Balance"},
                         "description": "In balance_order; a row the switches hide says so (hidden) and is still listed."},
        },
    },
    "Preferences": {
        "type": "object", "minProperties": 1, "additionalProperties": False,
        "properties": {"show_in_header": {"type": "boolean"}, "hide_zero_balances": {"type": "boolean"},
                       "discreet": {"type": "boolean"}, "hide_small_balances": {"type": "boolean"},
                       "balance_order": {"enum": ["value", "name"]}, "small_balance_jpy": SMALL_BALANCE_JPY},
    },
    "History": {
        "type": "object", "required": ["range", "complete", "points"],
        "properties": {
            "range": {"enum": ["1d", "1w", "1m", "1y", "all"]},
            "complete": {"type": "boolean"},
            "points": {"type": "array", "items": {
                "type": "object", "required": ["t", "jpy", "formatted", "index"],
                "properties": {"t": {"type": "string", "format": "date-time"}, "jpy": AMOUNT,
                               "formatted": {"type": "string"}, "index": {"type": ["string", "null"]}},
            }},
        },
    },
    "Activity": {
        "type": "object", "required": ["page", "pages", "total", "locale", "hide_amounts", "entries"],
        "properties": {
            "page": {"type": "integer", "minimum": 1}, "pages": {"type": "integer", "minimum": 1},
            "total": {"type": "integer", "minimum": 0}, "locale": {"enum": ["ja", "en"]},
            "hide_amounts": {"type": "boolean"},
            "entries": {"type": "array", "items": {
                "type": "object",
                "required": ["time", "currency", "available_change", "in_use_change", "reason_code", "reason", "formatted"],
                "properties": {
                    "time": {"type": "string", "format": "date-time"},
                    "currency": {"type": "string"},
                    "available_change": AMOUNT, "in_use_change": AMOUNT,
                    "reason_code": {"type": ["string", "null"]}, "reason": {"type": "string"},
                    "formatted": {"type": "object", "additionalProperties": {"type": ["string", "null"]}},
                },
            }},
        },
    },
    "Gains": {
        "type": "object", "required": ["year", "method", "currencies", "gain_jpy"], "additionalProperties": False,
        "description": "Realized gains of a calendar year (display time zone) by the NTA's method: proceeds rounded down "
                       "to the yen minus the acquisition cost of what was sold rounded up (docs/gains.md).",
        "properties": {
            "year": {"type": "integer", "minimum": 2009},
            "method": {"enum": ["total-average", "moving-average"]},
            "currencies": {"type": "array", "items": {
                "type": "object", "required": ["currency", "sold_quantity", "proceeds_jpy", "cost_jpy", "gain_jpy"],
                "additionalProperties": False,
                "properties": {
                    "currency": {"type": "string", "pattern": "^[a-z0-9]{1,10}$"},
                    "sold_quantity": {"$ref": "#/components/schemas/Decimal"},
                    "proceeds_jpy": {"$ref": "#/components/schemas/Decimal"},
                    "cost_jpy": {"$ref": "#/components/schemas/Decimal"},
                    "gain_jpy": {"$ref": "#/components/schemas/Decimal"},
                },
            }},
            "gain_jpy": {"$ref": "#/components/schemas/Decimal"},
        },
    },
    "ExchangeBalance": {
        "type": "object", "required": ["success", "jpy", "jpy_reserved"],
        "properties": {"success": {"const": True}},
        "additionalProperties": {"$ref": "#/components/schemas/Decimal"},
        "description": "Per currency code, the available amount under the code and the amount in use under <code>_reserved.",
    },
}


def _error(description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def _json(description: str, schema: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}}}


THROTTLE_DOWN = _error("The throttling store is unreachable; try again after Retry-After seconds.")
SIGNED_HEADERS = [
    {"name": "ACCESS-KEY", "in": "header", "required": True, "schema": {"type": "string"}},
    {"name": "ACCESS-NONCE", "in": "header", "required": True, "schema": {"type": "string"},
     "description": "A number that increases with every request on the key, at most 19 digits."},
    {"name": "ACCESS-SIGNATURE", "in": "header", "required": True, "schema": {"type": "string"},
     "description": "Hex HMAC-SHA256, keyed by the secret, of nonce + the full URL as sent + the body."},
]

PATHS: dict = {
    "/api/balance": {
        "get": {
            "summary": "The signed-in account's wallet", "security": [{"session": []}],
            "responses": {"200": _json("The wallet, figures exact and formatted", "Wallet"),
                          "401": _error("Not signed in")},
        },
    },
    "/api/preferences": {
        "post": {
            "summary": "The wallet's choices: Show in header, Hide zero balances, Hide amounts, Hide small balances, its threshold and the order", "security": [{"session": []}],
            "parameters": [{"name": "X-CSRFToken", "in": "header", "required": True, "schema": {"type": "string"},
                            "description": "The page's <meta name=\"csrf-token\">."}],
            "requestBody": {"required": True, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Preferences"}}}},
            "responses": {"200": _json("Saved", "Preferences"), "400": _error("Not one or more of the choices, each of its type and range, or no CSRF token"),
                          "401": _error("Not signed in"), "413": _error("Body over 64 KB")},
        },
    },
    "/api/history": {
        "get": {
            "summary": "The signed-in account's net assets over time", "security": [{"session": []}],
            "parameters": [{"name": "range", "in": "query", "required": True,
                            "schema": {"enum": ["1d", "1w", "1m", "1y", "all"]}}],
            "responses": {"200": _json("Points oldest first; the last is now", "History"),
                          "400": _error("Another range"), "401": _error("Not signed in")},
        },
    },
    "/api/activity": {
        "get": {
            "summary": "The signed-in account's journal, newest first, 20 entries a page", "security": [{"session": []}],
            "parameters": [{"name": "page", "in": "query", "required": False,
                            "schema": {"type": "integer", "minimum": 1, "maximum": 1000000}}],
            "responses": {"200": _json("One page of entries", "Activity"),
                          "400": _error("A page number that is not 1 to 1,000,000"),
                          "401": _error("Not signed in"), "404": _error("A page past the last")},
        },
    },
    "/api/gains": {
        "get": {
            "summary": "The signed-in account's realized gains of a year, the NEM compensation counted as a sale at 88.549",
            "security": [{"session": []}],
            "parameters": [
                {"name": "year", "in": "query", "required": False, "description": "Four digits, from 2009 to this year; default this year.",
                 "schema": {"type": "string", "pattern": "^[0-9]{4}$"}},
                {"name": "method", "in": "query", "required": False, "description": "Default: the account's own method.",
                 "schema": {"enum": ["total-average", "moving-average"]}},
            ],
            "responses": {"200": _json("Per crypto-asset sold in the year, and the total", "Gains"),
                          "400": _error("A year or method not as described"), "401": _error("Not signed in")},
        },
    },
    "/api/accounts/balance": {
        "get": {
            "summary": "Balances in the exchange's (Coincheck's) format", "security": [{"signature": []}],
            "parameters": SIGNED_HEADERS,
            "responses": {"200": _json("Every enabled currency", "ExchangeBalance"),
                          "401": _error("Unsigned, unknown or revoked key, bad signature or nonce"),
                          "403": _error("Address not allowed, or permission missing"),
                          "429": _error("Too many refused requests"), "503": THROTTLE_DOWN},
        },
    },
}

DOCUMENT: dict = {
    "openapi": "3.1.0",
    "info": {"title": "Wallet dashboard API", "version": "1"},
    "paths": PATHS,
    "components": {
        "schemas": SCHEMAS,
        "securitySchemes": {
            "session": {"type": "apiKey", "in": "cookie", "name": "session", "description": "The browser's sign-in session"},
            "signature": {"type": "apiKey", "in": "header", "name": "ACCESS-KEY", "description": "With ACCESS-NONCE and ACCESS-SIGNATURE"},
        },
    },
}


def document() -> dict:
    """A copy, so nobody changes the served document by accident."""
    return copy.deepcopy(DOCUMENT)
