"""The benchmark suite (issue 7): every row for Weir and, where it applies, kfp.local.

Run through `bench/suite`, which builds Weir, creates the peer's venv, compiles the pipelines and
calls this with the venv's Python. Prints one Markdown table and records it in BENCHMARKS.md
between the `suite` markers (unless --no-record).
"""

import argparse
import os
import platform
import shutil
import subprocess
import sys
import time
import traceback
from datetime import datetime, timezone

from common import Context
import local_rows
import s3_rows
import server_rows

START, END = "<!-- suite:start -->", "<!-- suite:end -->"


def machine() -> str:
    cores = os.cpu_count()
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            model = next(l.split(":", 1)[1].strip() for l in f if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    return f"{cores} cores ({model}), {memory:.1f} GiB, {platform.system()} {platform.release()}; load average at start {load}"


def rows_to_run(args):
    ctx = Context(args)
    plan = [("0", lambda: local_rows.row0_floor(ctx))]
    if args.fast:
        plan += [
            ("2", lambda: local_rows.row2_true_chain(ctx, 50)),
            ("3", lambda: local_rows.row3_cached_chain(ctx, 1000)),
            ("7", lambda: server_rows.row7_list(ctx, 10_000, 100)),
        ]
    else:
        plan += [
            ("1", lambda: local_rows.row1_python_chain(ctx, 50)),
            ("2", lambda: local_rows.row2_true_chain(ctx, 50)),
            ("3", lambda: local_rows.row3_cached_chain(ctx, 1000)),
            ("4", lambda: local_rows.row4_fan_out(ctx)),
            ("5", lambda: server_rows.row5_big(ctx, args.big)),
            ("6", lambda: server_rows.row6_many_runs(ctx, args.many)),
            ("7", lambda: server_rows.row7_list(ctx, args.list_runs, 300)),
            ("8", lambda: local_rows.row8_artifact(ctx, 200)),
            ("9", lambda: server_rows.row9_cold(ctx)),
            ("10", lambda: s3_rows.row10_s3(ctx, 200)),
        ]
    if args.rows:
        wanted = set(args.rows.split(",")) | {"0"}
        plan = [(row, f) for row, f in plan if row in wanted]
    return plan


def table(lines) -> str:
    out = ["| # | Workload | Weir | kfp.local | Target | Met |", "|---|---|---|---|---|---|"]
    for l in lines:
        out.append(f"| {l['row']} | {l['workload']} | {l['weir']} | {l['peer']} | "
                   f"{l['target']} | {l['met']} |")
    notes = [f"- Row {l['row']}: {l['note']}" for l in lines if l.get("note")]
    return "\n".join(out + ([""] + notes if notes else []))


def merge(old_block: str, header, lines, rerun: str) -> str:
    """The recorded block with only the rows of this run replaced (`--rows`): the other rows,
    their notes and the header of the run that measured them stay, and a line says what was
    re-run when."""
    # The recorded floor stays (it is the one the kept rows were measured against); this run's
    # floor goes into the re-run line.
    ran = {l["row"].rstrip("c") for l in lines} - {"0"}
    floor = "; ".join(f"{l['workload'].removeprefix('floor: ')} {l['weir']}"
                      for l in lines if l["row"] == "0")
    rerun = f"{rerun}; its floor: {floor}"
    kept_rows, kept_notes, old_header = [], [], []
    for text in old_block.splitlines():
        if text.startswith("| ") and not text.startswith("| # "):
            row = text.split("|")[1].strip()
            if row.rstrip("c") not in ran:
                kept_rows.append(text)
        elif text.startswith("- Row "):
            if text[len("- Row "):].split(":")[0].rstrip("c") not in ran:
                kept_notes.append(text)
        elif text.startswith("- ") and not kept_rows:
            if not text.startswith(rerun.split(" re-run")[0]):  # an older re-run of these rows
                old_header.append(text)
    new_rows = table(lines).split("\n")
    rows = sorted(kept_rows + [r for r in new_rows[2:] if r.startswith("| ")
                               and not r.startswith("| 0 |")],
                  key=lambda r: (int("".join(c for c in r.split("|")[1] if c.isdigit()) or 0)))
    notes = sorted(kept_notes + [n for n in new_rows if n.startswith("- Row ")],
                   key=lambda n: int("".join(c for c in n.split(":")[0] if c.isdigit()) or 0))
    body = "\n".join(new_rows[:2] + rows + [""] + notes)
    return "\n".join([START, *old_header, rerun, "", body, END])


def record(block: str, path: str, header=None, lines=None, rerun=None) -> None:
    text = open(path).read() if os.path.exists(path) else ""
    if START in text and END in text:
        head, rest = text.split(START, 1)
        old_block = rest.split(END, 1)[0]
        if rerun and "| # |" in old_block:
            block = merge(old_block, header, lines, rerun)
        text = head + block + rest.split(END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n## Suite (issue 7)\n\n" + block + "\n"
    with open(path, "w") as f:
        f.write(text)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--weir", required=True)
    parser.add_argument("--pipelines", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--python", required=True)
    parser.add_argument("--venv-python", required=True)
    parser.add_argument("--s3-server", required=True, help="the weir-s3-testserver binary")
    parser.add_argument("--command", required=True, help="the command line, for the record")
    parser.add_argument("--commit", default="")
    parser.add_argument("--fast", action="store_true")
    parser.add_argument("--rows", default="", help="only these rows, e.g. 2,3")
    parser.add_argument("--no-peer", action="store_true")
    parser.add_argument("--no-record", action="store_true")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--big", type=int, default=10_000)
    parser.add_argument("--many", type=int, default=1000)
    parser.add_argument("--list-runs", type=int, default=100_000)
    args = parser.parse_args()
    if args.fast:  # a regression check: no peer, and the recorded full table stays
        args.no_peer = True
        args.no_record = True
    started = time.perf_counter()
    header = [
        f"- Date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC",
        f"- Machine: {machine()}",
        f"- Command: `{args.command}`" + (f" on commit {args.commit}" if args.commit else ""),
        "- Build: release; kfp.local from a venv with kfp==2.17.0, "
        "`SubprocessRunner(use_venv=False)`",
    ]
    lines, failed = [], []
    for row, run in rows_to_run(args):
        print(f"suite: row {row}...", file=sys.stderr, flush=True)
        row_start = time.perf_counter()
        try:
            produced = run()
        except Exception as error:  # one broken row must not hide the others
            traceback.print_exc()
            failed.append(row)
            produced = [local_rows.line(row, "(failed)", f"error: {error}"[:300], "–", "**no**")]
        for l in produced:
            print(f"  {l['workload']}: {l['weir']} | peer {l['peer']} | met {l['met']}",
                  file=sys.stderr, flush=True)
        print(f"suite: row {row} took {time.perf_counter() - row_start:.0f} s", file=sys.stderr)
        lines.extend(produced)
    header.append(f"- Suite time: {time.perf_counter() - started:.0f} s")
    if not failed:  # the rows' data dirs (over a GB after row 5); kept to look at on a failure
        shutil.rmtree(args.work, ignore_errors=True)
    block = "\n".join([START, *header, "", table(lines), END])
    print(block)
    if not args.no_record:
        rerun = None
        if args.rows:  # only these rows: the others stay as recorded
            rerun = (f"- Rows {args.rows} re-run {header[0][len('- Date: '):]} "
                     f"with `{args.command}`; load average at start "
                     f"{header[1].rsplit('load average at start ', 1)[-1]}")
        record(block, os.path.join(os.path.dirname(__file__), "..", "..", "BENCHMARKS.md"),
               header, lines, rerun)
        print("suite: recorded in BENCHMARKS.md", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
