"""The audit's accounts for one run: the login adapter found once, the sessions of the first and
second account, accounts the audit registered itself, and the record of it all
(``facts.login``, ``facts.accounts``). The Context owns one (``ctx.auth()``,
``ctx.login_plan()``)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from prodaudit.auth import credentials_from_env
from prodaudit.auth.accounts import NewAccount, collect_ids, delete, register
from prodaudit.auth.discovery import ME_PATH_RE, LoginTarget, login_targets
from prodaudit.auth.session import (
    AuthError,
    AuthSession,
    Credentials,
    LoginPlan,
    LoginReport,
    discover_login,
    login_with,
)
from prodaudit.auth.shapes import env_values
from prodaudit.auth.tokens import scheme_from_security
from prodaudit.config import AuditConfig
from prodaudit.http import Http, join_url
from prodaudit.openapi import OpenAPIDoc
from prodaudit.outcome import Skip

ME_FALLBACKS = ("/users/me", "/me", "/api/me", "/api/users/me", "/auth/me", "/api/v1/users/me")


def me_candidates(doc: OpenAPIDoc | None, configured: str | None) -> list[str]:
    """Pages that need a login (to verify a cookie session): ``auth.me_url``, protected GET
    operations without parameters (current-user paths first), common current-user paths."""
    out = [configured] if configured else []
    if doc is not None:
        ops = [op for op in doc.operations if op.method == "GET" and not op.path_params
               and doc.is_protected(op)]
        ops.sort(key=lambda o: (not re.search(ME_PATH_RE, o.path, re.I), len(o.path)))
        out += [op.path for op in ops[:3]]
    return out[:3]


@dataclass
class AccountManager:
    cfg: AuditConfig
    http: Http
    register_secret: Callable[..., None]  # the redactor's register
    export: Callable[[str, Any], None]
    scoped: Callable[[], Any]  # a context manager: the setup probe scope
    plan: LoginPlan | None = None
    report: LoginReport = field(default_factory=LoginReport)
    created: list[tuple[NewAccount, AuthSession | None]] = field(default_factory=list)
    sessions: dict[str, AuthSession] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)
    locks: dict[str, asyncio.Lock] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # values the login body takes from the environment (an OAuth2 client secret) are masked
        # wherever they appear: evidence, curl lines, reports
        for value in env_values(self.cfg.auth.login_body):
            self.register_secret(value)

    def _remember(self, sess: AuthSession) -> None:
        self.register_secret(sess.credentials.password, sess.access_token.rsplit(".", 1)[-1],
                             sess.refresh_token)

    async def session(self, base_url: str, doc: OpenAPIDoc | None, *, second: bool,
                      fresh: bool) -> AuthSession:
        """A logged-in session of the first or second account, or Skip with the reason."""
        key = "second" if second else "first"
        lock = self.locks.setdefault(key, asyncio.Lock())
        async with lock:
            sess = self.sessions.get(key)
            if sess is not None and not fresh and not sess.stale:
                return sess
            if key in self.failures and not fresh:
                raise Skip(self.failures[key])
            try:
                sess = await self._login(base_url, doc, second)
            except Skip as exc:
                self.failures[key] = exc.reason
                raise
            self.sessions[key] = sess
            return sess

    async def _login(self, base_url: str, doc: OpenAPIDoc | None, second: bool) -> AuthSession:
        creds = credentials_from_env(self.cfg.auth, second=second)
        if creds is not None:
            self.register_secret(creds.password)
            return await self.login(base_url, doc, creds, record=not second)
        return await self._registered_session(base_url, doc, second)

    async def login(self, base_url: str, doc: OpenAPIDoc | None, creds: Credentials, *,
                    record: bool = True) -> AuthSession:
        """Log ``creds`` in: with the known plan, else by discovery (recorded in facts.login)."""
        probe = me_candidates(doc, self.cfg.auth.me_url)
        try:
            with self.scoped():
                if self.plan is not None:
                    sess = await login_with(self.http, base_url, self.plan, self.cfg.auth, creds, probe)
                else:
                    report = self.report if record else LoginReport()
                    self.plan, sess = await discover_login(self.http, base_url, doc, self.cfg.auth,
                                                           creds, report, probe)
        except AuthError as exc:
            if record:
                self.export("login", self.report.to_dict())
            raise Skip(f"audit account login failed: {exc}") from None
        finally:
            if record and self.report.attempts:
                self.export("login", self.report.to_dict())
        self._remember(sess)
        return sess

    async def _registered_session(self, base_url: str, doc: OpenAPIDoc | None,
                                  second: bool) -> AuthSession:
        names = ((self.cfg.auth.second_username_env, self.cfg.auth.second_password_env) if second
                 else (self.cfg.auth.username_env, self.cfg.auth.password_env))
        missing = f"no {'second ' if second else ''}audit account: set {names[0]} and {names[1]}"
        if not self.cfg.allow_mutations:
            raise Skip(f"{missing} (or run with --allow-mutations to let the audit register one)")
        if doc is None:
            raise Skip(f"{missing}; registering one needs the OpenAPI document (not available)")
        try:
            with self.scoped():
                account = await register(self.http, base_url, doc, self.cfg.auth)
        except ValueError as exc:
            raise Skip(f"{missing}; registering one failed: {exc}") from None
        self.register_secret(account.password)
        self.add(account)
        user_field = self.plan.shape.user_field if self.plan else _first_user_field(doc, self.cfg, base_url)
        last: Skip | None = None
        for name in account.login_names(user_field)[:2]:
            try:
                sess = await self.login(base_url, doc, Credentials(name, account.password),
                                        record=not second)
            except Skip as exc:
                last = exc
                continue
            self.attach(account, sess)
            return sess
        assert last is not None
        raise Skip(f"the account registered at {account.registered_at} cannot log in: {last.reason}")

    def add(self, account: NewAccount) -> None:
        """An account the audit registered (deleted at the end of the run, FUN-025)."""
        self.created.append((account, None))
        self._export_accounts()

    def attach(self, account: NewAccount, sess: AuthSession) -> None:
        """The session of a registered account (its deletion uses it)."""
        self.created = [(a, sess if a is account else s) for a, s in self.created]
        self._export_accounts()

    async def plan_for_probes(self, base_url: str, doc: OpenAPIDoc | None,
                              account: Callable[[], Awaitable[AuthSession]]) -> LoginPlan:
        """The login adapter for probes that send credentials (made-up users, wrong passwords):
        the audit account's working plan, else the best discovered target's first shape
        (unverified)."""
        try:
            sess = await account()
            if sess.plan is not None:
                return sess.plan
        except Skip:
            pass
        if self.plan is not None:
            return self.plan
        targets = login_targets(doc, self.cfg.auth, base_url)
        if not targets:
            why = f"; the audit account's login: {self.report.summary}" if self.report.summary else ""
            raise Skip("no login endpoint found (auth.login_url, an OAuth2 tokenUrl or a login "
                       "operation in the OpenAPI document)" + why)
        t: LoginTarget = targets[0]
        token = scheme_from_security(doc.security_schemes) if doc is not None else None
        return LoginPlan(t.url, t.shapes[0], t.source, verified=False, guessed=t.guessed,
                         token_header=token)

    async def delete_created(self, base_url: str, doc: OpenAPIDoc | None) -> list[str]:
        """Delete every account the audit registered (with its own session); what is left."""
        left: list[str] = []
        deleted: list[str] = []
        for account, sess in self.created:
            if sess is None:
                left.append(f"{account.username} ({account.registered_at}): never logged in, not deleted")
                continue
            me = me_candidates(doc, self.cfg.auth.me_url)
            if me:
                with self.scoped():
                    ex = await self.http.get(join_url(base_url, me[0]), headers=sess.headers())
                collect_ids(account, ex)
            with self.scoped():
                ok, how = await delete(self.http, base_url, doc, account, sess.headers())
            (deleted if ok else left).append(f"{account.username} ({account.registered_at}): {how}")
        self._export_accounts(deleted, left)
        return left

    def _export_accounts(self, deleted: list[str] | None = None, left: list[str] | None = None) -> None:
        self.export("accounts", {
            "created": [f"{a.username} <{a.email}> at {a.registered_at}" for a, _ in self.created],
            "deleted": list(deleted or []),
            "left": list(left or []),
        })


def _first_user_field(doc: OpenAPIDoc | None, cfg: AuditConfig, base_url: str) -> str | None:
    targets = login_targets(doc, cfg.auth, base_url)
    return targets[0].shapes[0].user_field if targets and targets[0].shapes else None
