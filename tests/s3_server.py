"""A real S3 endpoint for the tests: moto's S3-compatible server in a process of its own on
127.0.0.1, reached through a small TCP relay that the tests can cut off and restore.

Why a relay: moto keeps its buckets in memory, so a restarted moto comes back empty, unlike a
real S3 outage, after which the data is still there. Cutting the relay (`stop`) makes the
endpoint really unreachable for every client (new connections are refused, open ones reset:
pyarrow reports `NETWORK_CONNECTION ... Could not connect to server`), while moto keeps every
object; `start` listens again on the same port, so "endpoint back -> --resume completes" finds
the run as it was left. `close` ends moto by its pid.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import uuid

import pyarrow.fs as pafs

CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",  # moto accepts any key; these are never real credentials
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",  # never ask a cloud metadata address for credentials
}


class Relay:
    """Forwards TCP connections from a port on 127.0.0.1 to `target_port`, until stopped."""

    def __init__(self, target_port: int):
        self.target_port, self.port = target_port, 0
        self._listener: socket.socket | None = None
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()

    def start(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))  # the same port again after a stop
        listener.listen(64)
        self.port, self._listener = listener.getsockname()[1], listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def stop(self) -> None:
        with self._lock:
            listener, self._listener = self._listener, None
        if listener is not None:
            listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() of the relay's thread
            listener.close()
        with self._lock:
            doomed, self._open = self._open, set()
        for sock in doomed:
            _close(sock)

    @property
    def running(self) -> bool:
        return self._listener is not None

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
                upstream = socket.create_connection(("127.0.0.1", self.target_port))
            except OSError:
                return
            with self._lock:
                cut = self._listener is not listener  # stopped while this connection was being made
                if not cut:
                    self._open |= {client, upstream}
            if cut:
                _close(client)
                _close(upstream)
                return
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(1 << 16):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            _close(source)
            _close(sink)
            with self._lock:
                self._open -= {source, sink}


def _close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class S3Server:
    """moto's server (by pid) behind a Relay; `endpoint` is what clients use."""

    def __init__(self, log_path: str):
        self.moto_port = _free_port()
        with open(log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.moto_port)],
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, **CREDENTIALS},
            )
        self.relay = Relay(self.moto_port)
        try:
            self._wait_until_listening(timeout=60)
            self.relay.start()
        except BaseException:
            self.close()
            raise

    def _wait_until_listening(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"moto server exited with {self.process.returncode}")
            try:
                socket.create_connection(("127.0.0.1", self.moto_port), timeout=1).close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"moto server not listening on {self.moto_port} after {timeout} s") from None
                time.sleep(0.05)  # waiting for a server to come up, not landing a fault

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.relay.port}"

    @property
    def env(self) -> dict[str, str]:
        """What a client process needs: test credentials and the endpoint (AWS_ENDPOINT_URL_S3)."""
        return {**CREDENTIALS, "AWS_ENDPOINT_URL_S3": f"http://{self.endpoint}"}

    def stop(self) -> None:
        """The endpoint disappears (connections refused); moto keeps its data."""
        self.relay.stop()

    def start(self) -> None:
        """The endpoint is back, on the same port, with the data it had."""
        if not self.relay.running:
            self.relay.start()

    def new_bucket(self) -> str:
        name = f"gtl-{uuid.uuid4().hex[:16]}"
        fs = pafs.S3FileSystem(
            access_key="testing",
            secret_key="testing",
            region="us-east-1",
            scheme="http",
            endpoint_override=self.endpoint,
            allow_bucket_creation=True,
        )
        fs.create_dir(name)
        return name

    def close(self) -> None:
        self.relay.stop()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
