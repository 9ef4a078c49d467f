"""What is made once from an immutable object (a wallet's figures, a range's past points) and
kept with it, for as long as the object itself is kept."""
from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class KeepsDerived:
    """For a dataclass with a field `_derived: dict = field(default_factory=dict)`."""

    _derived: dict

    def derived(self, key, make: Callable[[], T]) -> T:
        """make()'s answer, kept under key: the caller's key names everything else it depends on."""
        value = self._derived.get(key)
        if value is None:  # two threads may both make it; they make the same thing
            value = self._derived[key] = make()
        return value

    def kept(self, key):
        """What derived() made under key, while it is still kept (else None)."""
        return self._derived.get(key)
