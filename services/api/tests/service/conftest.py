"""Fixtures for the service tests that share state through a real redis-server (the server
itself: tests/support/fixtures.py)."""

from __future__ import annotations

from tests.service.replicas import links, replicas

__all__ = ["links", "replicas"]
