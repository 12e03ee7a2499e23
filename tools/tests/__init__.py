"""Tests of the bench package, on recorded reports (recorded.py)."""
