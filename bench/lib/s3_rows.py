"""Row 10: a 200 MB artifact handed from one step to the next through S3 (a real S3 server,
s3s-fs, on loopback), beside boto3's `upload_file` + `download_file` of the same bytes against
the same server in the same run, and Weir's peak memory at two sizes."""

import os
import shutil
import subprocess
import time

from common import Context, median, ms, secs
from local_rows import line, yes

KEY, SECRET, BUCKET = "weir-bench", "weir-bench-secret", "bench"


def start_server(ctx: Context, root: str):
    """The test S3 server (`weir-s3-testserver`): (process, endpoint)."""
    shutil.rmtree(root, ignore_errors=True)
    os.makedirs(root)
    server = subprocess.Popen(
        [ctx.s3_server, "--root", root, "--bucket", BUCKET, "--access-key", KEY,
         "--secret-key", SECRET], stdout=subprocess.PIPE, text=True)
    endpoint = server.stdout.readline().strip()
    if not endpoint.startswith("http"):
        server.kill()
        raise RuntimeError(f"the S3 server did not start: {endpoint!r}")
    return server, endpoint


def s3_env(endpoint: str) -> dict:
    return dict(os.environ, AWS_ACCESS_KEY_ID=KEY, AWS_SECRET_ACCESS_KEY=SECRET,
                AWS_REGION="us-east-1", AWS_ENDPOINT_URL=endpoint)


def timed_run(ctx: Context, pipeline: str, data: str, env: dict, *extra: str):
    """`weir run` of a pipeline: (wall seconds, peak RSS of the weir process in MB)."""
    command = [ctx.weir, "--data-dir", data, "run", ctx.pipeline(pipeline), "-o", "json",
               "--no-cache", *extra]
    start = time.perf_counter()
    child = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise RuntimeError(f"weir run {pipeline} failed: {child.stderr.read()[-2000:]}")
    return wall, usage.ru_maxrss / 1024


def boto3_round_trip(ctx: Context, endpoint: str, size_mb: int) -> float:
    """boto3's upload_file + download_file of `size_mb` MB against the server, in the venv."""
    script = f"""
import os, sys, time, boto3
s3 = boto3.client("s3", endpoint_url={endpoint!r}, aws_access_key_id={KEY!r},
                  aws_secret_access_key={SECRET!r}, region_name="us-east-1")
path = sys.argv[1]
start = time.perf_counter()
s3.upload_file(path, {BUCKET!r}, "boto3/data")
s3.download_file({BUCKET!r}, "boto3/data", path + ".back")
print(time.perf_counter() - start)
os.remove(path + ".back")
"""
    source = os.path.join(ctx.work, "row10-boto3")
    with open(source, "wb") as f:
        f.write(b"\0" * (size_mb << 20))
    try:
        done = subprocess.run([ctx.venv_python, "-c", script, source], capture_output=True,
                              text=True, check=True)
        return float(done.stdout.strip())
    finally:
        os.remove(source)


def row10_s3(ctx: Context, size_mb: int = 200, small_mb: int = 50):
    server, endpoint = start_server(ctx, os.path.join(ctx.work, "row10-objects"))
    try:
        env = s3_env(endpoint)
        root = ["--pipeline-root", f"s3://{BUCKET}/root"]
        local, remote, boto, rss = [], [], [], {}
        data = ctx.fresh_dir("row10")
        for _ in range(ctx.repeat):
            local.append(timed_run(ctx, f"artifact-{size_mb}mb", data, env)[0])
            wall, rss[size_mb] = timed_run(ctx, f"artifact-{size_mb}mb", data, env, *root)
            remote.append(wall)
            boto.append(boto3_round_trip(ctx, endpoint, size_mb))
        rss[small_mb] = timed_run(ctx, f"artifact-{small_mb}mb", data, env, *root)[1]
    finally:
        server.terminate()
        server.wait()
    overhead = median(remote) - median(local)
    ratio = overhead / median(boto)
    flat = rss[size_mb] <= rss[small_mb] * 1.25
    return [line(
        "10", f"{size_mb} MB artifact handed over through S3 (s3s-fs on loopback)",
        f"S3 cost {ms(overhead, 0)} (run with an s3:// root {secs(median(remote))} − local "
        f"root {secs(median(local))}) = **{ratio:.2f}×** boto3; peak RSS of `weir run` "
        f"{rss[size_mb]:.0f} MB at {size_mb} MB, {rss[small_mb]:.0f} MB at {small_mb} MB",
        "≤ 1.0× boto3, memory flat", yes(ratio <= 1.0 and flat),
        f"boto3 upload_file + download_file {ms(median(boto), 0)}",
        "The S3 cost is the whole run's difference: the upload after the writer, the download "
        "before the reader and the root's probe at creation. boto3 uses its default transfer "
        "settings (8 MB parts, 10 threads).")]
