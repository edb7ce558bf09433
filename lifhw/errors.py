"""Exceptions of lifhw.

Every mistake a user can make (a bad parameter file, a missing simulator, a
simulation that does not converge) raises a subclass of :class:`LifhwError`. The
CLI prints its message on one line and exits with status 2 -- no traceback.
Anything else escaping is a bug in lifhw.
"""

from __future__ import annotations


class LifhwError(Exception):
    """Base of all user-facing errors (exit status 2 from the CLI)."""

    exit_code = 2


class ParamError(LifhwError, ValueError):
    """A parameter value or file is invalid.

    Args:
        message: What is wrong, including the expected unit where there is one.
        path: Dotted field path inside the file, e.g. ``circuit.membrane_capacitance``.
        source: The file the value came from, if any.
    """

    def __init__(self, message: str, *, path: str = "", source: str = "") -> None:
        self.message = message
        self.path = path
        self.source = source
        super().__init__(self._format())

    def _format(self) -> str:
        where = ""
        if self.source and self.path:
            where = f"{self.source}: {self.path}: "
        elif self.source:
            where = f"{self.source}: "
        elif self.path:
            where = f"{self.path}: "
        return where + self.message

    def located(self, *, path_prefix: str = "", source: str = "") -> ParamError:
        """Return a copy with a longer field path and/or a file name."""
        path = ".".join(p for p in (path_prefix, self.path) if p)
        return ParamError(self.message, path=path, source=source or self.source)


class ToolMissingError(LifhwError, RuntimeError):
    """An external tool (ngspice, iverilog, yosys, verilator, ...) is not installed."""


class SimulationError(LifhwError, RuntimeError):
    """A simulator failed: non-convergence, timeout, crash or unreadable output."""
