"""TLS on every listener (--tls-cert, --tls-key) and mutual TLS (--tls-client-ca), with real
clients: tritonclient HTTP and gRPC, curl --cacert, Python's ssl. Certificates are made at test
time with `openssl`: a CA, a server certificate for localhost and 127.0.0.1, client certificates
from that CA and from another one. Also: plain HTTP to a TLS port gets no answer, a wrong CA or a
missing client certificate is refused, SIGHUP swaps the certificate for new connections while
open ones carry on, and a SIGHUP with a broken file keeps the old certificate."""
from __future__ import annotations

import http.client
import signal
import socket
import ssl
import subprocess
import time
from pathlib import Path

import gevent.ssl
import numpy as np
import pytest
import requests
import tritonclient.grpc as grpcclient
import tritonclient.http as httpclient
from tritonclient.utils import InferenceServerException

import model_factory
from support import SwerveServer, ports_of, run_swerve

HTTP_LISTENERS = ("http", "torchserve", "torchserve-management", "tfserving", "metrics")


# -- certificates -------------------------------------------------------------------------------

def openssl(*args: str) -> None:
    result = subprocess.run(["openssl", *args], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, f"openssl {' '.join(args)} failed: {result.stderr}"


def make_ca(folder: Path, name: str) -> Path:
    """A self-signed CA: <name>.crt and <name>.key."""
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", str(folder / f"{name}.key"), "-out", str(folder / f"{name}.crt"), "-days", "1",
            "-subj", f"/CN={name}")
    return folder / f"{name}.crt"


def make_certificate(folder: Path, ca: str, name: str, serial: int, extension: str) -> tuple[Path, Path]:
    """A certificate signed by CA `ca`, with `serial` and the X.509 `extension` line: <name>.crt, <name>.key."""
    key, csr, crt = (folder / f"{name}.{suffix}" for suffix in ("key", "csr", "crt"))
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", str(key),
            "-out", str(csr), "-subj", f"/CN={name}")
    (folder / f"{name}.ext").write_text(extension + "\n")
    openssl("x509", "-req", "-in", str(csr), "-CA", str(folder / f"{ca}.crt"), "-CAkey", str(folder / f"{ca}.key"),
            "-set_serial", hex(serial), "-days", "1", "-extfile", str(folder / f"{name}.ext"), "-out", str(crt))
    return crt, key


SERVER_EXTENSION = "subjectAltName=DNS:localhost,IP:127.0.0.1"
CLIENT_EXTENSION = "extendedKeyUsage=clientAuth"


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> Path:
    """ca (trusted), other-ca (not trusted); server (serial 0x1001) and server2 (0x2002) from ca;
    client from ca; stranger from other-ca."""
    folder = tmp_path_factory.mktemp("pki")
    make_ca(folder, "ca")
    make_ca(folder, "other-ca")
    make_certificate(folder, "ca", "server", 0x1001, SERVER_EXTENSION)
    make_certificate(folder, "ca", "server2", 0x2002, SERVER_EXTENSION)
    make_certificate(folder, "ca", "client", 0x3003, CLIENT_EXTENSION)
    make_certificate(folder, "other-ca", "stranger", 0x4004, CLIENT_EXTENSION)
    return folder


# -- servers ------------------------------------------------------------------------------------

class TLSServer(SwerveServer):
    """A `swerve serve` with TLS flags; ready when its KServe endpoint answers over TLS."""

    def __init__(self, *args, ca: Path, client: tuple[Path, Path] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.ca = ca
        self.client = client

    @property
    def url(self) -> str:
        return f"https://{self.address}"

    def _wait_ready(self) -> bool:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            try:
                response = requests.get(self.url + self.ready_path, timeout=2, verify=str(self.ca),
                                        cert=tuple(map(str, self.client)) if self.client else None)
                if response.status_code == 200:
                    return True
            except requests.RequestException:
                pass
            time.sleep(0.05)
        return False


@pytest.fixture(scope="module")
def repository(tmp_path_factory) -> Path:
    repo = tmp_path_factory.mktemp("tls-repo")
    model_factory.save(repo, "add_mul", model_factory.add_mul())
    return repo


@pytest.fixture(scope="module")
def start_tls(repository, logs):
    started: list[TLSServer] = []

    def start(name: str, args: list[str], ca: Path, client: tuple[Path, Path] | None = None) -> TLSServer:
        server = TLSServer(repository, logs / f"{name}.log", tuple(args), ca=ca, client=client)
        started.append(server)
        return server.start()

    yield start
    for server in started:
        server.stop_and_check()


@pytest.fixture(scope="module")
def tls_server(pki, start_tls) -> TLSServer:
    """TLS with the server certificate, no client certificates asked for."""
    return start_tls("tls", ["--tls-cert", str(pki / "server.crt"), "--tls-key", str(pki / "server.key")],
                     ca=pki / "ca.crt")


@pytest.fixture(scope="module")
def mtls_server(pki, start_tls) -> TLSServer:
    """Mutual TLS: client certificates from ca required."""
    return start_tls("mtls", ["--tls-cert", str(pki / "server.crt"), "--tls-key", str(pki / "server.key"),
                              "--tls-client-ca", str(pki / "ca.crt")],
                     ca=pki / "ca.crt", client=(pki / "client.crt", pki / "client.key"))


# -- clients ------------------------------------------------------------------------------------

A = np.array([[1.0, 2.0, 3.0]], dtype=np.float32)
B = np.array([[10.0, 20.0, 30.0]], dtype=np.float32)


def infer_http(address: str, ca: Path, client: tuple[Path, Path] | None = None) -> np.ndarray:
    def context():
        ctx = gevent.ssl.create_default_context(cafile=str(ca))
        if client:
            ctx.load_cert_chain(str(client[0]), str(client[1]))
        return ctx

    triton = httpclient.InferenceServerClient(address, ssl=True, ssl_context_factory=context,
                                              network_timeout=10, connection_timeout=5)
    try:
        inputs = [httpclient.InferInput("A", A.shape, "FP32"), httpclient.InferInput("B", B.shape, "FP32")]
        inputs[0].set_data_from_numpy(A, binary_data=True)
        inputs[1].set_data_from_numpy(B, binary_data=False)
        return triton.infer("add_mul", inputs).as_numpy("SUM")
    finally:
        triton.close()


def infer_grpc(address: str, ca: Path, client: tuple[Path, Path] | None = None) -> np.ndarray:
    triton = grpcclient.InferenceServerClient(
        address, ssl=True, root_certificates=str(ca),
        private_key=str(client[1]) if client else None, certificate_chain=str(client[0]) if client else None)
    try:
        inputs = [grpcclient.InferInput("A", A.shape, "FP32"), grpcclient.InferInput("B", B.shape, "FP32")]
        inputs[0].set_data_from_numpy(A)
        inputs[1].set_data_from_numpy(B)
        return triton.infer("add_mul", inputs, client_timeout=10).as_numpy("SUM")
    finally:
        triton.close()


def curl(url: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["curl", "-sS", "--max-time", "10", *args, url], capture_output=True, text=True, timeout=30)


def tls_connect(port: int, ca: Path, alpn: list[str] | None = None,
                client: tuple[Path, Path] | None = None) -> ssl.SSLSocket:
    """A verified TLS connection to 127.0.0.1:port."""
    context = ssl.create_default_context(cafile=str(ca))
    if alpn:
        context.set_alpn_protocols(alpn)
    if client:
        context.load_cert_chain(str(client[0]), str(client[1]))
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    return context.wrap_socket(sock, server_hostname="localhost")


def served_serial(port: int, ca: Path, alpn: list[str] | None = None) -> str:
    """The serial number of the certificate a new connection to `port` gets."""
    with tls_connect(port, ca, alpn) as sock:
        return sock.getpeercert()["serialNumber"]


# -- TLS ----------------------------------------------------------------------------------------

def test_tritonclient_http_infers_over_tls(tls_server, pki):
    np.testing.assert_array_equal(infer_http(tls_server.address, pki / "ca.crt"), A + B)


def test_tritonclient_grpc_infers_over_tls_with_alpn_h2(tls_server, pki):
    port = ports_of(tls_server)["grpc"]
    np.testing.assert_array_equal(infer_grpc(f"127.0.0.1:{port}", pki / "ca.crt"), A + B)
    with tls_connect(port, pki / "ca.crt", alpn=["h2"]) as sock:
        assert sock.selected_alpn_protocol() == "h2"


def test_curl_cacert_on_every_http_listener(tls_server, pki):
    ports = ports_of(tls_server)
    paths = {"http": "/v2/health/ready", "torchserve": "/ping", "torchserve-management": "/models",
             "tfserving": "/v1/models/add_mul", "metrics": "/metrics"}
    assert set(paths) == set(HTTP_LISTENERS)
    for listener, path in paths.items():
        result = curl(f"https://localhost:{ports[listener]}{path}", "--cacert", str(pki / "ca.crt"),
                      "-o", "/dev/null", "-w", "%{http_code}")
        assert result.returncode == 0 and result.stdout == "200", (listener, result.returncode, result.stdout, result.stderr)


def test_a_wrong_ca_is_refused(tls_server, pki):
    ports = ports_of(tls_server)
    for listener in HTTP_LISTENERS:
        result = curl(f"https://localhost:{ports[listener]}/", "--cacert", str(pki / "other-ca.crt"))
        assert result.returncode == 60, (listener, result.returncode, result.stderr)  # peer certificate not verified
    with pytest.raises(ssl.SSLCertVerificationError):
        tls_connect(ports["grpc"], pki / "other-ca.crt", alpn=["h2"])
    with pytest.raises(InferenceServerException):
        infer_grpc(f"127.0.0.1:{ports['grpc']}", pki / "other-ca.crt")


def test_plain_http_to_a_tls_port_is_not_answered(tls_server):
    ports = ports_of(tls_server)
    request = b"GET /v2/health/ready HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    for listener in HTTP_LISTENERS + ("grpc",):
        with socket.create_connection(("127.0.0.1", ports[listener]), timeout=10) as sock:
            sock.sendall(request)
            received = b""
            while chunk := sock.recv(4096):  # until the server closes the connection
                received += chunk
        assert not received.startswith(b"HTTP/"), (listener, received[:80])
        assert received == b"" or received[0] == 0x15, (listener, received[:80])  # nothing, or a TLS alert record


def test_plaintext_grpc_to_the_tls_port_fails(tls_server):
    triton = grpcclient.InferenceServerClient(f"127.0.0.1:{ports_of(tls_server)['grpc']}")
    try:
        with pytest.raises(InferenceServerException):
            triton.is_server_live(client_timeout=5)
    finally:
        triton.close()


# -- mutual TLS ---------------------------------------------------------------------------------

def test_mutual_tls_with_a_client_certificate_infers(mtls_server, pki):
    client = (pki / "client.crt", pki / "client.key")
    np.testing.assert_array_equal(infer_http(mtls_server.address, pki / "ca.crt", client), A + B)
    port = ports_of(mtls_server)["grpc"]
    np.testing.assert_array_equal(infer_grpc(f"127.0.0.1:{port}", pki / "ca.crt", client), A + B)
    result = curl(f"https://localhost:{ports_of(mtls_server)['torchserve']}/ping", "--cacert", str(pki / "ca.crt"),
                  "--cert", str(pki / "client.crt"), "--key", str(pki / "client.key"))
    assert result.returncode == 0 and "Healthy" in result.stdout, result.stderr


@pytest.mark.parametrize("who", ["no certificate", "certificate from another CA"])
def test_mutual_tls_refuses_clients_without_a_trusted_certificate(mtls_server, pki, who):
    client = None if who == "no certificate" else (pki / "stranger.crt", pki / "stranger.key")
    cert_args = ["--cert", str(client[0]), "--key", str(client[1])] if client else []
    ports = ports_of(mtls_server)
    for listener in HTTP_LISTENERS:
        result = curl(f"https://localhost:{ports[listener]}/", "--cacert", str(pki / "ca.crt"), *cert_args)
        # 35: handshake failed; 56: the server's alert arrived after curl's side of the handshake ended.
        assert result.returncode in (35, 56), (listener, result.returncode, result.stdout, result.stderr)
        assert not result.stdout
    with pytest.raises(InferenceServerException):
        infer_grpc(f"127.0.0.1:{ports['grpc']}", pki / "ca.crt", client)
    with pytest.raises((requests.exceptions.SSLError, requests.exceptions.ConnectionError)):
        requests.get(mtls_server.url + "/v2/health/ready", verify=str(pki / "ca.crt"),
                     cert=tuple(map(str, client)) if client else None, timeout=10)


# -- reload -------------------------------------------------------------------------------------

def wait_for_log(server: SwerveServer, text: str, count: int, timeout: float = 10) -> None:
    """Waits until `text` appears `count` times in the server's log."""
    deadline = time.monotonic() + timeout
    while server.log_text().count(text) < count:
        assert time.monotonic() < deadline, f"no {text!r} (x{count}) in the log:\n{server.log_tail()}"
        time.sleep(0.05)


def test_sighup_serves_a_new_certificate_to_new_connections_and_keeps_open_ones(pki, start_tls, tmp_path):
    certificate, key = tmp_path / "live.crt", tmp_path / "live.key"
    certificate.write_bytes((pki / "server.crt").read_bytes())
    key.write_bytes((pki / "server.key").read_bytes())
    server = start_tls("reload", ["--tls-cert", str(certificate), "--tls-key", str(key)], ca=pki / "ca.crt")
    ports = ports_of(server)
    ca = pki / "ca.crt"
    assert served_serial(ports["http"], ca) == "1001"

    # A keep-alive connection opened before the reload.
    before = http.client.HTTPSConnection("localhost", ports["http"], timeout=10,
                                         context=ssl.create_default_context(cafile=str(ca)))
    before.request("GET", "/v2/health/live")
    response = before.getresponse()
    assert response.status == 200 and response.getheader("Connection", "").lower() != "close"
    response.read()

    (tmp_path / "new.crt").write_bytes((pki / "server2.crt").read_bytes())
    (tmp_path / "new.key").write_bytes((pki / "server2.key").read_bytes())
    (tmp_path / "new.key").replace(key)
    (tmp_path / "new.crt").replace(certificate)
    server.process.send_signal(signal.SIGHUP)
    wait_for_log(server, "TLS certificate reloaded", 1)

    for listener in HTTP_LISTENERS:
        assert served_serial(ports[listener], ca) == "2002", listener
    assert served_serial(ports["grpc"], ca, alpn=["h2"]) == "2002"
    np.testing.assert_array_equal(infer_grpc(f"127.0.0.1:{ports['grpc']}", ca), A + B)

    # The connection opened before carries on, on its first certificate.
    before.request("GET", "/v2/health/ready")
    response = before.getresponse()
    assert response.status == 200
    response.read()
    assert before.sock.getpeercert()["serialNumber"] == "1001"
    before.close()

    # A reload from a broken file keeps the certificate in use.
    certificate.write_text("-----BEGIN CERTIFICATE-----\nbroken\n-----END CERTIFICATE-----\n")
    server.process.send_signal(signal.SIGHUP)
    wait_for_log(server, "TLS certificate not reloaded", 1)
    assert served_serial(ports["http"], ca) == "2002"
    np.testing.assert_array_equal(infer_http(server.address, ca), A + B)
    assert server.alive()


# -- start-up errors ----------------------------------------------------------------------------

def test_unusable_tls_files_stop_the_start_with_the_flag_and_file_named(pki, repository, tmp_path):
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate\n")
    missing = tmp_path / "missing.crt"
    cases = [
        (["--tls-cert", str(missing), "--tls-key", str(pki / "server.key")], 1, f"--tls-cert {missing}: cannot open it"),
        (["--tls-cert", str(garbage), "--tls-key", str(pki / "server.key")], 1, f"--tls-cert {garbage}"),
        (["--tls-cert", str(pki / "server.crt"), "--tls-key", str(garbage)], 1, f"--tls-key {garbage}"),
        (["--tls-cert", str(pki / "server.crt"), "--tls-key", str(pki / "server2.key")], 1,
         f"--tls-key {pki / 'server2.key'}: does not match the certificate in {pki / 'server.crt'}"),
        (["--tls-cert", str(pki / "server.crt"), "--tls-key", str(pki / "server.key"), "--tls-client-ca", str(garbage)],
         1, f"--tls-client-ca {garbage}"),
        (["--tls-cert", str(pki / "server.crt")], 64, f"--tls-cert {pki / 'server.crt'} needs --tls-key"),
        (["--tls-key", str(pki / "server.key")], 64, f"--tls-key {pki / 'server.key'} needs --tls-cert"),
        (["--tls-client-ca", str(pki / "ca.crt")], 64, f"--tls-client-ca {pki / 'ca.crt'} needs --tls-cert and --tls-key"),
    ]
    for args, status, message in cases:
        # Port 0 everywhere: a start that got past the check would not collide with anything.
        result = run_swerve("serve", "--model-repository", str(repository), "--http-port", "0", "--grpc-port", "0",
                            "--metrics-port", "0", "--torchserve-port", "0", "--torchserve-management-port", "0",
                            "--tfserving-port", "0", *args, timeout=30)
        assert result.returncode == status and message in result.stderr, (args, result.returncode, result.stderr)
