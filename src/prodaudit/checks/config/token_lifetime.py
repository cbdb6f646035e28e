"""CFG-035: access-token lifetimes set in code, judged statically against ``[jwt]
max_access_minutes`` (the live check SEC-010 measures an issued token)."""

from __future__ import annotations

from prodaudit.checks.api import Context, Evidence, Finding, Severity, Skip, check, failed, passed
from prodaudit.product.effective import deployment_sets
from prodaudit.product.pysettings import settings_model
from prodaudit.product.tokenlife import access_lifetimes, is_access_lifetime_name


def _human(seconds: float) -> str:
    for unit, size in (("days", 86400), ("hours", 3600), ("minutes", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)} {unit}"
    return f"{seconds:g} seconds"


@check("CFG-035", "Access tokens set in code expire within the configured maximum",
       severity=Severity.HIGH, needs=("repo",), checklist=("8.1.2", "8.1.1"),
       references=("CWE-613", "OWASP API2:2023"),
       evidence=Evidence.PARSED)
def code_token_lifetime(ctx: Context) -> list[Finding]:
    """The access-token lifetime the code sets — ``ACCESS_TOKEN_EXPIRE_MINUTES = 60 * 24 * 8``,
    SimpleJWT ``ACCESS_TOKEN_LIFETIME``, flask-jwt-extended ``JWT_ACCESS_TOKEN_EXPIRES``,
    rest_framework_jwt ``JWT_EXPIRATION_DELTA``, a ``timedelta(days=7)`` a token encoder adds,
    ``expires_delta=`` arguments, the default of the variable they are read from (or the value
    the deployment gives that variable), and library defaults left in place (django-oauth-toolkit:
    10 hours) — is at most ``jwt.max_access_minutes`` (default 60); a token that never expires
    (``JWT_ACCESS_TOKEN_EXPIRES = False``) fails. Refresh, reset and verification tokens are not
    access tokens and are not judged here.

    A stolen access token is usable until it expires: with an 8-day lifetime for 8 days. Short
    access tokens plus refresh tokens limit the damage. SEC-010 verifies an issued token live;
    this check finds the setting without a running target, at its ``path:line``.

    Remediation: set the access-token lifetime to 5-60 minutes and issue refresh tokens for
    longer sessions (rotate them and revoke them at logout).
    """
    limit = ctx.cfg.jwt.max_access_minutes * 60
    deployed: dict[str, str] = {}
    for st in settings_model(ctx).settings:
        if st.env and is_access_lifetime_name(st.name):
            values = deployment_sets(ctx, st.env)
            if values:
                deployed[st.env] = values[0].value
    lifetimes = access_lifetimes(ctx, deployed)
    if not lifetimes:
        raise Skip("no access-token lifetime set in the code (settings, token encoders)")
    out: list[Finding] = []
    for lt in lifetimes:
        if lt.seconds is None:
            out.append(failed(f"access tokens never expire ({lt.what})", location=lt.loc))
        elif lt.seconds > limit:
            out.append(failed(f"access tokens live {_human(lt.seconds)} ({lt.what}), over "
                              f"jwt.max_access_minutes = {ctx.cfg.jwt.max_access_minutes}",
                              location=lt.loc, evidence=lt.what))
    if not out:
        shown = ", ".join(f"{_human(lt.seconds or 0)} at {lt.loc}" for lt in lifetimes[:6])
        out.append(passed(f"{len(lifetimes)} access-token lifetime(s) within "
                          f"{ctx.cfg.jwt.max_access_minutes} minutes: {shown}"))
    return out
