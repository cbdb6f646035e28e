"""CFG-163 on small Compose projects made in tmp_path."""

from __future__ import annotations

from pathlib import Path

from cfg_helpers import run_cfg, warns
from helpers import describe
from helpers import result as res

from prodaudit.model import Status

COMPOSE = """services:
  api:
    build: .
  redis:
    image: redis:7.2-alpine
  cache:
    image: valkey/valkey:8.0
    volumes:
      - ./redis.conf:/usr/local/etc/redis/redis.conf
  debug-redis:
    image: redis:7.2
    profiles: [debug]
"""


def test_cfg163_redis_maxmemory(tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "docker-compose.yml").write_text(COMPOSE)
    (bad / "redis.conf").write_text("appendonly yes\n")
    r = res(run_cfg(bad, tmp_path, only=["CFG-163"]), "CFG-163")
    assert r.status is Status.WARN, describe(r)
    # the profile-only service is not started by a plain `docker compose up`
    assert sorted(f.location for f in warns(r)) == ["docker-compose.yml:5",
                                                    "docker-compose.yml:7"]
    good = tmp_path / "good"
    good.mkdir()
    (good / "docker-compose.yml").write_text(COMPOSE.replace(
        "    image: redis:7.2-alpine\n",
        "    image: redis:7.2-alpine\n    command: redis-server --maxmemory 256mb "
        "--maxmemory-policy allkeys-lru\n"))
    (good / "redis.conf").write_text("maxmemory 128mb\nmaxmemory-policy noeviction\n")
    r = res(run_cfg(good, tmp_path, only=["CFG-163"]), "CFG-163")
    assert r.status is Status.PASS, describe(r)
