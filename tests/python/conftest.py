"""Starts a real `weir server` on a free port for the suite, with the unmodified kfp SDK as client.

WEIR_BIN names the weir binary (scripts/test builds it). Each session gets a fresh data dir that
shares the Python environment cache of the Rust tests (target/weir-tests/pyenvs).
"""
import os
import pathlib
import socket
import subprocess
import tempfile
import time
import urllib.request

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
CONFORMANCE = pathlib.Path(os.environ.get("WEIR_CONFORMANCE_DIR", REPO.parent / "shared" / "kfp-conformance"))
WEIR = os.environ.get("WEIR_BIN", str(REPO / "target" / "debug" / "weir"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, data_dir: pathlib.Path):
        self.data_dir = data_dir
        self.port = free_port()
        self.host = f"http://127.0.0.1:{self.port}"
        self.log = open(data_dir / "server.log", "w")
        self.process = None

    def start(self):
        self.process = subprocess.Popen(
            [WEIR, "--data-dir", str(self.data_dir), "server", "--port", str(self.port), "--max-parallel", "2"],
            stdout=self.log, stderr=subprocess.STDOUT,
        )
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(f"{self.host}/apis/v2beta1/healthz", timeout=1) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"weir server did not become healthy; log: {(self.data_dir / 'server.log').read_text()}")

    def stop(self, sig=None):
        if self.process and self.process.poll() is None:
            if sig is None:
                self.process.terminate()
            else:
                self.process.send_signal(sig)
            self.process.wait(timeout=60)

    def weir(self, *args, check=True):
        return subprocess.run([WEIR, "--data-dir", str(self.data_dir), *args], capture_output=True, text=True, check=check)


@pytest.fixture(scope="session")
def server():
    data_dir = pathlib.Path(tempfile.mkdtemp(prefix="weir-pytest-"))
    shared_envs = REPO / "target" / "weir-tests" / "pyenvs"
    shared_envs.mkdir(parents=True, exist_ok=True)
    (data_dir / "pyenvs").symlink_to(shared_envs)
    srv = Server(data_dir)
    for name, data in [("test-secret-1", "username=user1"), ("test-secret-2", "password=psw1"), ("test-secret-3", "password=psw2")]:
        srv.weir("secrets", "set", name, data)
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def client(server):
    import kfp

    return kfp.Client(host=server.host)
