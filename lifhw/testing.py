"""Helpers for lifhw's own test suites (and users' tests of their designs)."""

from __future__ import annotations

import os

from lifhw import tools

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require_tool(name: str) -> None:
    """Skip the calling test when a tool is missing locally; in CI fail instead.

    CI installs every tool, so a skip there would hide a missing install step.
    """
    import pytest

    if tools.have(name):
        return
    message = f"{name} is not installed ({tools.INSTALL_HINTS.get(name, '')})"
    if IN_CI:
        pytest.fail("CI must have every tool: " + message)
    pytest.skip(message)
