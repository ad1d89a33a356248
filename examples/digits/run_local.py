"""Runs the digits pipeline with KFP's own local runner (kfp.local), as an
oracle to compare Weir against.

Needs a venv with kfp==2.17.0 and the pinned ML packages already installed,
so that each component's `pip install` step is a no-op:

    python -m venv .venv
    .venv/bin/pip install kfp==2.17.0 numpy==2.3.5 scipy==1.17.1 scikit-learn==1.7.2
    .venv/bin/python run_local.py [--threshold 0.99] [--root /tmp/digits-root]
"""

import argparse
import os
import shutil
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default="/tmp/digits-root", help="pipeline root (wiped first)")
    parser.add_argument("--threshold", type=float, default=None)
    args = parser.parse_args()

    from kfp import local

    shutil.rmtree(args.root, ignore_errors=True)
    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=args.root)

    from digits import digits_pipeline

    kwargs = {} if args.threshold is None else {"threshold": args.threshold}
    started = time.time()
    digits_pipeline(**kwargs)
    print(f"kfp.local run finished in {time.time() - started:.1f}s; outputs under {args.root}")


if __name__ == "__main__":
    main()
