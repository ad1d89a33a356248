"""Rows 5, 6, 7 and 9: `weir server` at scale, under load, killed, and from cold."""

import os
import re
import subprocess
import threading
import time

from common import (Context, Server, count_runs, load_spec, median, ms, parse_time,
                    percentile, request_on, rss_kb, run_body, secs, wait_run)
from local_rows import line, yes
import http.client


def row5_big(ctx: Context, n: int = 10_000):
    rows = []
    for shape, kind in ((f"chain-true-{n}", "chain"), (f"fan-out-true-{n}", "ParallelFor")):
        data = ctx.fresh_dir(f"row5-{kind}")
        server = Server(ctx, data)
        server.start()
        try:
            spec = load_spec(ctx.pipeline(shape))
            start = time.perf_counter()
            created = server.json("POST", "/apis/v2beta1/runs", run_body(spec, shape))
            accept = time.perf_counter() - start
            run = wait_run(server, created["run_id"], poll=0.25, limit=3600)
            took = parse_time(run["finished_at"]) - parse_time(run["created_at"])
            peak_mb = rss_kb(server.process.pid, "VmHWM") / 1024
            graph = []
            for _ in range(5):
                start = time.perf_counter()
                status, body = server.request("GET", f"/apis/v2beta1/runs/{created['run_id']}")
                graph.append(time.perf_counter() - start)
            page = []
            for _ in range(3):
                start = time.perf_counter()
                status_page, _ = server.request("GET", f"/runs/{created['run_id']}")
                page.append(time.perf_counter() - start)
        finally:
            server.stop()
        if kind == "chain":
            per_step = (took - n * ctx.floor["true"]) / n
            step_text = f"overhead {ms(per_step, 2)} per step"
        else:
            per_step = took / n
            step_text = f"{ms(per_step, 2)} per item (2 cores, `true` steps in parallel)"
        met = (accept <= 2 and per_step <= 0.003 and peak_mb <= 500
               and max(median(graph), median(page)) <= 1 and run["state"] == "SUCCEEDED")
        rows.append(line(
            "5", f"{n:,}-task {kind} of `true` through `weir server`",
            f"accept {ms(accept, 0)}; run {secs(took)} ({run['state']}), {step_text}; "
            f"peak RSS {peak_mb:.0f} MB; run API {ms(median(graph), 0)} "
            f"({len(body) >> 10} KiB), run page {ms(median(page), 0)}",
            "accept ≤ 2 s; ≤ 3 ms/step; ≤ 500 MB; graph ≤ 1 s", yes(met),
            note="Accept is POST /runs with the spec inline, answered once the run is validated "
                 "and recorded; the run's time is from its stored created_at to finished_at."))
    return rows


def row6_many_runs(ctx: Context, count: int = 1000, clients: int = 8):
    data = ctx.fresh_dir("row6")
    server = Server(ctx, data)
    server.start()
    spec = load_spec(ctx.pipeline("three-steps"))
    latencies, errors, ids = [], [], []
    lock = threading.Lock()

    def submit(worker: int):
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
        for i in range(worker, count, clients):
            start = time.perf_counter()
            try:
                status, body = request_on(connection, "POST", "/apis/v2beta1/runs",
                                          run_body(spec, f"many {i:04}"))
            except OSError as error:
                status, body = 0, str(error).encode()
            took = time.perf_counter() - start
            with lock:
                (latencies if status == 200 else errors).append(took if status == 200 else body)
                if status == 200:
                    ids.append(body)
        connection.close()

    start = time.perf_counter()
    threads = [threading.Thread(target=submit, args=(w,)) for w in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    submit_time = time.perf_counter() - start
    # Kill -9 once about half the runs have ended, then restart on the same data dir.
    while count_runs(server, "SUCCEEDED") < count // 2:
        time.sleep(0.2)
    at_kill = count_runs(server, "SUCCEEDED")
    server.kill()
    restart = server.start()
    deadline = time.perf_counter() + 1800
    while time.perf_counter() < deadline:
        ended = sum(count_runs(server, s) for s in ("SUCCEEDED", "FAILED", "CANCELED"))
        if ended >= count:
            break
        time.sleep(0.5)
    all_done = time.perf_counter() - start
    succeeded = count_runs(server, "SUCCEEDED")
    total = int(server.json("GET", "/apis/v2beta1/runs?page_size=1").get("total_size", 0))
    server.stop()
    p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
    rate = len(latencies) / submit_time
    met = p99 <= 0.050 and rate >= 200 and succeeded == count and total == count and not errors
    return [line(
        "6", f"{count:,} runs of a 3-step pipeline submitted at once ({clients} clients), "
             f"server killed (-9) and restarted mid-way",
        f"create p50 {ms(p50)}, p99 {ms(p99)}; {rate:.0f} creates/s; "
        f"{succeeded}/{count} SUCCEEDED, {total} runs stored, {len(errors)} refused",
        "p99 ≤ 50 ms; ≥ 200/s; all finish", yes(met),
        note=f"Killed with {at_kill} runs done; healthy again {ms(restart, 0)} after the restart; "
             f"all {count} ended {secs(all_done)} after the first create.")]


def row7_list(ctx: Context, runs: int, samples: int):
    env = dict(os.environ, WEIR_BENCH_RUNS=str(runs), WEIR_BENCH_SAMPLES=str(samples),
               WEIR_BENCH_WARMUP="10", WEIR_BENCH_LISTS_ONLY="1")
    root = os.path.join(os.path.dirname(__file__), "..", "..")
    done = subprocess.run(["cargo", "bench", "-q", "-p", "weir-server", "--bench", "api"],
                          cwd=root, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"cargo bench failed: {done.stderr[-2000:]}")
    rows = []
    wanted = ("first page", "page ", "filter state = SUCCEEDED")
    for table_line in done.stdout.splitlines():
        cells = [c.strip() for c in table_line.strip("|").split("|")]
        if len(cells) < 6 or not cells[0].startswith("GET runs: "):
            continue
        what = cells[0][len("GET runs: "):]
        if not what.startswith(wanted):
            continue
        p50, p99 = (float(re.sub("[^0-9.]", "", c)) / 1000 for c in (cells[1], cells[3]))
        rows.append(line(
            "7", f"list runs, {runs:,} in the store: {what}",
            f"p50 {ms(p50)}, p99 {ms(p99)} (HTTP round trip); store p50 {cells[4]}",
            "p50 ≤ 10 ms, p99 ≤ 100 ms", yes(p50 <= 0.010 and p99 <= 0.100),
            note=f"{samples} requests one at a time; {cells[5]}."))
    return rows


def row9_cold(ctx: Context, repeat: int = 5):
    spec = load_spec(ctx.pipeline("chain-true-1"))
    healthy, first_run, idle, after = [], [], [], []
    for i in range(repeat):
        data = ctx.fresh_dir(f"row9-{i}")
        server = Server(ctx, data)
        try:
            healthy.append(server.start())
            time.sleep(0.5)
            idle.append(rss_kb(server.process.pid) / 1024)
            start = time.perf_counter()
            created = server.json("POST", "/apis/v2beta1/runs", run_body(spec, "first"))
            run = wait_run(server, created["run_id"], poll=0.002)
            first_run.append(time.perf_counter() - start)
            if run["state"] != "SUCCEEDED":
                raise RuntimeError(f"the first run ended {run['state']}")
            time.sleep(0.5)
            after.append(rss_kb(server.process.pid) / 1024)
        finally:
            server.stop()
    met = median(healthy) <= 0.2 and median(first_run) <= 0.2 and median(idle) <= 50
    return [line(
        "9", f"`weir server` on an empty data dir (median of {repeat})",
        f"healthy {ms(median(healthy), 0)}; first 1-step run done {ms(median(first_run), 0)} "
        f"later; idle RSS {median(idle):.1f} MB ({median(after):.1f} MB after the run)",
        "≤ 200 ms; ≤ 200 ms; ≤ 50 MB", yes(met),
        note="Healthy: from spawning the process to the first HTTP 200 from /healthz (polled "
             "every 2 ms); the run from POST to the run read back SUCCEEDED (polled every 2 ms).")]
