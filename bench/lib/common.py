"""Shared helpers of the benchmark suite: timing, statistics, running `weir`, HTTP."""

import http.client
import json
import math
import os
import shutil
import signal
import socket
import statistics
import subprocess
import time
import urllib.parse
from datetime import datetime
from typing import List, Optional


class Context:
    """What every row needs: the binaries, the compiled pipelines, a scratch folder, sizes."""

    def __init__(self, args):
        self.weir = args.weir
        self.pipelines = args.pipelines
        self.work = args.work
        self.python = args.python  # the real interpreter behind the pyenv shim
        self.venv_python = args.venv_python
        self.s3_server = args.s3_server
        self.fast = args.fast
        self.repeat = args.repeat
        self.keep_python_data = os.path.join(args.work, "..", "bench-python-data")
        self.floor = {}  # filled by row 0, read by the others
        self.peer = not args.no_peer
        os.makedirs(self.work, exist_ok=True)

    def pipeline(self, name: str) -> str:
        return os.path.join(self.pipelines, f"{name}.yaml")

    def fresh_dir(self, name: str) -> str:
        path = os.path.join(self.work, name)
        shutil.rmtree(path, ignore_errors=True)
        os.makedirs(path)
        return path


def median(values: List[float]) -> float:
    return statistics.median(values) if values else float("nan")


def percentile(values: List[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = max(0, math.ceil(p / 100 * len(ordered)) - 1)
    return ordered[index]


def ms(seconds: float, digits: int = 1) -> str:
    if seconds != seconds:  # NaN
        return "–"
    return f"{seconds * 1000:.{digits}f} ms"


def secs(seconds: float) -> str:
    return f"{seconds:.2f} s"


def timed(command: List[str], **kwargs) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, **kwargs)
    return time.perf_counter() - start


def parse_time(text: Optional[str]) -> float:
    """An RFC 3339 time as stored (`2026-11-22T14:50:05.552Z`) in seconds since the epoch."""
    if not text:
        return float("nan")
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def weir_run(ctx: Context, pipeline: str, data_dir: str, *extra: str):
    """`weir run PIPELINE -o json`: (wall seconds, the run with its tasks)."""
    command = [ctx.weir, "--data-dir", data_dir, "run", ctx.pipeline(pipeline), "-o", "json"]
    start = time.perf_counter()
    done = subprocess.run([*command, *extra], capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"weir run {pipeline} failed: {done.stderr[-2000:]}")
    return wall, json.loads(done.stdout)


def steps(run: dict) -> List[dict]:
    return [t for t in run.get("tasks", []) if t["kind"] == "CONTAINER"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kb(pid: int, field: str = "VmRSS") -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


class Server:
    """A `weir server` on a loopback port, started and stopped by the suite."""

    def __init__(self, ctx: Context, data_dir: str, *extra: str):
        self.ctx, self.data_dir, self.extra = ctx, data_dir, extra
        self.port = free_port()
        self.process = None
        self.log = open(os.path.join(data_dir, "..", f"server-{self.port}.log"), "ab")

    def start(self) -> float:
        """Starts the server; returns the seconds until /healthz answered."""
        command = [self.ctx.weir, "--data-dir", self.data_dir, "server", "--port", str(self.port)]
        start = time.perf_counter()
        self.process = subprocess.Popen([*command, *self.extra], stdout=self.log, stderr=self.log)
        deadline = start + 60
        while time.perf_counter() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"weir server exited with {self.process.returncode}")
            try:
                status, _ = self.request("GET", "/apis/v2beta1/healthz", timeout=1)
                if status == 200:
                    return time.perf_counter() - start
            except OSError:
                pass
            time.sleep(0.002)
        raise RuntimeError("weir server did not become healthy in 60 s")

    def request(self, method: str, path: str, body=None, timeout: float = 60):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            return request_on(connection, method, path, body)
        finally:
            connection.close()

    def json(self, method: str, path: str, body=None):
        status, data = self.request(method, path, body)
        if status >= 300:
            raise RuntimeError(f"{method} {path}: HTTP {status}: {data[:500]!r}")
        return json.loads(data)

    def kill(self, sig=signal.SIGKILL) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(timeout=60)

    def stop(self) -> None:
        self.kill(signal.SIGTERM)


def request_on(connection, method: str, path: str, body=None):
    headers = {}
    if body is not None:
        body = json.dumps(body).encode()
        headers["content-type"] = "application/json"
    connection.request(method, path, body=body, headers=headers)
    response = connection.getresponse()
    return response.status, response.read()


def run_body(spec: dict, name: str) -> dict:
    return {"display_name": name, "pipeline_spec": spec, "runtime_config": {"parameters": {}}}


def load_spec(path: str) -> dict:
    import yaml  # from the suite's venv (a kfp dependency)

    with open(path) as f:
        return yaml.safe_load(f)


def state_filter(state: str) -> str:
    predicate = {"key": "state", "operation": "EQUALS", "string_value": state}
    return urllib.parse.quote(json.dumps({"predicates": [predicate]}))


def count_runs(server: Server, state: str) -> int:
    listed = server.json("GET", f"/apis/v2beta1/runs?page_size=1&filter={state_filter(state)}")
    return int(listed.get("total_size", 0))


def wait_run(server: Server, run_id: str, poll: float = 0.01, limit: float = 1800) -> dict:
    deadline = time.perf_counter() + limit
    while time.perf_counter() < deadline:
        run = server.json("GET", f"/apis/v2beta1/runs/{run_id}")
        if run.get("state") in ("SUCCEEDED", "FAILED", "CANCELED", "SKIPPED"):
            return run
        time.sleep(poll)
    raise RuntimeError(f"run {run_id} did not end in {limit} s")
