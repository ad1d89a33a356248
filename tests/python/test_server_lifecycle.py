"""The server's own life: restart and resume, graceful shutdown, auth, packages, export, and
deleting what a run leaves behind. Each test runs its own server on its own data dir."""
import http.server
import io
import pathlib
import signal
import subprocess
import tarfile
import tempfile
import threading
import time
import urllib.request
import zipfile

import kfp
import pytest
import yaml
from kfp import dsl
from kfp_server_api.exceptions import ApiException

from conftest import CONFORMANCE, REPO, WEIR, Server

ADD = CONFORMANCE / "critical" / "add_numbers.yaml"
RESUME = REPO / "crates" / "weir-cli" / "tests" / "fixtures" / "resume.yaml"


def fresh_server(**kwargs) -> Server:
    data = pathlib.Path(tempfile.mkdtemp(prefix="weir-pytest-own-"))
    shared_envs = REPO / "target" / "weir-tests" / "pyenvs"
    shared_envs.mkdir(parents=True, exist_ok=True)
    (data / "pyenvs").symlink_to(shared_envs)
    return Server(data)


def wait_until(what, condition, timeout=120):
    deadline = time.time() + timeout
    while not condition():
        if time.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def lines(path: pathlib.Path) -> int:
    return len(path.read_text().splitlines()) if path.exists() else 0


def test_a_killed_server_resumes_its_runs_without_redoing_finished_steps(tmp_path):
    server = fresh_server()
    server.start()
    client = kfp.Client(host=server.host)
    run = client.create_run_from_pipeline_package(str(RESUME), arguments={"dir": str(tmp_path)}, run_name="resume-me")
    wait_until("the second step to start", lambda: lines(tmp_path / "second.log") == 1)
    server.stop(signal.SIGKILL)
    server.start()
    (tmp_path / "release").write_text("")
    client = kfp.Client(host=server.host)
    result = client.wait_for_run_completion(run.run_id, timeout=120, sleep_duration=1)
    server.stop()
    assert result.state == "SUCCEEDED"
    assert lines(tmp_path / "first.log") == 1, "the finished step did not run again"
    assert lines(tmp_path / "second.log") == 2, "the interrupted step ran again"
    assert lines(tmp_path / "third.log") == 1


def test_sigterm_lets_running_steps_finish_and_the_run_resumes(tmp_path):
    server = fresh_server()
    server.start()
    client = kfp.Client(host=server.host)
    run = client.create_run_from_pipeline_package(str(RESUME), arguments={"dir": str(tmp_path)})
    wait_until("the second step to start", lambda: lines(tmp_path / "second.log") == 1)
    threading.Timer(1.0, lambda: (tmp_path / "release").write_text("")).start()
    server.stop(signal.SIGTERM)
    assert server.process.returncode == 0
    assert lines(tmp_path / "third.log") == 0, "nothing new started during the shutdown"
    server.start()
    result = kfp.Client(host=server.host).wait_for_run_completion(run.run_id, timeout=120, sleep_duration=1)
    server.stop()
    assert result.state == "SUCCEEDED"
    assert lines(tmp_path / "second.log") == 1, "the step that finished during shutdown was kept"
    assert lines(tmp_path / "third.log") == 1


def test_a_token_is_required_beyond_loopback_and_checked_when_set():
    data = pathlib.Path(tempfile.mkdtemp(prefix="weir-pytest-auth-"))
    refused = subprocess.run([WEIR, "--data-dir", str(data), "server", "--host", "0.0.0.0", "--port", "1"], capture_output=True, text=True, timeout=30)
    assert refused.returncode == 2
    assert "--auth-token" in refused.stderr
    server = fresh_server()
    server.process = None
    token = "s3cret-token"
    server.process = subprocess.Popen([WEIR, "--data-dir", str(server.data_dir), "server", "--port", str(server.port), "--auth-token", token],
                                      stdout=server.log, stderr=subprocess.STDOUT)
    wait_until("the server", lambda: _answers(f"{server.host}/apis/v2beta1/experiments", token) == 200, timeout=30)
    assert _answers(f"{server.host}/apis/v2beta1/experiments", None) == 401
    assert _answers(f"{server.host}/apis/v2beta1/experiments", "wrong") == 401
    client = kfp.Client(host=server.host, existing_token=token)
    assert client.create_experiment("with-token").display_name == "with-token"
    server.stop()


def _answers(url, token):
    request = urllib.request.Request(url)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=2) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return None


def test_packages_by_upload_and_url_and_export(client, server, tmp_path):
    text = ADD.read_bytes()
    archive = tmp_path / "add.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("pipeline.yaml", text)
    tarball = tmp_path / "add.tar.gz"
    with tarfile.open(tarball, "w:gz") as t:
        info = tarfile.TarInfo("pipeline.yaml")
        info.size = len(text)
        t.addfile(info, io.BytesIO(text))
    pipeline = client.upload_pipeline(str(archive), pipeline_name="packaged")
    version = client.upload_pipeline_version(str(tarball), pipeline_version_name="from-tarball", pipeline_id=pipeline.pipeline_id)
    assert client.get_pipeline_version(pipeline.pipeline_id, version.pipeline_version_id).pipeline_spec["pipelineInfo"]["name"] == "add-numbers"
    # By URL: file:// and http://, through the raw API as the SDK has no helper for it.
    from kfp_server_api.models import V2beta1PipelineVersion, V2beta1Url
    by_file = client._pipelines_api.pipeline_service_create_pipeline_version(
        pipeline.pipeline_id, V2beta1PipelineVersion(display_name="by-file", package_url=V2beta1Url(pipeline_url=f"file://{ADD}")))
    assert by_file.display_name == "by-file"
    handler = lambda *a, **k: http.server.SimpleHTTPRequestHandler(*a, directory=str(ADD.parent), **k)
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{httpd.server_address[1]}/{ADD.name}"
        by_http = client._pipelines_api.pipeline_service_create_pipeline_version(
            pipeline.pipeline_id, V2beta1PipelineVersion(display_name="by-http", package_url=V2beta1Url(pipeline_url=url)))
        assert by_http.display_name == "by-http"
        with pytest.raises(ApiException) as missing:
            client._pipelines_api.pipeline_service_create_pipeline_version(
                pipeline.pipeline_id, V2beta1PipelineVersion(display_name="missing", package_url=V2beta1Url(pipeline_url=url + ".nope")))
        assert missing.value.status == 400
    finally:
        httpd.shutdown()
    exported = urllib.request.urlopen(f"{server.host}/apis/v2beta1/pipelines/{pipeline.pipeline_id}/versions/{by_http.pipeline_version_id}/yaml").read()
    assert yaml.safe_load(exported) == yaml.safe_load(text), "a version downloads as the YAML it was made from"
    with pytest.raises(ApiException):
        client.delete_pipeline(pipeline.pipeline_id)
    raw = urllib.request.Request(f"{server.host}/apis/v2beta1/pipelines/{pipeline.pipeline_id}?cascade=true", method="DELETE")
    assert urllib.request.urlopen(raw).status == 200
    assert client.get_pipeline_id("packaged") is None


def test_deleting_a_run_removes_its_files(client, server):
    # Without the cache: a cached step writes no log, and earlier tests may have run the same step.
    run = client.create_run_from_pipeline_package(str(ADD), arguments={"a": 1, "b": 2}, run_name="to-delete",
                                                  enable_caching=False)
    assert client.wait_for_run_completion(run.run_id, timeout=300, sleep_duration=1).state == "SUCCEEDED"
    logs = server.data_dir / "logs" / run.run_id
    artifacts = server.data_dir / "artifacts" / "add-numbers" / run.run_id
    assert logs.is_dir() and any(logs.iterdir())
    assert artifacts.is_dir()
    client.delete_run(run.run_id)
    assert not logs.exists()
    assert not artifacts.exists()
