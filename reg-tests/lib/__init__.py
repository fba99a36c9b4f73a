"""Helpers for sluice's black-box reg-tests (Python 3.11 stdlib only)."""
