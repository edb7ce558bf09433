"""Shared fixtures of the simulator suite."""
