"""Shared fixtures of the fast suite (no simulators)."""
