"""The currencies the exchange handled in 2018 (JPY plus 13 crypto-assets), seeded by the first migration."""
from __future__ import annotations

# (code, name, decimals): JPY first, then the 13 crypto-assets in the exchange's own order.
CURRENCIES: tuple[tuple[str, str, int], ...] = (
    ("jpy", "Japanese Yen", 0),
    ("btc", "Bitcoin", 8),
    ("eth", "Ethereum", 8),
    ("etc", "Ethereum Classic", 8),
    ("lsk", "Lisk", 8),
    ("fct", "Factom", 8),
    ("xmr", "Monero", 8),
    ("rep", "Augur", 8),
    ("xrp", "XRP", 6),
    ("zec", "Zcash", 8),
    ("xem", "NEM", 6),
    ("ltc", "Litecoin", 8),
    ("dash", "Dash", 8),
    ("bch", "Bitcoin Cash", 8),
)


def currency_rows() -> list[dict]:
    return [
        {"code": code, "name": name, "decimals": decimals, "display_order": order, "enabled": True}
        for order, (code, name, decimals) in enumerate(CURRENCIES, start=1)
    ]
