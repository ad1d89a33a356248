"""The kfp CLI, unmodified, against weir server."""
import json
import subprocess
import sys
import pathlib

from conftest import CONFORMANCE

KFP = str(pathlib.Path(sys.executable).parent / "kfp")
ADD = str(CONFORMANCE / "critical" / "add_numbers.yaml")


def kfp(server, *args):
    result = subprocess.run([KFP, "--endpoint", server.host, *args], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_experiment_create_and_list(server):
    kfp(server, "experiment", "create", "cli-experiment")
    assert "cli-experiment" in kfp(server, "experiment", "list")


def test_pipeline_create_and_list(server):
    kfp(server, "pipeline", "create", "-p", "cli-pipeline", ADD)
    assert "cli-pipeline" in kfp(server, "pipeline", "list")


def test_run_create_list_get(server):
    out = kfp(server, "--output", "json", "run", "create", "-e", "cli-runs", "-r", "cli-run", "-f", ADD, "--timeout", "300", "a=1", "b=2")
    # `run create` prints links to the UI before the JSON.
    run = json.loads(out[out.index("{"):])
    assert run["state"] == "SUCCEEDED", run
    got = json.loads(kfp(server, "--output", "json", "run", "get", run["run_id"]))
    assert got["state"] == "SUCCEEDED"
    experiment = json.loads(kfp(server, "--output", "json", "experiment", "get", run["experiment_id"]))
    assert experiment["display_name"] == "cli-runs"
    assert "cli-run" in kfp(server, "run", "list", "-e", run["experiment_id"])
