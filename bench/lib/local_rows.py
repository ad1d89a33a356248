"""Rows 0 to 4 and 8: the floor, and pipelines run with `weir run` (and kfp.local beside them)."""

import json
import math
import os
import shutil
import subprocess
import time

from common import (Context, median, ms, percentile, parse_time, secs, steps, timed,
                    weir_run)
import peer


def line(row, workload, weir, target, met, peer_figure="n/a", note=""):
    return {"row": row, "workload": workload, "weir": weir, "peer": peer_figure,
            "target": target, "met": met, "note": note}


def yes(condition: bool) -> str:
    return "yes" if condition else "**no**"


def row0_floor(ctx: Context):
    true = shutil.which("true")
    spawns = []
    for _ in range(1000):
        start = time.perf_counter()
        subprocess.run([true], check=True)
        spawns.append(time.perf_counter() - start)
    python = [timed([ctx.python, "-c", "pass"]) for _ in range(20)]
    shim = shutil.which("python3")
    shim_times = [timed([shim, "-c", "pass"]) for _ in range(5)] if shim else []
    runtime_env = dict(os.environ, _KFP_RUNTIME="true")  # as KFP's step command sets it
    import_kfp = [timed([ctx.venv_python, "-c", "import kfp.dsl.executor_main"], env=runtime_env)
                  for _ in range(5)]
    source = os.path.join(ctx.work, "floor-200mb")
    with open(source, "wb") as f:
        for _ in range(200):
            f.write(os.urandom(1 << 20))
    copies = [timed(["cp", source, source + ".copy"]) for _ in range(3)]
    os.remove(source)
    os.remove(source + ".copy")
    ctx.floor = {"true": median(spawns), "python": median(python),
                 "import_kfp": median(import_kfp), "cp": median(copies)}
    return [
        line("0", "floor: spawn `true` ×1000 (per spawn, from Python)",
             f"p50 {ms(median(spawns), 2)}, p99 {ms(percentile(spawns, 99), 2)}", "reference", "–"),
        line("0", "floor: `python3 -c pass`, real interpreter (pyenv shim)",
             f"{ms(median(python))} ({ms(median(shim_times))} through the shim)", "reference", "–"),
        line("0", "floor: `_KFP_RUNTIME=true python -c 'import kfp.dsl.executor_main'` (suite venv)",
             ms(median(import_kfp)), "reference", "–"),
        line("0", "floor: `cp` of 200 MB (same filesystem, warm cache)", ms(median(copies)),
             "reference", "–"),
    ]


def row1_python_chain(ctx: Context, n: int = 50):
    name = f"chain-py-{n}"
    data = os.path.abspath(ctx.keep_python_data)  # kept: Weir's Python environment is built once
    os.makedirs(data, exist_ok=True)
    weir_run(ctx, name, data, "--no-cache")  # warm-up; builds the env the first time
    walls = [weir_run(ctx, name, data, "--no-cache")[0] for _ in range(ctx.repeat)]
    per_task = median(walls) / n
    cold = [weir_run(ctx, name, data, "--no-cache", "--no-warm-python")[0]
            for _ in range(ctx.repeat)]
    cold_per_task = median(cold) / n
    rows = []
    peer_figure, ratio, peer_note = "not run", None, ""
    if ctx.peer:
        result = peer.run(ctx, "chain-py", n)
        peer_per_task = result["wall"] / n
        alone = peer.step_alone(ctx)
        ratio = peer_per_task / per_task
        peer_figure = f"{ms(peer_per_task, 0)} per task ({secs(result['wall'])})"
        peer_note = (f"kfp.local: one step's command alone (the pip no-op, then Python and "
                     f"`import kfp`), run directly, takes {ms(alone, 0)} "
                     f"(median of 3), against its {ms(peer_per_task, 0)} per task in the chain: "
                     f"that command is nearly all of it. ")
        ctx.floor["peer_step_alone"] = alone
    met = per_task <= 0.020 and (ratio is None or ratio >= 20)
    rows.append(line(
        "1", f"chain of {n} lightweight Python components (`weir run`, median of {ctx.repeat})",
        f"{ms(per_task, 0)} per task ({secs(median(walls))})"
        + (f"; **{ratio:.1f}×** faster" if ratio else ""),
        "≤ 20 ms per task; ≥ 20×", yes(met), peer_figure,
        peer_note + f"Weir skips the satisfied pip preamble and forks each step from a warm "
        f"interpreter that imported the KFP executor once; with `--no-warm-python` each step "
        f"starts Python and imports kfp ({ms(ctx.floor['import_kfp'], 0)} alone): "
        f"{ms(cold_per_task, 0)} per task ({secs(median(cold))}) in this run."))
    if ctx.peer:
        rows.extend(row1_cached(ctx, n, data))
    return rows


def row1_cached(ctx: Context, n: int, data: str):
    """The same chain, every step a cache hit, beside kfp.local's own cache."""
    name = f"chain-py-{n}"
    weir_run(ctx, name, data)  # fills the cache
    walls = [weir_run(ctx, name, data)[0] for _ in range(ctx.repeat)]
    result = peer.run(ctx, "chain-py", n, cached=True)
    ratio = result["wall"] / median(walls)
    compared = (f"{ratio:.1f}× faster" if ratio >= 1
                else f"kfp.local {1 / ratio:.1f}× faster")
    return [line("1c", "the same chain, every step a cache hit (both with their cache on)",
                 f"{ms(median(walls) / n, 2)} per task ({secs(median(walls))}); {compared}",
                 "–", "–", f"{ms(result['wall'] / n, 2)} per task ({secs(result['wall'])})",
                 "Weir's wall time includes starting `weir` and opening the store; kfp.local's is "
                 "the pipeline call inside a running Python. Each Weir cache hit is durable "
                 "(the task recorded, the cache looked up, the task updated CACHED); "
                 "kfp.local's reads a JSON file.")]


def chain_gaps(run: dict, floor_true: float):
    """Per task of a chain: the time from the previous step's end to its own end, less `true`."""
    ends = sorted(parse_time(t["finished_at"]) for t in steps(run))
    return [b - a - floor_true for a, b in zip(ends, ends[1:])]


def row2_true_chain(ctx: Context, n: int = 50):
    name = f"chain-true-{n}"
    data = ctx.fresh_dir("row2")
    weir_run(ctx, name, data, "--no-cache")
    walls, gaps = [], []
    for _ in range(max(ctx.repeat, 5)):
        wall, run = weir_run(ctx, name, data, "--no-cache")
        walls.append(wall)
        gaps.extend(chain_gaps(run, ctx.floor["true"]))
    overhead = (median(walls) - n * ctx.floor["true"]) / n
    p50, p99 = percentile(gaps, 50), percentile(gaps, 99)
    peer_figure = "refused: SubprocessRunner runs only Python components"
    return [line(
        "2", f"chain of {n} container components running `true` (`weir run --no-cache`)",
        f"overhead {ms(overhead, 2)} per task end to end (wall {ms(median(walls), 0)}); "
        f"between steps p50 {ms(p50, 1)}, p99 {ms(p99, 1)}",
        "≤ 2 ms p50, ≤ 10 ms p99", yes(p50 <= 0.002 and p99 <= 0.010 and overhead <= 0.002),
        peer_figure,
        "End to end includes starting `weir`, opening the store and the run's own records; "
        "between steps comes from stored times (millisecond resolution), less a `true` spawn.")]


def row3_cached_chain(ctx: Context, n: int = 1000):
    name = f"chain-true-{n}"
    data = ctx.fresh_dir("row3")
    first, _ = weir_run(ctx, name, data)
    walls, runs = [], []
    for _ in range(ctx.repeat):
        wall, run = weir_run(ctx, name, data)
        walls.append(wall)
        runs.append(run)
    every_hit = all(t["state"] == "CACHED" and not t.get("log_path")
                    for run in runs for t in steps(run))
    count = len(steps(runs[-1]))
    return [line(
        "3", f"chain of {n} re-run, every task a cache hit (`weir run`, median of {ctx.repeat})",
        f"{secs(median(walls))} for the run ({ms(median(walls) / n, 2)} per task); "
        f"{count} of {n} CACHED, no process: {yes(every_hit)}",
        "≤ 0.5 s, no process", yes(median(walls) <= 0.5 and every_hit and count == n),
        "kfp.local cannot run container components; see row 1c for its cache",
        f"The first run (every step executed, caching on) took {secs(first)}.")]


def row4_fan_out(ctx: Context, sizes=(32, 256), parallelisms=(2, 8)):
    rows = []
    for n in sizes:
        for p in parallelisms:
            name = f"fan-out-{n}-p{p}"
            data = ctx.fresh_dir(f"row4-{n}-{p}")
            wall, run = weir_run(ctx, name, data, "--no-cache", "--max-parallel", str(max(p, 8)))
            loop = next(t for t in run["tasks"] if t["kind"] == "LOOP")
            took = parse_time(loop["finished_at"]) - parse_time(loop["created_at"])
            ideal = math.ceil(n / p) * 0.2
            efficiency = ideal / took
            summed = next(t for t in steps(run) if t["name"] == "total")
            got = summed["outputs"].get("parameters", {}).get("Output")
            typed = run["state"] == "SUCCEEDED" and got == sum(i * i for i in range(n))
            rows.append(line(
                "4", f"ParallelFor over {n} items of `sleep 0.2`, parallelism {p}, Collected fan-in",
                f"{efficiency * 100:.1f}% efficient (loop {secs(took)}, ideal {secs(ideal)}); "
                f"typed fan-in: {yes(typed)}",
                "≥ 85%, types kept", yes(efficiency >= 0.85 and typed),
                note=f"Whole run {secs(wall)}; the fan-in step checks every collected value is an int."))
    return rows


def row8_artifact(ctx: Context, size_mb: int = 200):
    name = f"artifact-{size_mb}mb"
    data = ctx.fresh_dir("row8")
    gaps, walls = [], []
    for _ in range(ctx.repeat):
        wall, run = weir_run(ctx, name, data, "--no-cache")
        walls.append(wall)
        by_name = {t["name"]: t for t in steps(run)}
        writer, reader = by_name["write-artifact"], by_name["read-artifact"]
        gaps.append(parse_time(reader["started_at"]) - parse_time(writer["finished_at"]))
        written = writer["outputs"]["artifacts"]["data"][0]["uri"]
        read = json.dumps(reader["inputs"])
    same_file = written in read
    scratch = os.path.join(ctx.work, "row8-alone")
    alone = median([
        timed(["sh", "-c",
               f'head -c {size_mb << 20} /dev/zero > "{scratch}" && cat "{scratch}" > /dev/null'])
        for _ in range(ctx.repeat)])
    os.remove(scratch)
    return [line(
        "8", f"{size_mb} MB artifact written by one step, read by the next",
        f"hand-over {ms(median(gaps), 0)} (reader start − writer end); "
        f"whole run {ms(median(walls), 0)} against {ms(alone, 0)} for the two commands alone; "
        f"same file, no copy: {yes(same_file)}",
        "≤ 5 ms", yes(median(gaps) <= 0.005 and same_file),
        "refused: container components",
        f"Stored times have millisecond resolution. A `cp` of the file would take "
        f"{ms(ctx.floor.get('cp', float('nan')), 0)}.")]
