"""kfp.Client, unmodified, against weir server."""
import json
import pathlib
import time

import kfp
import pytest
from kfp import dsl
from kfp_server_api.exceptions import ApiException

from conftest import CONFORMANCE, REPO

HELLO = str(REPO / "examples" / "hello" / "hello.yaml")
ADD = str(CONFORMANCE / "critical" / "add_numbers.yaml")


@dsl.component(base_image="python:3.11")
def double(x: int) -> int:
    return 2 * x


@dsl.pipeline(name="double-it")
def double_pipeline(x: int = 3):
    double(x=x)


def test_healthz(client):
    health = client.get_kfp_healthz()
    assert health.multi_user is False


def test_experiments(client):
    experiment = client.create_experiment("pytest-experiments", description="made by pytest")
    assert experiment.display_name == "pytest-experiments"
    again = client.create_experiment("pytest-experiments")
    assert again.experiment_id == experiment.experiment_id, "create_experiment finds the existing one by name"
    assert client.get_experiment(experiment_id=experiment.experiment_id).description == "made by pytest"
    assert client.get_experiment(experiment_name="pytest-experiments").experiment_id == experiment.experiment_id
    listed = client.list_experiments(page_size=200)
    assert experiment.experiment_id in [e.experiment_id for e in listed.experiments]
    client.archive_experiment(experiment.experiment_id)
    assert client.get_experiment(experiment_id=experiment.experiment_id).storage_state == "ARCHIVED"
    client.unarchive_experiment(experiment.experiment_id)
    assert client.get_experiment(experiment_id=experiment.experiment_id).storage_state == "AVAILABLE"
    client.delete_experiment(experiment.experiment_id)
    with pytest.raises(ApiException) as missing:
        client.get_experiment(experiment_id=experiment.experiment_id)
    assert missing.value.status == 404


def test_pipelines_and_versions(client, tmp_path):
    pipeline = client.upload_pipeline(HELLO, pipeline_name="pytest-hello", description="hello pipeline")
    assert pipeline.display_name == "pytest-hello"
    assert client.get_pipeline_id("pytest-hello") == pipeline.pipeline_id
    version = client.upload_pipeline_version(ADD, pipeline_version_name="v2", pipeline_id=pipeline.pipeline_id)
    assert version.pipeline_id == pipeline.pipeline_id
    fetched = client.get_pipeline_version(pipeline.pipeline_id, version.pipeline_version_id)
    assert fetched.pipeline_spec["pipelineInfo"]["name"] == "add-numbers"
    versions = client.list_pipeline_versions(pipeline.pipeline_id, page_size=10)
    assert len(versions.pipeline_versions) == 2
    by_name = client.upload_pipeline_version(HELLO, pipeline_version_name="v3", pipeline_name="pytest-hello")
    assert by_name.pipeline_id == pipeline.pipeline_id
    names = [p.display_name for p in client.list_pipelines(page_size=200).pipelines]
    assert "pytest-hello" in names
    with pytest.raises(ApiException):
        client.upload_pipeline(HELLO, pipeline_name="pytest-hello")
    broken = tmp_path / "broken.yaml"
    broken.write_text("root: {dag: {tasks: {a: {componentRef: {name: comp-missing}}}}}\n")
    with pytest.raises(ApiException) as invalid:
        client.upload_pipeline(str(broken), pipeline_name="pytest-broken")
    assert invalid.value.status == 400
    assert "SPEC0006" in invalid.value.body
    for v in client.list_pipeline_versions(pipeline.pipeline_id, page_size=10).pipeline_versions:
        client.delete_pipeline_version(pipeline.pipeline_id, v.pipeline_version_id)
    client.delete_pipeline(pipeline.pipeline_id)
    assert client.get_pipeline_id("pytest-hello") is None


def test_runs_from_package_and_func(client):
    run = client.create_run_from_pipeline_package(ADD, arguments={"a": 2, "b": 5}, run_name="pytest-add", experiment_name="pytest-runs")
    result = client.wait_for_run_completion(run.run_id, timeout=300, sleep_duration=1)
    assert result.state == "SUCCEEDED", result
    details = client.get_run(run.run_id)
    names = [t.display_name for t in details.run_details.task_details]
    assert "add-numbers" in names
    assert details.runtime_config.parameters == {"a": 2, "b": 5}
    func_run = client.create_run_from_pipeline_func(double_pipeline, arguments={"x": 21}, experiment_name="pytest-runs")
    assert client.wait_for_run_completion(func_run.run_id, timeout=300, sleep_duration=1).state == "SUCCEEDED"


def test_run_pipeline_from_a_version(client):
    pipeline = client.upload_pipeline(ADD, pipeline_name="pytest-add-version")
    experiment = client.create_experiment("pytest-versions")
    versions = client.list_pipeline_versions(pipeline.pipeline_id).pipeline_versions
    run = client.run_pipeline(experiment.experiment_id, "from-version", params={"a": 1, "b": 1},
                              pipeline_id=pipeline.pipeline_id, version_id=versions[0].pipeline_version_id)
    assert client.wait_for_run_completion(run.run_id, timeout=300, sleep_duration=1).state == "SUCCEEDED"
    assert run.experiment_id == experiment.experiment_id


def test_list_runs_filter_sort_and_paging(client):
    experiment = client.create_experiment("pytest-paging")
    ids = []
    for i in range(5):
        run = client.create_run_from_pipeline_package(ADD, arguments={"a": i, "b": 1}, run_name=f"page-{i}", experiment_id=experiment.experiment_id)
        ids.append(run.run_id)
    seen, token = [], ""
    while True:
        page = client.list_runs(experiment_id=experiment.experiment_id, page_size=2, page_token=token, sort_by="display_name desc")
        seen += [r.display_name for r in page.runs]
        token = page.next_page_token
        if not token:
            break
    assert seen == [f"page-{i}" for i in reversed(range(5))]
    assert page.total_size == 5
    flt = json.dumps({"predicates": [{"operation": "EQUALS", "key": "display_name", "string_value": "page-3"}]})
    filtered = client.list_runs(experiment_id=experiment.experiment_id, filter=flt)
    assert [r.display_name for r in filtered.runs] == ["page-3"]
    flt = json.dumps({"predicates": [{"operation": 9, "key": "display_name", "stringValue": "page-"}]})
    assert client.list_runs(experiment_id=experiment.experiment_id, filter=flt, page_size=100).total_size == 5
    for run_id in ids:
        client.wait_for_run_completion(run_id, timeout=300, sleep_duration=1)


def test_terminate_archive_and_delete(client, tmp_path):
    @dsl.container_component
    def sleeper():
        return dsl.ContainerSpec(image="alpine", command=["sh", "-c", "sleep 600"])

    @dsl.pipeline(name="sleepy")
    def sleepy():
        sleeper()

    run = client.create_run_from_pipeline_func(sleepy, experiment_name="pytest-terminate")
    deadline = time.time() + 60
    while client.get_run(run.run_id).state not in ("RUNNING",) and time.time() < deadline:
        time.sleep(0.2)
    client.terminate_run(run.run_id)
    deadline = time.time() + 60
    while client.get_run(run.run_id).state != "CANCELED" and time.time() < deadline:
        time.sleep(0.2)
    assert client.get_run(run.run_id).state == "CANCELED"
    client.archive_run(run.run_id)
    assert client.get_run(run.run_id).storage_state == "ARCHIVED"
    client.unarchive_run(run.run_id)
    assert client.get_run(run.run_id).storage_state == "AVAILABLE"
    client.delete_run(run.run_id)
    with pytest.raises(ApiException) as missing:
        client.get_run(run.run_id)
    assert missing.value.status == 404


def test_retry_endpoint_reruns_only_the_failed_step(client, server, tmp_path):
    marker = tmp_path / "release"

    @dsl.container_component
    def gate(path: str):
        return dsl.ContainerSpec(image="alpine", command=["sh", "-c", 'echo ran >> "$0.log"; [ -e "$0" ]'], args=[path])

    @dsl.pipeline(name="gated")
    def gated(path: str):
        first = gate(path=f"{path}-first").set_caching_options(False)
        gate(path=path).after(first)

    (tmp_path / "release-first").write_text("")
    run = client.create_run_from_pipeline_func(gated, arguments={"path": str(marker)}, experiment_name="pytest-retry")
    assert client.wait_for_run_completion(run.run_id, timeout=300, sleep_duration=1).state == "FAILED"
    marker.write_text("")
    client.runs.run_service_retry_run(run.run_id)
    deadline = time.time() + 120
    while client.get_run(run.run_id).state != "SUCCEEDED" and time.time() < deadline:
        time.sleep(0.2)
    assert client.get_run(run.run_id).state == "SUCCEEDED"
    assert (tmp_path / "release-first.log").read_text().count("ran") == 1, "the first step was reused"
    assert (tmp_path / "release.log").read_text().count("ran") == 2


def test_recurring_runs(client):
    experiment = client.create_experiment("pytest-recurring")
    recurring = client.create_recurring_run(experiment.experiment_id, "every-second", interval_second=1,
                                            pipeline_package_path=ADD, params={"a": 1, "b": 2}, max_concurrency=1)
    assert recurring.status == "ENABLED"
    deadline = time.time() + 60
    runs = []
    while time.time() < deadline:
        runs = client.list_runs(experiment_id=experiment.experiment_id, page_size=100).runs or []
        if any(r.recurring_run_id == recurring.recurring_run_id for r in runs):
            break
        time.sleep(0.5)
    assert any(r.recurring_run_id == recurring.recurring_run_id for r in runs)
    client.disable_recurring_run(recurring.recurring_run_id)
    assert client.get_recurring_run(recurring.recurring_run_id).status == "DISABLED"
    client.enable_recurring_run(recurring.recurring_run_id)
    assert client.get_recurring_run(recurring.recurring_run_id).status == "ENABLED"
    listed = client.list_recurring_runs(experiment_id=experiment.experiment_id)
    assert [r.recurring_run_id for r in listed.recurring_runs] == [recurring.recurring_run_id]
    cron = client.create_recurring_run(experiment.experiment_id, "nightly", cron_expression="0 0 0 * * *",
                                       pipeline_package_path=ADD, params={"a": 1, "b": 2}, enabled=False)
    assert cron.trigger.cron_schedule.cron == "0 0 0 * * *"
    for r in (recurring, cron):
        client.delete_recurring_run(r.recurring_run_id)
    with pytest.raises(ApiException):
        client.get_recurring_run(recurring.recurring_run_id)
