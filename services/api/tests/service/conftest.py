"""Fixtures for the service tests that share state through a real redis-server."""

from __future__ import annotations

from tests.redis_server import redis_server, redis_session, redis_url
from tests.service.replicas import links, replicas

__all__ = ["links", "redis_server", "redis_session", "redis_url", "replicas"]
