"""Which client addresses may use an API key: IPv4 and IPv6 addresses and CIDR networks."""
from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable

__all__ = ["AllowedAddressError", "MAX_ENTRIES", "address_allowed", "display", "parse_allowed", "split_entries"]

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

MAX_ENTRIES = 50
_MAX_ENTRY_LENGTH = 64  # the longest IPv6 network with prefix is 43 characters


class AllowedAddressError(ValueError):
    """Entries that are not addresses or networks; `bad` lists them as typed."""

    def __init__(self, bad: list[str], too_many: bool = False):
        self.bad = bad
        self.too_many = too_many
        super().__init__("too many entries" if too_many else "not an IP address or network: " + ", ".join(bad))


def split_entries(text: str | Iterable[str]) -> list[str]:
    """Entries separated by commas, spaces or new lines (a form's text area, or CLI options)."""
    if isinstance(text, str):
        text = [text]
    return [entry for chunk in text for entry in re.split(r"[\s,]+", chunk) if entry]


def _parse_one(entry: str) -> Network | None:
    if len(entry) > _MAX_ENTRY_LENGTH or not entry.isascii():
        return None
    try:
        # strict: "192.0.2.1/24" is most likely a typo for a host or for 192.0.2.0/24, so ask.
        return ipaddress.ip_network(entry, strict=True)
    except ValueError:
        return None


def parse_allowed(entries: Iterable[str]) -> list[Network]:
    """Networks in the order given, duplicates dropped; raises AllowedAddressError listing every
    bad entry, so the form can name them all at once."""
    entries = list(entries)
    if len(entries) > MAX_ENTRIES:
        raise AllowedAddressError([], too_many=True)
    networks, bad = [], []
    for entry in entries:
        network = _parse_one(entry)
        if network is None:
            bad.append(entry)
        elif network not in networks:
            networks.append(network)
    if bad:
        raise AllowedAddressError(bad)
    return networks


def display(network: Network) -> str:
    """A single address without its /32 or /128, a network with its prefix."""
    if network.prefixlen == network.max_prefixlen:
        return str(network.network_address)
    return str(network)


def address_allowed(address: str | None, allowed: Iterable[str]) -> bool:
    """Whether a client address falls in one of the allowed networks; no networks allows any
    address. An IPv4 client seen through a dual-stack socket (::ffff:192.0.2.1) counts as its
    IPv4 address."""
    allowed = list(allowed)
    if not allowed:
        return True
    try:
        client = ipaddress.ip_address((address or "").split("%", 1)[0])
    except ValueError:
        return False
    candidates = [client]
    if client.version == 6 and client.ipv4_mapped is not None:
        candidates.append(client.ipv4_mapped)
    for text in allowed:
        network = ipaddress.ip_network(text, strict=False)
        if any(candidate.version == network.version and candidate in network for candidate in candidates):
            return True
    return False
