"""Expiring counters and flags: Redis when REDIS_URL is set, process memory otherwise.

The rate limiter, the login lockout and the token denylist all use this one small interface, so
the in-memory fallback and Redis behave the same way.
"""

from __future__ import annotations

import math
import threading
import time
from typing import Protocol

import redis.asyncio as aioredis

KEY_PREFIX = "ultra:"


class Store(Protocol):
    """The interface of the counter/flag store shared by rate limits, lockouts and the denylist."""

    backend: str

    async def incr(self, key: str, ttl: int) -> tuple[int, int]:
        """Increment a counter whose window starts at its first hit; return (count, ttl)."""
        ...

    async def peek(self, key: str) -> tuple[int, int]:
        """Return (count, ttl) without incrementing; (0, 0) when absent."""
        ...

    async def delete(self, key: str) -> None:
        """Remove a key (no error when it is absent)."""

    async def set_flag(self, key: str, ttl: int) -> None:
        """Set a flag that expires after ``ttl`` seconds."""

    async def exists(self, key: str) -> bool:
        """True while the key (counter or flag) has not expired."""

    async def ping(self) -> None:
        """Raise when the store cannot be reached (readiness check)."""

    async def close(self) -> None:
        """Release connections."""


class MemoryStore:
    """A per-process store. Fine for one worker; use Redis for several."""

    backend = "memory"
    _MAX_KEYS = 100_000

    def __init__(self) -> None:
        self._data: dict[str, tuple[int, float]] = {}
        self._lock = threading.Lock()

    def _live(self, key: str, now: float) -> tuple[int, float] | None:
        item = self._data.get(key)
        if item is None:
            return None
        if item[1] <= now:
            del self._data[key]
            return None
        return item

    def _sweep(self, now: float) -> None:
        if len(self._data) > self._MAX_KEYS:
            for key in [k for k, (_, exp) in self._data.items() if exp <= now]:
                del self._data[key]

    async def incr(self, key: str, ttl: int) -> tuple[int, int]:
        now = time.monotonic()
        with self._lock:
            self._sweep(now)
            item = self._live(key, now)
            count, expires = (item[0] + 1, item[1]) if item else (1, now + ttl)
            self._data[key] = (count, expires)
        return count, max(1, math.ceil(expires - now))

    async def peek(self, key: str) -> tuple[int, int]:
        now = time.monotonic()
        with self._lock:
            item = self._live(key, now)
        if item is None:
            return 0, 0
        return item[0], max(1, math.ceil(item[1] - now))

    async def delete(self, key: str) -> None:
        with self._lock:
            self._data.pop(key, None)

    async def set_flag(self, key: str, ttl: int) -> None:
        now = time.monotonic()
        with self._lock:
            self._sweep(now)
            self._data[key] = (1, now + max(1, ttl))

    async def exists(self, key: str) -> bool:
        with self._lock:
            return self._live(key, time.monotonic()) is not None

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        return None


class RedisStore:
    """Redis-backed store shared by every worker and replica."""

    backend = "redis"

    def __init__(self, url: str) -> None:
        self._redis = aioredis.from_url(
            url,
            socket_timeout=2,
            socket_connect_timeout=2,
            health_check_interval=30,
            decode_responses=True,
        )

    async def incr(self, key: str, ttl: int) -> tuple[int, int]:
        full = KEY_PREFIX + key
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(full)
            pipe.expire(full, ttl, nx=True)
            pipe.ttl(full)
            count, _, remaining = await pipe.execute()
        return int(count), max(1, int(remaining))

    async def peek(self, key: str) -> tuple[int, int]:
        full = KEY_PREFIX + key
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.get(full)
            pipe.ttl(full)
            value, remaining = await pipe.execute()
        if value is None:
            return 0, 0
        return int(value), max(1, int(remaining))

    async def delete(self, key: str) -> None:
        await self._redis.delete(KEY_PREFIX + key)

    async def set_flag(self, key: str, ttl: int) -> None:
        await self._redis.set(KEY_PREFIX + key, "1", ex=max(1, ttl))

    async def exists(self, key: str) -> bool:
        return bool(await self._redis.exists(KEY_PREFIX + key))

    async def ping(self) -> None:
        await self._redis.ping()  # type: ignore[misc]  # redis-py types ping as sync|async

    async def close(self) -> None:
        await self._redis.aclose()


def make_store(redis_url: str | None) -> MemoryStore | RedisStore:
    """Redis when REDIS_URL is set, process memory otherwise."""
    return RedisStore(redis_url) if redis_url else MemoryStore()
