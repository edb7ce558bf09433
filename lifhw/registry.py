"""Name -> object registries with lazy imports and "did you mean" errors.

Parameter files name generators, simulators, chips and sections; each kind has
one :class:`Registry`. Entries are dotted paths (``"pkg.mod:attr"``) imported on
first use, so ``import lifhw`` stays light.
"""

from __future__ import annotations

import difflib
import importlib
from typing import Generic, TypeVar

from lifhw.errors import ParamError

T = TypeVar("T")


class Registry(Generic[T]):
    """A named collection of lazily imported objects."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._paths: dict[str, str] = {}
        self._loaded: dict[str, T] = {}

    def add(self, name: str, target: str | T) -> None:
        """Register ``name`` -> ``"module:attr"`` (lazy) or an object."""
        if isinstance(target, str):
            self._paths[name] = target
        else:
            self._paths[name] = ""
            self._loaded[name] = target

    def __contains__(self, name: object) -> bool:
        return name in self._paths

    def names(self) -> list[str]:
        return sorted(self._paths)

    def suggest(self, name: str) -> str:
        close = difflib.get_close_matches(name, self.names(), n=1, cutoff=0.5)
        return f" (did you mean {close[0]!r}?)" if close else ""

    def get(self, name: str) -> T:
        """Look up ``name``; unknown names raise ParamError with a suggestion."""
        if name not in self._paths:
            raise ParamError(
                f"unknown {self.kind} {name!r}{self.suggest(name)}; known: "
                + ", ".join(self.names())
            )
        if name not in self._loaded:
            module, _, attribute = self._paths[name].partition(":")
            self._loaded[name] = getattr(importlib.import_module(module), attribute)
        return self._loaded[name]
