"""Misbehaving HTTP servers on 127.0.0.1 (plain asyncio), one behaviour per server:

- ``garbage``: valid HTTP 200 with random bytes declared as JSON, on every path;
- ``raw``: answers every connection with bytes that are not HTTP at all;
- ``hang``: accepts connections, reads the request, never answers;
- ``redirect``: 302 to a new URL on the same server, forever;
- ``huge``: 200 with a 50 MB JSON-typed body on every path;
- ``stall``: answers ``/`` with 404 at once, never answers any other path;
- ``error``: 500 with a JSON body to every request (a sick backend, liveness included);
- ``storm``: ``/health`` answers 200 ``{"status": "ok"}``, every other path 500 (a liveness
  endpoint that lies while everything else fails);
- ``redirect-all``: 302 to ``/login`` for every path, ``/login`` included (a login wall that
  never lets anyone in);
- ``drip``: a 200 JSON answer sent one byte every 0.2 s (each read is quick, the whole is not);
- ``endless``: 200 with a chunked JSON-typed body that never ends;
- ``minimal``: ``/health`` answers 200 ``{"status": "ok"}``, every other path 404 JSON (a tiny
  but honest backend: with ``tls=True`` the self-signed TLS case).

``bad_server(mode, tls=True)`` serves the same behaviour over TLS with a fresh self-signed
certificate for 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import os
import ssl
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from prodaudit.ports import bound_socket

HUGE_BYTES = 50 * 1024 * 1024
MODES = (
    "garbage", "raw", "hang", "redirect", "huge", "stall", "error", "storm", "redirect-all",
    "drip", "endless", "minimal",
)
DRIP_SECONDS = 0.2



async def _read_request(reader: asyncio.StreamReader) -> bytes:
    try:
        return await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
        return b""


async def _handle(mode: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            head = await _read_request(reader)
            if not head:
                return
            path = head.split(b" ", 2)[1] if head.count(b" ") >= 2 else b"/"
            if mode == "raw":
                writer.write(os.urandom(256))
                await writer.drain()
                return
            if mode == "stall" and path == b"/":
                writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
                await writer.drain()
                continue
            if mode in ("hang", "stall"):
                await asyncio.sleep(3600)
                return
            if mode in ("error", "storm", "minimal"):
                ok = mode != "error" and path.split(b"?")[0] == b"/health"
                status, body = (
                    (b"200 OK", b'{"status": "ok"}') if ok
                    else (b"404 Not Found", b'{"detail": "Not Found"}') if mode == "minimal"
                    else (b"500 Internal Server Error", b'{"detail": "Internal Server Error"}')
                )
                writer.write(_response(status, body))
            elif mode == "redirect-all":
                writer.write(
                    b"HTTP/1.1 302 Found\r\nLocation: /login\r\nContent-Length: 0\r\n\r\n"
                )
            elif mode == "drip":
                for byte in _response(b"200 OK", b'{"status": "ok", "detail": "' + b"." * 64 + b'"}'):
                    writer.write(bytes([byte]))
                    await writer.drain()
                    await asyncio.sleep(DRIP_SECONDS)
            elif mode == "endless":
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    b"Transfer-Encoding: chunked\r\n\r\n"
                )
                chunk = b"[" + b"0," * (64 * 1024)
                frame = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
                while True:
                    writer.write(frame)
                    await writer.drain()
            elif mode == "redirect":
                n = len(path)
                writer.write(
                    b"HTTP/1.1 302 Found\r\nLocation: /r" + str(n).encode() + b"/x\r\n"
                    b"Content-Length: 0\r\n\r\n"
                )
            elif mode == "garbage":
                body = os.urandom(512)
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
                )
            elif mode == "huge":
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    b"Content-Length: " + str(HUGE_BYTES).encode() + b"\r\n\r\n"
                )
                chunk = b"[" + b"0," * (512 * 1024)
                sent = 0
                while sent < HUGE_BYTES:
                    part = chunk[: HUGE_BYTES - sent]
                    writer.write(part)
                    await writer.drain()
                    sent += len(part)
                return
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        return
    finally:
        writer.close()


def _response(status: bytes, body: bytes) -> bytes:
    return (
        b"HTTP/1.1 " + status + b"\r\nContent-Type: application/json\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    )


def self_signed_context(directory: Path) -> ssl.SSLContext:
    """A server TLS context with a fresh self-signed certificate for 127.0.0.1 (valid 400 days)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=400))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                       critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert_file, key_file)
    return ctx


@contextmanager
def bad_server(mode: str, *, tls: bool = False) -> Iterator[str]:
    """Run a misbehaving server in a thread; yields its base URL, stops it on exit."""
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r} (known: {', '.join(MODES)})")
    sock = bound_socket()  # the server gets the socket: no other process can take the port
    port = int(sock.getsockname()[1])
    tmp = tempfile.TemporaryDirectory(prefix="prodaudit-bad-tls-")
    context = self_signed_context(Path(tmp.name)) if tls else None
    loop = asyncio.new_event_loop()
    started = threading.Event()
    holder: dict[str, asyncio.AbstractServer] = {}

    async def serve() -> None:
        server = await asyncio.start_server(lambda r, w: _handle(mode, r, w), sock=sock,
                                            ssl=context)
        holder["server"] = server
        started.set()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(serve())
        loop.run_forever()

    thread = threading.Thread(target=run, name=f"bad-server-{mode}", daemon=True)
    thread.start()
    if not started.wait(10):
        raise RuntimeError(f"bad server ({mode}) did not start")
    try:
        yield f"{'https' if tls else 'http'}://127.0.0.1:{port}"
    finally:

        async def stop() -> None:
            holder["server"].close()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        asyncio.run_coroutine_threadsafe(stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        tmp.cleanup()
