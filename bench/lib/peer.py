"""kfp.local, the peer: the same pipeline functions run with `SubprocessRunner(use_venv=False)`.

Run as a script by the suite's venv Python (kfp==2.17.0): `peer.py SHAPE N ROOT [--cached]`
prints `{"wall": seconds}` for one run of the pipeline, timed around the call.
"""

import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def run(ctx, shape: str, n: int, cached: bool = False) -> dict:
    root = ctx.fresh_dir(f"peer-{shape}-{n}")
    command = [ctx.venv_python, __file__, shape, str(n), root] + (["--cached"] if cached else [])
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"kfp.local {shape} failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def step_alone(ctx, repeat: int = 3) -> float:
    """One step of the Python chain as kfp compiled it (pip preamble included), run directly with
    the suite venv's `python3` first on PATH, as kfp.local runs it."""
    from common import load_spec, median

    spec = load_spec(ctx.pipeline("chain-py-50"))
    container = spec["deploymentSpec"]["executors"]["exec-add-one"]["container"]
    env = dict(os.environ, PATH=os.path.dirname(ctx.venv_python) + ":" + os.environ["PATH"])
    times = []
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as scratch:
            executor_input = {
                "inputs": {"parameterValues": {"x": 1}},
                "outputs": {"parameters": {"Output": {"outputFile": f"{scratch}/Output"}},
                            "outputFile": f"{scratch}/executor_output.json"},
            }
            args = [json.dumps(executor_input) if a == "{{$}}" else a for a in container["args"]]
            start = time.perf_counter()
            subprocess.run(container["command"] + args, env=env, check=True, cwd=scratch,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            times.append(time.perf_counter() - start)
    return median(times)


def main() -> None:
    shape, n, root = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    cached = "--cached" in sys.argv
    sys.path.insert(0, os.path.join(HERE, "..", "pipelines"))
    import logging

    from kfp import local
    import shapes

    logging.disable(logging.INFO)
    local.init(runner=local.SubprocessRunner(use_venv=False),
               pipeline_root=os.path.join(root, "outputs"),
               enable_caching=cached, cache_root=os.path.join(root, "cache"))
    pipeline = getattr(shapes, shape.replace("-", "_"))(n)
    if cached:
        pipeline()  # fills the cache
    start = time.perf_counter()
    result = pipeline()
    wall = time.perf_counter() - start
    if shape == "chain-py" and getattr(result, "output", result) != n:
        raise SystemExit(f"kfp.local returned {result!r}, expected {n}")
    print(json.dumps({"wall": wall}))


if __name__ == "__main__":
    main()
