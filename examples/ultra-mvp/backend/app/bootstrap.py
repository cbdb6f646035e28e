"""Startup work: migrations and the BOOTSTRAP_USERS accounts."""

from __future__ import annotations

import logging
import time

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from app.db import upgrade_to_head
from app.models import User
from app.security import hash_password, verify_password
from app.settings import BootstrapUser

log = logging.getLogger("ultra.startup")

MIGRATION_ATTEMPTS = 5
MIGRATION_RETRY_SECONDS = 2.0


def migrate(url: str) -> None:
    """``alembic upgrade head``, retried briefly while the database is starting."""
    for attempt in range(1, MIGRATION_ATTEMPTS + 1):
        try:
            upgrade_to_head(url)
            return
        except OperationalError:
            if attempt == MIGRATION_ATTEMPTS:
                raise
            log.warning(
                "database not reachable for migrations (attempt %d/%d); retrying",
                attempt,
                MIGRATION_ATTEMPTS,
            )
            time.sleep(MIGRATION_RETRY_SECONDS)


def ensure_users(
    factory: sessionmaker[Session], accounts: list[BootstrapUser], rounds: int
) -> None:
    """Create missing accounts; re-sync password and role of existing ones.

    Replicas starting together may race to create the same account: the loser's insert hits the
    unique index, and it then re-syncs the winner's row instead.
    """
    for account in accounts:
        for attempt in (1, 2):
            try:
                _ensure_user(factory, account, rounds)
                break
            except IntegrityError:
                if attempt == 2:
                    raise
                log.info("bootstrap account created concurrently; re-syncing")


def _ensure_user(factory: sessionmaker[Session], account: BootstrapUser, rounds: int) -> None:
    with factory() as session:
        user = session.scalar(select(User).where(User.email == account.email))
        if user is None:
            session.add(
                User(
                    email=account.email,
                    password_hash=hash_password(account.password, rounds),
                    role=account.role,
                )
            )
            session.commit()
            log.info("bootstrap account created", extra={"extra_fields": {"role": account.role}})
            return
        changed = False
        if not verify_password(account.password, user.password_hash):
            user.password_hash = hash_password(account.password, rounds)
            changed = True
        if user.role != account.role or not user.is_active:
            user.role = account.role
            user.is_active = True
            changed = True
        if changed:
            session.commit()
            log.info("bootstrap account updated", extra={"extra_fields": {"role": account.role}})
