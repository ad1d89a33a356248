"""The UI in a real browser: upload a pipeline, start a typed run, watch it live, read a task's
log, retry a failed run, and check that user text never runs as script."""
import json
import pathlib
import tempfile
import time
import urllib.request

import pytest

import ui_pipelines


@pytest.fixture(scope="module")
def compiled():
    return ui_pipelines.compile_all(pathlib.Path(tempfile.mkdtemp(prefix="weir-ui-pipelines-")))


def api(server, path, body=None):
    request = urllib.request.Request(
        server.host + "/apis/v2beta1" + path,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="GET" if body is None else "POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def start_run(server, yaml_path, name, parameters=None):
    import yaml

    spec = yaml.safe_load(pathlib.Path(yaml_path).read_text())
    body = {"display_name": name, "pipeline_spec": spec, "runtime_config": {"parameters": parameters or {}}}
    return api(server, "/runs", body)["run_id"]


def wait_for_state(browser, states, timeout=120):
    """Waits on the run page, without reloading it, until the state badge shows one of `states`."""
    return browser.wait_for(lambda: browser.text("#run-state") in states and browser.text("#run-state"),
                            timeout=timeout, message=f"run state in {states}")


def test_upload_a_pipeline_and_run_it_with_typed_parameters(browser, compiled):
    browser.get("/pipelines")
    browser.css("#upload-pipeline").click()
    browser.css("#uploadfile").send_keys(str(compiled["typed"]))
    browser.css("#name").send_keys("typed-params-ui")
    browser.shot("upload-form")
    browser.css("#upload-submit").click()
    browser.wait_for(lambda: browser.text("#pipeline-name") == "typed-params-ui", message="pipeline page")
    assert len(browser.all("#graph .node")) == 2
    assert "pipelineInfo" in browser.driver.execute_script("return document.getElementById('yaml').textContent")
    browser.shot("pipeline-detail")
    browser.assert_no_console_errors()

    browser.css("#create-run").click()
    browser.wait_for(lambda: browser.css("#create-run-form"), message="the create-run form")
    # Defaults are filled in from the pipeline's typed inputs.
    assert browser.css("#p-count").get_attribute("value") == "2"
    assert browser.css("#p-count").get_attribute("type") == "number"
    assert json.loads(browser.css("#p-items").get_attribute("value")) == [1, 2]
    assert browser.css("#use-cache").is_selected()
    browser.css("#name").clear()
    browser.css("#name").send_keys("typed run")
    browser.css("#p-text").clear()
    browser.css("#p-text").send_keys("from the form")
    browser.css("#p-count").clear()
    browser.css("#p-count").send_keys("3")
    browser.css("#p-ratio").clear()
    browser.css("#p-ratio").send_keys("0.25")
    browser.css("#p-flag option[value=true]").click()
    browser.css("#p-items").clear()
    browser.css("#p-items").send_keys('[{"a": 1}, "b"]')
    browser.shot("create-run-form")
    browser.css("#start-run").click()

    wait_for_state(browser, {"SUCCEEDED"}, timeout=120)
    browser.wait_for(lambda: len(browser.all("#graph .node.st-succeeded")) == 2, message="both nodes green")
    browser.shot("run-succeeded")
    browser.assert_no_console_errors()

    echo = [n for n in browser.all("#graph a.node") if n.find_element("css selector", ".label").text == "echo"][0]
    echo.click()
    browser.wait_for(lambda: "line 2: text=from the form ratio=0.25 flag=true items=[{'a': 1}, 'b']" in browser.text("#log"),
                     message="the task's log in the panel")
    assert "count" in browser.text("#input-parameters")
    assert "SUCCEEDED" in browser.text("#task-history")
    browser.shot("task-panel-log")
    log_url = browser.css("#full-log").get_attribute("href")
    with urllib.request.urlopen(log_url, timeout=10) as response:
        assert "line 0: text=from the form" in response.read().decode()
    browser.assert_no_console_errors()


def test_a_running_run_updates_without_reloading(browser, server, compiled):
    marker = tempfile.mktemp(prefix="weir-ui-never-")
    run_id = start_run(server, compiled["flaky"], "live run", {"marker": marker})
    browser.get(f"/runs/{run_id}")
    browser.driver.execute_script("window.__sameDocument = true")
    wait_for_state(browser, {"FAILED"}, timeout=60)
    assert browser.driver.execute_script("return window.__sameDocument") is True
    browser.wait_for(lambda: browser.all("#steps li .badge.st-failed"), message="the failed step listed first")
    assert browser.all("#steps li")[0].find_element("css selector", ".badge").text == "FAILED"
    browser.shot("run-failed")
    browser.assert_no_console_errors()


def test_retry_a_failed_run_from_its_failed_step(browser, server, compiled):
    marker = tempfile.mktemp(prefix="weir-ui-marker-")
    run_id = start_run(server, compiled["flaky"], "flaky run", {"marker": marker})
    browser.get(f"/runs/{run_id}")
    wait_for_state(browser, {"FAILED"}, timeout=60)
    browser.css("#retry").click()
    wait_for_state(browser, {"SUCCEEDED"}, timeout=60)
    flaky = [n for n in browser.all("#graph a.node") if n.find_element("css selector", ".label").text == "flaky"][0]
    flaky.click()
    browser.wait_for(lambda: "second attempt" in browser.text("#log"), message="the retried step's log")
    browser.shot("run-retried")
    browser.assert_no_console_errors()


def test_script_in_a_run_name_or_artifact_does_not_run(browser, server, compiled):
    name = '<script>window.__xss="name"</script><img src=x onerror="window.__xss=\'img\'">'
    run_id = start_run(server, compiled["report"], name)
    browser.get(f"/runs/{run_id}")
    wait_for_state(browser, {"SUCCEEDED"}, timeout=60)
    assert browser.text("#run-name") == name
    report = browser.all("#graph a.node")[0]
    report.click()
    browser.wait_for(lambda: browser.all("iframe.html-artifact"), message="the HTML artifact frame")
    frame = browser.css("iframe.html-artifact")
    assert frame.get_attribute("sandbox") == ""
    browser.wait_for(lambda: browser.all(".markdown h1"), message="the rendered Markdown")
    assert browser.text(".markdown h1") == "Notes"
    time.sleep(0.5)
    assert browser.driver.execute_script("return window.__xss === undefined")
    assert browser.driver.title != "pwned"
    browser.driver.switch_to.frame(frame)
    assert browser.css("#inside").text == "Report"
    browser.driver.switch_to.default_content()
    browser.shot("xss-run")
    browser.get("/runs")
    assert name in browser.text("#runs-table")
    assert browser.driver.execute_script("return window.__xss === undefined")
    # The sandboxed frame's blocked script is reported; nothing else may be.
    browser.assert_no_console_errors(allowed=["Blocked script execution in 'about:srcdoc'"])
