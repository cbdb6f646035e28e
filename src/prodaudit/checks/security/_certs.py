"""Self-signed X.509 certificates (the SEC-007 ``x5u`` probe; TLS servers of the tests)."""

from __future__ import annotations

import datetime as dt
import ipaddress
from typing import Any


def self_signed_cert(
    key: Any, common_name: str, lifetime: dt.timedelta, ip: str | None = None
) -> bytes:
    """PEM of a certificate for ``key`` (a private key of ``cryptography``) issued by itself,
    valid from five minutes ago for ``lifetime``; ``ip`` becomes its subjectAltName."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509.oid import NameOID

    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + lifetime)
    )
    if ip is not None:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(ip))]),
            critical=False,
        )
    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)
