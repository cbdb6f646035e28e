"""Running a field project live (issue 17): its manifest's ``[live]`` recipe, the services it
needs, a cached venv of the interpreter it names, and the server process.

A recipe (``tests/field/<folder>.toml`` ``[live]``; tests/field/README.md documents the keys) is
run in a temporary copy of the project: ``install`` into a fresh venv of ``python`` (cached by the
recipe's hash, so reruns skip it), ``seed`` then ``start`` with the placeholders filled in, and
``health`` polled until the server answers. Every process started here runs in its own session
and is killed (SIGTERM, then SIGKILL) by :meth:`Server.stop`; every database created here
(``field_<x>``, named in the recipe, with a per-run suffix) is dropped afterwards. Everything is
bounded in time.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
import tomllib
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from prodaudit.ports import bind_problem, free_port, on_free_port

HERE = Path(__file__).resolve().parent
PROJECT_ROOT = HERE.parent.parent
FAKE_LLM = PROJECT_ROOT / "examples" / "ultra-mvp" / "tools" / "fake_llm_provider.py"
CACHE_ENV = "PRODAUDIT_FIELD_CACHE"
INSTALL_TIMEOUT_S = 900.0
SEED_TIMEOUT_S = 300.0
HEALTH_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 10.0
VIRTUALENV_PY2 = "virtualenv<20.22"  # the last virtualenv that creates Python 2.7 environments
_DB_NAME = re.compile(r"\bfield_[a-z0-9_]+\b")
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


class RecipeError(RuntimeError):
    """A recipe step failed; the message names the step and ends with the output's tail."""


# ---------------------------------------------------------------------------------- recipe


@dataclass(frozen=True)
class Account:
    username: str
    password: str
    register: str = ""  # "POST /path": the account does not exist until registered there


@dataclass(frozen=True)
class LiveRecipe:
    folder: str
    runnable: bool
    why_not: str
    python: str
    install: tuple[str, ...]
    services: tuple[str, ...]
    env: Mapping[str, str]
    seed: tuple[str, ...]
    start: str
    health: str
    login_path: str
    login_body: Mapping[str, Any] | None
    account: Account | None
    account2: Account | None
    render: str
    repo: str
    source: Path

    def text(self) -> str:
        """Every command and env value (where placeholders and database names occur)."""
        return "\n".join([*self.env.values(), *self.seed, self.start])


def _account(value: Any) -> Account | None:
    if not isinstance(value, dict) or not value.get("username"):
        return None
    return Account(str(value["username"]), str(value.get("password", "")),
                   str(value.get("register", "")))


def load_recipe(path: Path) -> LiveRecipe:
    """The ``[live]`` recipe of a manifest (structure checked by ``harness.validate_live``)."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    live = data.get("live") or {}
    project = data.get("project") or {}
    return LiveRecipe(
        folder=str(project.get("folder", path.stem)),
        runnable=bool(live.get("runnable", False)),
        why_not=str(live.get("why_not", "")),
        python=str(live.get("python", "")),
        install=tuple(str(c) for c in live.get("install", [])),
        services=tuple(str(s) for s in live.get("services", [])),
        env={str(k): str(v) for k, v in (live.get("env") or {}).items()},
        seed=tuple(str(c) for c in live.get("seed", [])),
        start=str(live.get("start", "")),
        health=str(live.get("health", "/")),
        login_path=str(live.get("login_path", "")),
        login_body=dict(live["login_body"]) if isinstance(live.get("login_body"), dict) else None,
        account=_account(live.get("account")),
        account2=_account(live.get("account2")),
        render=str(project.get("render", "")),
        repo=str(project.get("repo", ".") or "."),
        source=path,
    )


def seeded(recipe: LiveRecipe, account: Account) -> bool:
    """The recipe's seed creates ``account`` itself (its user name appears in a seed command)."""
    return any(account.username in cmd for cmd in recipe.seed)


def databases(recipe: LiveRecipe) -> list[str]:
    """The PostgreSQL databases the recipe uses (``field_<x>`` in its env, seed or start)."""
    return sorted(set(_DB_NAME.findall(recipe.text())))


def fill(text: str, values: Mapping[str, str]) -> str:
    """``text`` with every known ``{name}`` placeholder replaced (others left as they are)."""
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)


# ---------------------------------------------------------------------------------- interpreters


def interpreter(version: str) -> Path | None:
    """The newest pyenv interpreter of ``version`` (e.g. "3.8" → 3.8.18), else ``pythonX.Y`` on
    PATH, else None."""
    root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    if root.is_dir():
        found = [p for p in root.iterdir()
                 if re.fullmatch(re.escape(version) + r"(\.\d+)?", p.name)
                 and (p / "bin" / "python").is_file()]
        if found:
            best = max(found, key=lambda p: tuple(int(x) for x in p.name.split(".")))
            return best / "bin" / "python"
    which = shutil.which(f"python{version}")
    return Path(which) if which else None


def interpreter_version(python: Path) -> str:
    proc = subprocess.run([str(python), "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"],
                          capture_output=True, text=True, timeout=30, check=False)
    return proc.stdout.strip() or "unknown"


def cache_root() -> Path:
    root = Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "prodaudit" / "field")
    root.mkdir(parents=True, exist_ok=True)
    return root


def recipe_hash(recipe: LiveRecipe, python_version: str, project_digest: str) -> str:
    """What the venv depends on: the interpreter, the install commands and the project files
    (its requirement and lock files live there)."""
    raw = json.dumps([recipe.folder, python_version, list(recipe.install), project_digest])
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def tree_digest(root: Path) -> str:
    """A digest of the files of a project tree (names, sizes and contents)."""
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        if p.is_file() and not p.is_symlink() and ".git" not in p.parts:
            h.update(str(p.relative_to(root)).encode())
            h.update(p.read_bytes())
    return h.hexdigest()


def cacheable(recipe: LiveRecipe) -> bool:
    """A venv whose install links back into the copy (editable installs) cannot be reused."""
    return not any(re.search(r"(^|\s)(-e|--editable)(\s|$)", c) for c in recipe.install)


def _run(cmd: str, *, cwd: Path, env: Mapping[str, str], timeout: float, what: str,
         log: Path) -> None:
    """``sh -c cmd`` in its own session, bounded; a failure raises RecipeError with the tail."""
    with log.open("a", encoding="utf-8") as out:
        out.write(f"\n$ {cmd}\n")
        out.flush()
        proc = subprocess.Popen(["sh", "-c", cmd], cwd=cwd, env=dict(env), stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
        try:
            code = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            kill_group(proc)
            raise RecipeError(f"{what} `{cmd[:120]}` timed out after {timeout:.0f} s") from None
        except BaseException:
            kill_group(proc)
            raise
    if code != 0:
        tail = " | ".join(log.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-8:])
        raise RecipeError(f"{what} `{cmd[:120]}` exited {code}: {tail[-900:]}")


def _virtualenv_tool(log: Path) -> Path:
    """A virtualenv that can still create Python 2.7 environments (in the cache)."""
    tools = cache_root() / "tools-virtualenv"
    exe = tools / "bin" / "virtualenv"
    if not exe.is_file():
        shutil.rmtree(tools, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(tools)], check=True, timeout=120)
        _run(f"{tools / 'bin' / 'pip'} install -q '{VIRTUALENV_PY2}'", cwd=cache_root(),
             env=os.environ, timeout=INSTALL_TIMEOUT_S, what="virtualenv", log=log)
    return exe


def venv_env(venv: Path, base: Mapping[str, str]) -> dict[str, str]:
    env = dict(base)
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{base.get('PATH', os.environ.get('PATH', ''))}"
    env["VIRTUAL_ENV"] = str(venv)
    env.pop("PYTHONHOME", None)
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


@dataclass(frozen=True)
class Venv:
    path: Path
    cached: bool  # reused from an earlier run
    seconds: float  # spent creating and installing (0 when cached)
    python_version: str


def build_venv(recipe: LiveRecipe, copy: Path, base_env: Mapping[str, str], log: Path,
               project_digest: str) -> Venv:
    """The recipe's venv, installed in ``copy`` (reused from the cache when its hash matches)."""
    python = interpreter(recipe.python)
    if python is None:
        raise RecipeError(f"no Python {recipe.python} interpreter (pyenv install {recipe.python})")
    version = interpreter_version(python)
    key = recipe_hash(recipe, version, project_digest)
    reuse = cacheable(recipe)
    venv = (cache_root() / "venvs" / f"{recipe.folder}-{key}") if reuse else copy / ".field-venv"
    marker = venv / ".prodaudit-field-ok"
    with _locked(cache_root() / "locks" / f"{recipe.folder}.lock"):
        if reuse and marker.is_file():
            return Venv(venv, True, 0.0, version)
        t0 = time.monotonic()
        shutil.rmtree(venv, ignore_errors=True)
        if recipe.python.startswith("2."):
            _run(f"{_virtualenv_tool(log)} -q -p {python} {venv}", cwd=copy, env=base_env,
                 timeout=300, what="venv", log=log)
        else:
            _run(f"{python} -m venv {venv}", cwd=copy, env=base_env, timeout=300, what="venv", log=log)
        env = venv_env(venv, base_env)
        for cmd in recipe.install:
            _run(cmd, cwd=copy, env=env, timeout=INSTALL_TIMEOUT_S, what="install", log=log)
        marker.write_text(json.dumps({"recipe": key, "python": version}), encoding="utf-8")
        return Venv(venv, False, time.monotonic() - t0, version)


# ---------------------------------------------------------------------------------- services


@dataclass(frozen=True)
class PgServer:
    user: str
    password: str
    host: str
    port: int
    admin_db: str

    @classmethod
    def from_url(cls, url: str) -> PgServer:
        u = urlsplit(url)
        return cls(u.username or "postgres", u.password or "", u.hostname or "127.0.0.1",
                   u.port or 5432, (u.path or "/postgres").lstrip("/") or "postgres")

    def _connect(self) -> Any:
        import psycopg

        return psycopg.connect(dbname=self.admin_db, user=self.user, password=self.password,
                               host=self.host, port=self.port, autocommit=True, connect_timeout=10)

    def recreate(self, name: str) -> None:
        """Drop ``name`` (left by an interrupted run) and create it empty."""
        assert _DB_NAME.fullmatch(name), name
        with self._connect() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')

    def drop(self, name: str) -> None:
        assert _DB_NAME.fullmatch(name), name
        with self._connect() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def service_problems(recipe: LiveRecipe) -> list[str]:
    """Why the recipe's services are not available here (empty: they are)."""
    problems = []
    if "postgres" in recipe.services and not os.environ.get("PRODAUDIT_TEST_DATABASE_URL"):
        problems.append("PostgreSQL: PRODAUDIT_TEST_DATABASE_URL is not set "
                        '(bash scripts/services.sh up; eval "$(bash scripts/services.sh env)")')
    if "redis" in recipe.services and not os.environ.get("PRODAUDIT_TEST_REDIS_URL"):
        problems.append("Redis: PRODAUDIT_TEST_REDIS_URL is not set (scripts/services.sh env)")
    if "llm" in recipe.services and not FAKE_LLM.is_file():
        problems.append(f"LLM provider: {FAKE_LLM} is missing")
    return problems


# ---------------------------------------------------------------------------------- processes


def kill_group(proc: subprocess.Popen[Any], timeout: float = STOP_TIMEOUT_S) -> None:
    """SIGTERM to the process group of ``proc`` (started with ``start_new_session``), SIGKILL
    after ``timeout``; waits for the leader."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=timeout)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)  # stragglers of the group (workers)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5)


def http_status(url: str, timeout: float = 3.0) -> int | None:
    """The status of a GET (redirects not followed), None when nothing answers."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    opener = urllib.request.build_opener(NoRedirect())
    try:
        with opener.open(url, timeout=timeout) as resp:
            status: int = resp.status
            return status
    except urllib.error.HTTPError as exc:
        return exc.code
    except (OSError, ValueError):
        return None


@dataclass
class Server:
    """A started process (the project's server, the fake LLM provider)."""

    name: str
    proc: subprocess.Popen[Any]
    base_url: str
    log: Path

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> None:
        kill_group(self.proc)

    def _raise_taken(self) -> None:
        text = self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""
        taken = bind_problem(self.name, urlsplit(self.base_url).port or 80, self.proc, text)
        if taken is not None:
            raise taken

    def wait_healthy(self, path: str, timeout: float = HEALTH_TIMEOUT_S) -> int:
        """Poll ``path`` until it answers below 500; the status. RecipeError when the process
        exits or the time is up (with the log's tail); PortInUse when it could not bind its port
        (``prodaudit.ports``: the caller starts it on another one)."""
        deadline = time.monotonic() + timeout
        status: int | None = None
        while time.monotonic() < deadline:
            status = http_status(self.base_url + path)
            if status is not None and status < 500:
                self._raise_taken()  # the answer came from this server
                return status
            if not self.alive():
                break
            time.sleep(0.5)
        self._raise_taken()
        tail = " | ".join(self.log.read_text(encoding="utf-8", errors="replace").strip()
                          .splitlines()[-8:])
        state = "exited" if not self.alive() else f"last answer {status}"
        raise RecipeError(f"{self.name}: GET {path} never answered below 500 within "
                          f"{timeout:.0f} s ({state}): {tail[-900:]}")


def start_process(name: str, cmd: str | Sequence[str], *, cwd: Path, env: Mapping[str, str],
                  port: int, log: Path) -> Server:
    argv = ["sh", "-c", cmd] if isinstance(cmd, str) else list(cmd)
    out = log.open("a", encoding="utf-8")
    try:
        proc = subprocess.Popen(argv, cwd=cwd, env=dict(env),
                                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)
    finally:
        out.close()
    return Server(name, proc, f"http://127.0.0.1:{port}", log)


def start_fake_llm(workdir: Path) -> Server:
    return on_free_port(lambda port: start_healthy(
        "fake LLM provider",
        [sys.executable, "-m", "uvicorn", "fake_llm_provider:app", "--host", "127.0.0.1",
         "--port", str(port), "--log-level", "warning"],
        cwd=FAKE_LLM.parent, env=os.environ, port=port, log=workdir / "fake-llm.log",
        health="/_stats", timeout=30), what="fake LLM provider")


def start_healthy(name: str, cmd: str | Sequence[str], *, cwd: Path, env: Mapping[str, str],
                  port: int, log: Path, health: str, timeout: float = HEALTH_TIMEOUT_S) -> Server:
    """``start_process``, then ``wait_healthy``; the process is stopped when that fails."""
    server = start_process(name, cmd, cwd=cwd, env=env, port=port, log=log)
    try:
        server.wait_healthy(health, timeout)
    except BaseException:
        server.stop()
        raise
    return server


@dataclass
class Running:
    """A project started from its recipe: the server, its helpers and what to clean up."""

    recipe: LiveRecipe
    repo: Path
    server: Server
    venv: Venv
    placeholders: dict[str, str]
    seconds: dict[str, float] = field(default_factory=dict)
    helpers: list[Server] = field(default_factory=list)
    dbs: list[str] = field(default_factory=list)
    pg: PgServer | None = None

    @property
    def base_url(self) -> str:
        return self.server.base_url


def placeholder_values(port: int, pg: PgServer | None, llm: Server | None) -> dict[str, str]:
    values = {"port": str(port), "random_secret": secrets.token_hex(32)}
    if pg is not None:
        values.update(pg=f"{pg.user}:{pg.password}@{pg.host}:{pg.port}", pg_user=pg.user,
                      pg_password=pg.password, pg_host=pg.host, pg_port=str(pg.port))
    redis_url = os.environ.get("PRODAUDIT_TEST_REDIS_URL")
    if redis_url:
        u = urlsplit(redis_url)
        host, rport = u.hostname or "127.0.0.1", u.port or 6379
        values.update(redis=f"{host}:{rport}", redis_host=host, redis_port=str(rport))
    if llm is not None:
        values["llm"] = llm.base_url
    return values


def stop_all(servers: Sequence[Server], pg: PgServer | None, dbs: Sequence[str]) -> list[str]:
    """Stop every process and drop every database the run created; what could not be cleaned."""
    problems = []
    for server in servers:
        server.stop()
        if server.alive():
            problems.append(f"{server.name} (pid {server.proc.pid}) still running")
    for name in dbs:
        if pg is not None:
            try:
                pg.drop(name)
            except Exception as exc:  # reported, never raised: the next run recreates it
                problems.append(f"database {name} not dropped: {exc}")
    return problems


@contextlib.contextmanager
def started(recipe: LiveRecipe, repo: Path, workdir: Path, project_digest: str) -> Iterator[Running]:
    """Install (or reuse), seed and start the project copied at ``repo``; stop everything after.
    RecipeError names the step that failed."""
    if not recipe.runnable:
        raise RecipeError(f"not runnable: {recipe.why_not}")
    missing = service_problems(recipe)
    if missing:
        raise RecipeError("; ".join(missing))
    log = workdir / "recipe.log"
    servers: list[Server] = []
    pg = PgServer.from_url(os.environ["PRODAUDIT_TEST_DATABASE_URL"]) \
        if "postgres" in recipe.services else None
    # the recipe's database names get a per-run suffix: concurrent runs (two engineers, two
    # checkouts) never share or drop each other's databases
    suffix = secrets.token_hex(3)
    renamed = {name: f"{name}_{suffix}" for name in databases(recipe)} if pg is not None else {}
    dbs = list(renamed.values())

    def filled(text: str) -> str:
        return _DB_NAME.sub(lambda m: renamed.get(m.group(0), m.group(0)), fill(text, values))

    seconds: dict[str, float] = {}
    try:
        t0 = time.monotonic()
        venv = build_venv(recipe, repo, os.environ, log, project_digest)
        seconds["install"] = time.monotonic() - t0
        llm = start_fake_llm(workdir) if "llm" in recipe.services else None
        if llm is not None:
            servers.append(llm)
        port = free_port()
        values = placeholder_values(port, pg, llm)
        env = venv_env(venv.path, os.environ)
        env.update({k: filled(v) for k, v in recipe.env.items()})
        t1 = time.monotonic()
        for name in dbs:
            assert pg is not None
            pg.recreate(name)
        for cmd in recipe.seed:
            _run(filled(cmd), cwd=repo, env=env, timeout=SEED_TIMEOUT_S, what="seed", log=log)
        seconds["seed"] = time.monotonic() - t1
        t2 = time.monotonic()

        def start(new_port: int) -> Server:
            nonlocal values
            if str(new_port) != values["port"]:  # the first one was taken: the environment follows
                values = {**values, "port": str(new_port)}
                env.update({k: filled(v) for k, v in recipe.env.items()})
            return start_healthy(recipe.folder, filled(recipe.start), cwd=repo, env=env,
                                 port=new_port, log=workdir / "server.log", health=recipe.health)

        server = on_free_port(start, what=recipe.folder, first=port)
        servers.append(server)
        seconds["start"] = time.monotonic() - t2
        run = Running(recipe, repo, server, venv, values, seconds, [s for s in servers if s is not server],
                      list(dbs), pg)
        yield run
    finally:
        stop_all(servers[::-1], pg, dbs)
