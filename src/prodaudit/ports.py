"""Loopback ports for the servers the audit (and its tests) start.

A port picked in advance (``free_port``) can be taken by another process before the server
binds it. ``retry_ports`` makes such a start robust: the start raises ``PortInUse`` when its
server could not bind (``bind_problem``: the process exited saying so, or the port listens for a
process that is not the server or one of its children), and it is tried again on fresh ports,
a bounded number of times, with a clear error after the last."""

from __future__ import annotations

import errno
import os
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from prodaudit.errors import TargetError

T = TypeVar("T")
#: how many ports a start tries before it gives up
ATTEMPTS = 3
_IN_USE = "address already in use"
_LISTEN = "0A"  # TCP_LISTEN in /proc/net/tcp


class PortInUse(TargetError):
    """A server could not bind its port: another process has it."""

    def __init__(self, what: str, port: int, detail: str = "") -> None:
        super().__init__(f"{what}: port {port} is taken by another process{detail}")
        self.port = port


def free_port() -> int:
    """A port nothing listens on now (127.0.0.1); another process may take it before it is bound."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _listening_inodes(port: int) -> set[str] | None:
    """Socket inodes listening on ``port`` (any address); None without /proc (not Linux)."""
    found: set[str] = set()
    tables = [Path("/proc/net/tcp"), Path("/proc/net/tcp6")]
    if not tables[0].exists():
        return None
    for table in tables:
        try:
            lines = table.read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            cols = line.split()
            if len(cols) > 9 and cols[3] == _LISTEN and int(cols[1].rsplit(":", 1)[1], 16) == port:
                found.add(cols[9])
    return found


def _family(pid: int) -> set[int]:
    """``pid`` and every process below it (read from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    family, todo = {pid}, [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in family:
                family.add(child)
                todo.append(child)
    return family


def _holds(pids: set[int], inodes: set[str]) -> bool:
    wanted = {f"socket:[{i}]" for i in inodes}
    for pid in pids:
        try:
            fds = os.scandir(f"/proc/{pid}/fd")
        except OSError:
            continue
        with fds:
            for fd in fds:
                try:
                    if os.readlink(fd.path) in wanted:
                        return True
                except OSError:
                    continue
    return False


def listens_for_other(port: int, pid: int) -> bool:
    """Whether ``port`` listens for a process other than ``pid`` and its children (False when
    nothing listens there, or when that cannot be told: no /proc)."""
    inodes = _listening_inodes(port)
    if not inodes:
        return False
    return not _holds(_family(pid), inodes)


def bind_problem(what: str, port: int, proc: subprocess.Popen[bytes] | None,
                 log: str = "") -> PortInUse | None:
    """Why the server ``proc`` started for ``port`` does not have it: it exited and its output
    (``log``) says the address is in use, or the port listens for another process. None when
    neither is observed."""
    if proc is not None and proc.poll() is not None and _IN_USE in log.lower():
        return PortInUse(what, port, f" ({what} exited with {proc.returncode})")
    if proc is not None and proc.poll() is None and listens_for_other(port, proc.pid):
        return PortInUse(what, port)
    return None


def wait_listening(what: str, port: int, proc: subprocess.Popen[bytes], timeout: float,
                   output: Callable[[], str] = str) -> None:
    """Wait (at most ``timeout`` s) until the server ``proc`` accepts connections on ``port``:
    ``PortInUse`` when it could not bind it (``bind_problem``; ``output()``: what it printed,
    read once it exited), ``TargetError`` when it exited or did not listen in time."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                pass
        except OSError:
            if proc.poll() is not None:
                text = output()
                taken = bind_problem(what, port, proc, text)
                raise taken or TargetError(
                    f"{what} exited with {proc.returncode}: {text[-2000:]}") from None
            if time.monotonic() > deadline:
                raise TargetError(f"{what} did not listen on port {port} within {timeout:.0f} s"
                                  ) from None
            time.sleep(0.05)
            continue
        taken = bind_problem(what, port, proc)  # the port answered: for this server?
        if taken is not None:
            raise taken
        return


def retry_ports(start: Callable[[], T], *, what: str, attempts: int = ATTEMPTS) -> T:
    """``start()`` picks its port(s), starts the server(s), waits until they serve and returns
    them; it raises ``PortInUse`` (or an ``OSError`` EADDRINUSE: an in-process bind) after
    cleaning up when a port was taken. Tried up to ``attempts`` times; then a ``TargetError``
    that names the ports tried."""
    taken: list[str] = []
    for _ in range(attempts):
        try:
            return start()
        except PortInUse as exc:
            taken.append(str(exc.port))
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise
            taken.append(str(exc))
    raise TargetError(f"{what}: no port could be bound in {attempts} attempts (taken by other "
                      f"processes: {', '.join(taken)})")


def on_free_port(start: Callable[[int], T], *, what: str, attempts: int = ATTEMPTS,
                 first: int = 0) -> T:
    """``start(port)`` on a free port (the first time on ``first`` when given: a port the caller
    already handed out), retried on a fresh one when it was taken (``retry_ports``)."""
    given = [first] if first else []
    return retry_ports(lambda: start(given.pop() if given else free_port()), what=what,
                       attempts=attempts)


def bound_socket() -> socket.socket:
    """A TCP socket bound to a free port on 127.0.0.1, for a server that runs in this process and
    accepts a socket (uvicorn ``sockets=``, aiohttp ``SockSite``, asyncio ``sock=``): the port is
    never free between the pick and the bind, so no other process can take it."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind(("127.0.0.1", 0))
    except OSError:
        sock.close()
        raise
    return sock
