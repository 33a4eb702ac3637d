"""Seeded row sampling as an mlspec stage (a first-party plugin that uses only the public API)."""
