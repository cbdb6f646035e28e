"""The services of a Compose project and their roles: which one is the API, the frontend, the
database, the cache, the queue, a worker, a proxy, an admin UI or monitoring.

Roles come from what a service *is*: its image, what it builds (context, Dockerfile, target), the
command it runs (compose ``command``/``entrypoint``, else the built stage's ``CMD``), the ports
it publishes and what it is wired to. The API is the application service that runs a web
server, is built from the repository, publishes a port and talks to the data stores — not the
service that happens to be called ``api`` (a name only breaks a tie). ``docker.service`` in the
configuration overrides the choice.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prodaudit.product.compose import ComposeProject, compose_model, normalise_service, rel_path
from prodaudit.product.compose_yaml import service_env
from prodaudit.product.dockerfiles import (
    Dockerfile,
    Stage,
    chain,
    last_instruction,
    parse_dockerfile,
    targets,
)

if TYPE_CHECKING:
    from prodaudit.context import Context

ROLES = ("api", "frontend", "database", "cache", "queue", "worker", "proxy", "admin",
         "monitoring", "app")
_IMAGE_ROLES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("admin", re.compile(r"pgadmin|adminer|phpmyadmin|redis-?commander|redisinsight|"
                         r"mongo-express|portainer|kafka-ui|kafdrop|(^|/)flower(:|@|$)")),
    ("monitoring", re.compile(r"prometheus|grafana|(^|/)loki|promtail|alertmanager|jaeger|"
                              r"(^|/)tempo|otel|opentelemetry|node-exporter|cadvisor|(^|/)vector|"
                              r"fluent|datadog|kibana|zipkin|(^|/)sentry")),
    ("database", re.compile(r"(^|/)(postgres|postgis|timescaledb|mysql|mariadb|mongo|mongodb|"
                            r"cockroach\w*|couchdb|cassandra|neo4j|clickhouse\S*|mssql\S*|"
                            r"elasticsearch|opensearch|supabase/postgres|"
                            r"bitnami/(postgresql|mysql|mongodb|mariadb))(:|@|$)")),
    ("cache", re.compile(r"(^|/)(redis|valkey|keydb|memcached|redis-stack\S*|dragonfly\S*|"
                         r"bitnami/(redis|valkey|memcached))(:|@|$)")),
    ("queue", re.compile(r"(^|/)(rabbitmq|kafka|cp-kafka|nats|zookeeper|activemq|artemis|"
                         r"pulsar|localstack|bitnami/(kafka|rabbitmq))(:|@|$)")),
    ("proxy", re.compile(r"(^|/)(nginx|traefik|caddy|haproxy|envoy|httpd|openresty|"
                         r"nginxinc/\S+|nginx-proxy)(:|@|$)")),
)
_NAME_ROLES: dict[str, str] = {
    **dict.fromkeys(("db", "database", "postgres", "postgresql", "pg", "mysql", "mariadb",
                     "mongo", "mongodb"), "database"),
    **dict.fromkeys(("redis", "cache", "memcached", "valkey"), "cache"),
    **dict.fromkeys(("rabbitmq", "rabbit", "kafka", "broker", "mq", "nats"), "queue"),
}
_WORKER = re.compile(r"\b(celery|arq|dramatiq|huey|taskiq|faust|rq\s+worker|worker|beat|"
                     r"scheduler|crond?)\b", re.I)
_WEB_SERVER = re.compile(
    r"\b(uvicorn|gunicorn|hypercorn|daphne|granian|waitress|uwsgi|flask\s+run|runserver|"
    r"fastapi\s+(run|dev)|litestar\s+run|sanic|aiohttp\.web|"
    r"python3?\s+(-m\s+)?\S*(app|main|run|server|wsgi|asgi|manage)(\.py)?\b)", re.I)
_FRONTEND_CMD = re.compile(r"\b(npm|yarn|pnpm|bun|node|next|vite|nuxt|serve|ng\s+serve)\b")
_FRONTEND_WORD = re.compile(r"(^|[/_.-])(frontend|front|client|webapp|web-app|ui|spa|www|"
                            r"site|dashboard-ui)($|[/_.-])", re.I)
_DATA_ENV = re.compile(r"^(DATABASE_URL|DB_\w+|\w*_DB_URL|POSTGRES_(HOST|SERVER|DB|URL)|"
                       r"MYSQL_HOST|MONGO\w*_URL|MONGO_URI|SQLALCHEMY\w*|REDIS_URL|REDIS_HOST|"
                       r"CELERY_BROKER_URL|BROKER_URL|AMQP_URL)$", re.I)
_HEALTH = re.compile(r"health|ready|live|ping|status", re.I)
_LISTEN_ARG = re.compile(r"(--port|--bind|-b|-p)[ =]\S*\d|:\d{2,5}\b")
_NAME_HINT = re.compile(r"(^|[_-])(api|backend|server|app|web|service)($|[_-])", re.I)


@dataclass(frozen=True)
class BuildSpec:
    """What ``docker compose build`` builds for a service."""

    context: Path  # absolute
    dockerfile: Path  # absolute
    target: str | None
    args: dict[str, str] = field(default_factory=dict)


@dataclass
class Service:
    """One service of a project: the own merge (``raw``), Compose's view (``config``), and its
    role."""

    name: str
    project: ComposeProject
    raw: dict[str, Any]
    config: dict[str, Any]
    active: bool
    build: BuildSpec | None = None
    base_image: str = ""  # the image a built service's stage derives from (``postgres:9.6``)
    role: str = "app"
    api_score: float = 0.0
    reasons: list[str] = field(default_factory=list)

    @property
    def loc(self) -> str:
        return self.project.loc("services", self.name)

    @property
    def image(self) -> str:
        return str(self.config.get("image") or self.raw.get("image") or "")

    @property
    def command(self) -> str:
        parts = []
        for key in ("entrypoint", "command"):
            val = self.config.get(key, self.raw.get(key))
            if isinstance(val, list):
                parts.append(" ".join(str(v) for v in val))
            elif val:
                parts.append(str(val))
        return " ".join(parts)

    @property
    def ports(self) -> list[dict[str, Any]]:
        return [p for p in self.config.get("ports") or [] if isinstance(p, dict)]


def _build_spec(p: ComposeProject, cfg: dict[str, Any]) -> BuildSpec | None:
    build = cfg.get("build")
    if not isinstance(build, dict) or not build.get("context"):
        return None
    context = str(build["context"])
    if "://" in context or context.startswith("git@"):
        return None
    ctx_dir = p.abs_path(context)
    df = str(build.get("dockerfile") or "Dockerfile")
    dockerfile = Path(df) if Path(df).is_absolute() else ctx_dir / df
    args = build.get("args") or {}
    if isinstance(args, list):  # ["A=1", "B"]
        args = {a.partition("=")[0]: a.partition("=")[2] if "=" in a else None
                for a in args if isinstance(a, str)}
    return BuildSpec(ctx_dir, dockerfile, str(build["target"]) if build.get("target") else None,
                     {str(k): str(v) for k, v in args.items() if v is not None})


def built_stage(df: Dockerfile, target: str | None) -> Stage | None:
    """The stage ``docker build`` produces for ``target`` (the last buildable one without)."""
    if not df.stages:
        return None
    return next((s for s in df.stages if target and s.alias.lower() == target.lower()),
                None) or targets(df)[-1]


def _stage_command(ctx: Context, spec: BuildSpec) -> tuple[str, Dockerfile | None, str]:
    """The CMD/ENTRYPOINT of the built stage, the parsed Dockerfile (None: unreadable) and the
    external image the stage derives from."""
    rel = rel_path(ctx, spec.dockerfile)
    text = ctx.read(rel) if not rel.startswith("/") else None
    if text is None:
        return "", None, ""
    df = parse_dockerfile(rel, text)
    stage = built_stage(df, spec.target)
    if stage is None:
        return "", df, ""
    words = []
    for name in ("ENTRYPOINT", "CMD"):
        ins = last_instruction(df, stage, name)
        if ins is not None:
            words.append(ins.value)
    return " ".join(words), df, chain(df, stage)[0].resolved


def _classify(ctx: Context, svc: Service) -> None:
    command = svc.command
    df: Dockerfile | None = None
    if svc.build is not None:
        stage_cmd, df, svc.base_image = _stage_command(ctx, svc.build)
        command = command or stage_cmd
    for image in (svc.image, svc.base_image):
        for role, pattern in _IMAGE_ROLES:
            if image and pattern.search(image.lower()):
                svc.role = role
                svc.reasons.append(f"image {image}" + (" (built FROM)" if image ==
                                                       svc.base_image else ""))
                break
        if svc.role != "app":
            break
    if svc.role == "app" and svc.name.lower() in _NAME_ROLES:
        svc.role = _NAME_ROLES[svc.name.lower()]
        svc.reasons.append(f"service name {svc.name}")
    build_words = ""
    if svc.build is not None:
        build_words = " ".join([rel_path(ctx, svc.build.context), rel_path(ctx, svc.build.dockerfile),
                                svc.build.target or ""])
    if svc.role in ("app", "proxy"):
        vols = " ".join(str(v) for v in svc.raw.get("volumes") or [])
        if (_FRONTEND_WORD.search(build_words) or _FRONTEND_WORD.search(svc.name)
                or (svc.role == "app" and _FRONTEND_CMD.search(command)
                    and not _WEB_SERVER.search(command))
                or (svc.role == "proxy" and re.search(r"(^|/)(dist|build|static|public)\b", vols))):
            svc.role = "frontend"
            svc.reasons.append("serves the frontend (" + (build_words or svc.name) + ")")
    if svc.role == "app" and _WORKER.search(command) and not _WEB_SERVER.search(command):
        svc.role = "worker"
        svc.reasons.append(f"runs {command[:60]}")
    if svc.role == "app":
        _score_api(svc, command, df)


def _score_api(svc: Service, command: str, df: Dockerfile | None) -> None:
    score = 0.0
    server = _WEB_SERVER.search(command)
    if server:
        score += 3
        svc.reasons.append(f"runs a web server ({server.group(0)})")
    if svc.build is not None:
        score += 2
        svc.reasons.append("built from the repository")
    exposes = bool(svc.ports or svc.raw.get("expose")) or (
        df is not None and any(i.name == "EXPOSE" for i in df.instructions))
    hc = svc.raw.get("healthcheck")
    host_listener = svc.raw.get("network_mode") == "host" and (
        _LISTEN_ARG.search(command) or (isinstance(hc, dict) and "http://" in str(hc.get("test"))))
    if exposes or host_listener:
        score += 2
        svc.reasons.append("publishes or exposes a port")
    env = service_env(svc.raw)
    deps = svc.raw.get("depends_on")
    dep_names = set(deps) if isinstance(deps, dict | list) else set()
    if any(_DATA_ENV.match(str(k)) for k in env) or dep_names:
        score += 2
        svc.reasons.append("wired to data stores or other services")
    if isinstance(hc, dict) and _HEALTH.search(str(hc.get("test", ""))):
        score += 1
    if _NAME_HINT.search(svc.name):
        score += 0.5  # breaks a tie only
    svc.api_score = score


def project_services(ctx: Context, p: ComposeProject) -> list[Service]:
    """The project's services with their roles; the API (if any) has role ``api``."""

    def build() -> list[Service]:
        found = p.config.get("services")
        effective: dict[str, Any] = found if isinstance(found, dict) else {}
        base = p.paths[0].parent if p.paths else ctx.repo
        out = []
        for name, raw in p.services.items():
            cfg = effective.get(name)
            if not isinstance(cfg, dict):  # an inactive profile: Compose leaves it out
                cfg = normalise_service(raw, base)
            svc = Service(name, p, raw, cfg, p.active(name))
            svc.build = _build_spec(p, cfg)
            _classify(ctx, svc)
            out.append(svc)
        api = _choose_api(ctx, out)
        if api is not None:
            api.role = "api"
        return out

    return ctx.memo(f"product:services:{id(p)}", build)


def _choose_api(ctx: Context, services: list[Service]) -> Service | None:
    wanted = ctx.cfg.docker.service
    if wanted:
        return next((s for s in services if s.name == wanted), None)
    apps = [s for s in services if s.role == "app" and s.active]
    candidates = [s for s in apps if s.api_score >= 3]
    if not candidates and len(apps) == 1 and apps[0].api_score >= 1:  # not the name alone
        apps[0].reasons.append("the only application service of the stack")
        return apps[0]
    return max(candidates, key=lambda s: s.api_score, default=None)


def api_candidates(p: ComposeProject) -> bool:
    """A cheap test for a project with an application service (built, or running a server)."""
    return any(("build" in s or _WEB_SERVER.search(str(s.get("command", ""))))
               for s in p.services.values())


def api_service(ctx: Context) -> Service | None:
    """The API service of the deployed project (``docker.service`` overrides the detection)."""
    p = compose_model(ctx).primary
    if p is None:
        return None
    return next((s for s in project_services(ctx, p) if s.role == "api"), None)


def roles(ctx: Context, p: ComposeProject) -> dict[str, list[str]]:
    """Role → service names of the project."""
    out: dict[str, list[str]] = {}
    for s in project_services(ctx, p):
        out.setdefault(s.role, []).append(s.name)
    return out


def dockerfile_services(ctx: Context) -> dict[str, list[Service]]:
    """Repo-relative Dockerfile path → the services (of every project) built from it."""
    out: dict[str, list[Service]] = {}
    for p in compose_model(ctx).projects:
        for s in project_services(ctx, p):
            if s.build is not None:
                out.setdefault(posixpath.normpath(rel_path(ctx, s.build.dockerfile)), []).append(s)
    return out
