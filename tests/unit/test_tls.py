"""The per-run CA: the server certificate verifies against it for 127.0.0.1 only."""

from __future__ import annotations

import ssl

from cryptography import x509

from gauntlet.tls import create_run_ca


def test_run_ca_signs_a_loopback_server_certificate(tmp_path):
    ca = create_run_ca(tmp_path)
    cert = x509.load_pem_x509_certificate(ca.server_cert.read_bytes())
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert [str(ip) for ip in sans.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    assert b"PRIVATE KEY" in ca.mitmproxy_ca.read_bytes()
    assert ca.server_key.stat().st_mode & 0o077 == 0


def test_client_context_verifies_and_trusts_only_the_run_ca(tmp_path):
    """That it keeps h2 first shows end to end: tests/e2e (h2_front_h1_back, client HTTP/2)."""
    ca = create_run_ca(tmp_path)
    context = ca.client_context(["h2", "http/1.1"])
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert [c["subject"] for c in context.get_ca_certs()] == [
        ((("commonName", "Gauntlet run CA"),), (("organizationName", "Gauntlet test run"),))
    ]
