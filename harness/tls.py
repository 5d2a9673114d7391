"""A certificate authority per run, so TLS between client, hops and server is real and local.

One CA signs the reference server's certificate (for 127.0.0.1) and is handed to every
mitmproxy hop as its own CA (`mitmproxy-ca.pem` in the hop's confdir), so a client that
trusts this one CA file trusts the whole chain, intercepting hops included, exactly as a
corporate client trusts its SSL-inspection CA. Nothing touches the system trust store.
Built with `cryptography`, which mitmproxy already depends on.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

VALID_FOR = dt.timedelta(days=2)


@dataclass(frozen=True)
class RunCA:
    """Paths of one run's CA and of the server certificate it signed."""

    ca_cert: Path  # PEM certificate: what clients trust
    mitmproxy_ca: Path  # PEM key + certificate: what a hop's confdir needs
    server_cert: Path
    server_key: Path

    def client_context(self, alpn: list[str]) -> ssl.SSLContext:
        """A context trusting only this run's CA, offering `alpn` in this order.

        Browsers offer h2 first. httpcore re-sets ALPN to ["http/1.1", "h2"] on the context
        it is given, and mitmproxy follows the client's order (docs/mitmproxy.md), so a plain
        context would make every hop choose HTTP/1.1; this one keeps the browser's order.
        """
        context = _FixedAlpnContext(ssl.PROTOCOL_TLS_CLIENT)
        context.load_verify_locations(cafile=str(self.ca_cert))
        ssl.SSLContext.set_alpn_protocols(context, alpn)
        return context


class _FixedAlpnContext(ssl.SSLContext):
    """An SSLContext whose ALPN offer, once set, later callers cannot reorder."""

    def set_alpn_protocols(self, alpn_protocols) -> None:  # noqa: D102
        return None


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Gauntlet test run"),
        ]
    )


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def create_run_ca(directory: Path) -> RunCA:
    directory.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(_name("Gauntlet run CA"))
        .issuer_name(_name("Gauntlet run CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + VALID_FOR)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    server_key = ec.generate_private_key(ec.SECP256R1())
    server_cert = (
        x509.CertificateBuilder()
        .subject_name(_name("127.0.0.1"))
        .issuer_name(ca_cert.subject)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + VALID_FOR)
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_pem = ca_cert.public_bytes(serialization.Encoding.PEM)
    paths = RunCA(
        directory / "ca.pem",
        directory / "mitmproxy-ca.pem",
        directory / "server.pem",
        directory / "server-key.pem",
    )
    paths.ca_cert.write_bytes(ca_pem)
    paths.mitmproxy_ca.write_bytes(_pem_key(ca_key) + ca_pem)
    paths.server_cert.write_bytes(server_cert.public_bytes(serialization.Encoding.PEM) + ca_pem)
    paths.server_key.write_bytes(_pem_key(server_key))
    for secret in (paths.mitmproxy_ca, paths.server_key):
        secret.chmod(0o600)
    return paths
