"""Helpers for the ``openqx.compat.ibmq`` end-to-end tests: an ``IBMQ`` session on the test
server, waiting for a job to run, and a forwarding HTTP(S) server that stands in for a proxy
or a TLS front end."""

from __future__ import annotations

import contextlib
import http.server
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from qiskit.providers import JobStatus

from openqx.client.job import OpenQXJob
from openqx.compat.ibmq import IBMQ, AccountProvider
from openqx.embedded import EmbeddedServer

__all__ = ["Forwarder", "ibmq_session", "self_signed_certificate", "wait_running"]

FINAL = {JobStatus.DONE, JobStatus.CANCELLED, JobStatus.ERROR}


@contextlib.contextmanager
def ibmq_session(server: EmbeddedServer) -> Iterator[AccountProvider]:
    """``IBMQ.enable_account`` on ``server`` as an old script does; disabled afterwards."""
    provider = IBMQ.enable_account(server.token, server.url)
    assert isinstance(provider, AccountProvider)
    try:
        yield provider
    finally:
        IBMQ.disable_account()


def wait_running(job: OpenQXJob, timeout: float = 120) -> None:
    """Block on the job's event stream until it is RUNNING (fails if it ends first)."""
    for info in job._api.stream_job_status(job.job_id(), timeout=timeout):
        status = JobStatus[info.status]
        assert status not in FINAL, job
        if status is JobStatus.RUNNING:
            return
    raise AssertionError(f"{job} never started")


class Forwarder:
    """An HTTP server in a thread that forwards every request to ``target`` and records the
    request lines it saw. Used as a forward proxy (requests arrive with an absolute URL) or,
    with ``certificate``, as a TLS front end of the openqx server."""

    def __init__(self, target: str, certificate: tuple[Path, Path] | None = None) -> None:
        self.target = target.rstrip("/")
        self.seen: list[str] = []
        forwarder = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _forward(self) -> None:
                forwarder.seen.append(f"{self.command} {self.path}")
                parts = urlsplit(self.path)
                path = parts.path + (f"?{parts.query}" if parts.query else "")
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                headers = {
                    k: v
                    for k, v in self.headers.items()
                    if k.lower() not in ("host", "proxy-connection", "connection")
                }
                answer = httpx.request(
                    self.command, forwarder.target + path, content=body, headers=headers
                )
                self.send_response(answer.status_code)
                for key, value in answer.headers.items():
                    if key.lower() not in ("content-length", "transfer-encoding", "connection"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

            do_GET = do_POST = do_PATCH = do_PUT = _forward

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        scheme = "http"
        if certificate is not None:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(str(certificate[0]), str(certificate[1]))
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
            scheme = "https"
        self.url = f"{scheme}://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> Forwarder:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, as PEM files in ``folder``."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path
