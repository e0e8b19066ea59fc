"""Linkage (placeholder, see below)."""
