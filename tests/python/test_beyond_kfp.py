"""What Weir adds to KFP's API, through raw HTTP where the SDK has no method for it."""
import json
import time
import urllib.request

from kfp import dsl

from conftest import CONFORMANCE

ADD = CONFORMANCE / "critical" / "add_numbers.yaml"


def call(server, method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"{server.host}/apis/v2beta1{path}", data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request) as response:
        return json.loads(response.read() or b"{}")


def test_a_recurring_run_is_updated_in_place(client, server):
    experiment = client.create_experiment("update-in-place")
    created = client.create_recurring_run(experiment.experiment_id, "nightly", cron_expression="0 0 2 * * *",
                                          pipeline_package_path=str(ADD), params={"a": 1, "b": 2}, enabled=False)
    current = call(server, "GET", f"/recurringruns/{created.recurring_run_id}")
    current["trigger"] = {"cron_schedule": {"cron": "0 30 3 * * *"}}
    current["runtime_config"]["parameters"] = {"a": 5, "b": 6}
    current["display_name"] = "nightly-later"
    for read_only in ("recurring_run_id", "created_at", "updated_at", "status"):
        current.pop(read_only, None)
    updated = call(server, "PUT", f"/recurringruns/{created.recurring_run_id}", current)
    assert updated["recurring_run_id"] == created.recurring_run_id
    assert updated["trigger"]["cron_schedule"]["cron"] == "0 30 3 * * *"
    assert updated["runtime_config"]["parameters"] == {"a": 5, "b": 6}
    assert client.get_recurring_run(created.recurring_run_id).display_name == "nightly-later"
    client.delete_recurring_run(created.recurring_run_id)


def test_a_run_can_opt_out_of_caching(client, server):
    spec = json.loads(json.dumps(__import__("yaml").safe_load(ADD.read_text())))
    body = {"display_name": "cache-opt-out", "pipeline_spec": spec, "runtime_config": {"parameters": {"a": 40, "b": 2}}}
    first = call(server, "POST", "/runs", body)
    client.wait_for_run_completion(first["run_id"], timeout=300, sleep_duration=1)
    second = call(server, "POST", "/runs", body)
    client.wait_for_run_completion(second["run_id"], timeout=300, sleep_duration=1)
    third = call(server, "POST", "/runs?disable_cache=true", body)
    client.wait_for_run_completion(third["run_id"], timeout=300, sleep_duration=1)

    def steps(run_id):
        run = call(server, "GET", f"/runs/{run_id}")
        return [t for t in run["run_details"]["task_details"] if t.get("pod_name")]

    assert all(s["state"] == "SUCCEEDED" for s in steps(second["run_id"]))
    second_history = [h["state"] for s in steps(second["run_id"]) for h in s["state_history"]]
    third_history = [h["state"] for s in steps(third["run_id"]) for h in s["state_history"]]
    assert "RUNNING" not in second_history, "the second run reused the first run's step"
    assert "RUNNING" in third_history, "with disable_cache the step ran"


def test_max_concurrency_bounds_a_recurring_run(client):
    @dsl.container_component
    def slow():
        return dsl.ContainerSpec(image="alpine", command=["sh", "-c", "sleep 3"])

    @dsl.pipeline(name="slow")
    def slow_pipeline():
        slow().set_caching_options(False)

    experiment = client.create_experiment("bounded")
    package = "/tmp/weir-slow-pipeline.yaml"
    from kfp import compiler
    compiler.Compiler().compile(slow_pipeline, package)
    recurring = client.create_recurring_run(experiment.experiment_id, "every-second", interval_second=1,
                                            pipeline_package_path=package, max_concurrency=1)
    peak = 0
    deadline = time.time() + 8
    while time.time() < deadline:
        runs = client.list_runs(experiment_id=experiment.experiment_id, page_size=100).runs or []
        active = [r for r in runs if r.state in ("PENDING", "RUNNING")]
        peak = max(peak, len(active))
        time.sleep(0.2)
    client.disable_recurring_run(recurring.recurring_run_id)
    runs = client.list_runs(experiment_id=experiment.experiment_id, page_size=100).runs or []
    assert len(runs) >= 2, "it fired more than once"
    assert peak == 1, f"at most one run at a time, saw {peak}"
    client.delete_recurring_run(recurring.recurring_run_id)
