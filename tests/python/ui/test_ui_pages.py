"""The UI in a real browser: the digits demo's confusion matrix and ROC curve, comparing runs,
the runs table's filters and metric columns, experiments, recurring runs, a narrow screen, and
signing in with a token."""
import pathlib
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

from test_ui_runs import api, compiled, start_run, wait_for_state  # noqa: F401 (a fixture)

REPO = pathlib.Path(__file__).resolve().parents[3]
DIGITS = REPO / "examples" / "digits" / "digits.yaml"


@pytest.fixture(scope="module")
def digits_runs(server):
    """Two runs of the digits demo with different seeds. The first installs scikit-learn into
    the shared environment cache (about 30 s, once)."""
    return [start_run(server, DIGITS, f"digits seed {seed}", {"seed": seed}) for seed in (42, 7)]


def test_digits_confusion_matrix_and_roc_curve(browser, digits_runs):
    browser.get(f"/runs/{digits_runs[0]}")
    wait_for_state(browser, {"SUCCEEDED", "FAILED"}, timeout=900)
    assert browser.text("#run-state") == "SUCCEEDED"
    browser.shot("digits-run")
    train = [n for n in browser.all("#graph a.node") if n.find_element("css selector", ".label").text == "train and evaluate"]
    assert len(train) == 4, "one per config of the ParallelFor"
    train[0].click()
    browser.wait_for(lambda: browser.all("#panel svg.confusion-matrix"), message="the confusion matrix")
    matrix = browser.css("#panel svg.confusion-matrix")
    assert len(matrix.find_elements("css selector", "rect")) == 100, "10 x 10 digits"
    assert browser.all("#panel svg.roc-curve polyline")
    assert browser.all("#panel table.metrics-table"), "the Metrics artifact as a table"
    assert "accuracy" in browser.text("#panel table.metrics-table")
    browser.shot("digits-task-panel")
    link = [a for a in browser.all("#panel a") if a.text == "classification"][0]
    link.click()
    browser.wait_for(lambda: browser.all("svg.roc-curve"), message="the artifact page")
    assert browser.all("svg.confusion-matrix")
    browser.shot("digits-classification-artifact")
    browser.assert_no_console_errors()


def test_dataset_preview_shows_the_first_rows(browser, server, digits_runs):
    tasks = api(server, f"/runs/{digits_runs[0]}")["run_details"]["task_details"]
    artifacts = [a for t in tasks for a in t.get("outputs", {}).get("raw", {}).get("artifact_ids", [])]
    assert artifacts, "load-data recorded its dataset"
    browser.get(f"/artifacts/{artifacts[0]}")
    header = browser.text("table.dataset-preview thead")
    assert "pixel_0" in header
    assert len(browser.all("table.dataset-preview tbody tr")) == 20
    browser.shot("dataset-preview")
    browser.assert_no_console_errors()


def test_compare_two_runs(browser, digits_runs):
    browser.get(f"/runs/{digits_runs[1]}")
    wait_for_state(browser, {"SUCCEEDED", "FAILED"}, timeout=600)
    browser.get("/runs?name=digits&metrics=accuracy,f1_macro")
    rows = browser.all("#runs-table tbody tr")
    assert len(rows) == 2
    assert all(r.find_elements("css selector", "td.num")[0].text.startswith("0.9") for r in rows), "accuracy column"
    browser.shot("runs-metric-columns")
    for box in browser.all('#runs-table input[name="run"]'):
        box.click()
    browser.css('button[value="compare"]').click()
    browser.wait_for(lambda: browser.all("#compare-parameters"), message="the compare page")
    assert "seed" in browser.text("#compare-parameters")
    assert "threshold" in browser.text("#compare-parameters")
    assert "accuracy" in browser.text("#compare-metrics")
    assert len(browser.all("#compare-roc polyline")) == 8, "4 curves per run, overlaid"
    assert len(browser.all("#compare-matrices svg.confusion-matrix")) == 8
    browser.shot("compare")
    browser.css("#differences-only").click()
    browser.wait_for(lambda: "threshold" not in browser.text("#compare-parameters"), message="differences only")
    assert "seed" in browser.text("#compare-parameters")
    browser.shot("compare-differences-only")
    browser.assert_no_console_errors()


def test_runs_table_filters_sorts_and_archives(browser, server, digits_runs):
    browser.get("/runs?where=" + urllib.parse.quote("accuracy>=0.5, seed=7"))
    names = [a.text for a in browser.all("#runs-table a.run-link")]
    assert names == ["digits seed 7"]
    browser.get("/runs?where=" + urllib.parse.quote("metric.accuracy>2"))
    assert not browser.all("#runs-table a.run-link")
    browser.get("/runs?sort=display_name&order=asc&name=digits")
    assert [a.text for a in browser.all("#runs-table a.run-link")] == ["digits seed 42", "digits seed 7"]
    browser.get("/runs?name=digits+seed+7")
    browser.css('#runs-table input[name="run"]').click()
    browser.css('button[value="archive"]').click()
    browser.wait_for(lambda: not browser.all("#runs-table a.run-link"), message="the run leaves the active list")
    browser.css("#archived-tab").click()
    assert "digits seed 7" in browser.text("#runs-table")
    browser.shot("runs-archived")
    browser.get(f"/runs/{digits_runs[1]}")
    browser.css("#unarchive").click()
    browser.wait_for(lambda: browser.all("#archive"), message="the run restored")
    browser.assert_no_console_errors()


def test_experiments_create_archive_delete(browser):
    browser.get("/experiments")
    form = browser.css("#create-experiment")
    form.find_element("css selector", 'input[name="name"]').send_keys("ui experiment <i>")
    form.find_element("css selector", "button").click()
    browser.wait_for(lambda: "/runs?experiment=" in browser.driver.current_url, message="the experiment's runs")
    browser.get("/experiments")
    assert "ui experiment <i>" in browser.text("#experiments-table")
    browser.shot("experiments")
    row = [r for r in browser.all("#experiments-table tbody tr") if "ui experiment" in r.text][0]
    browser.driver.execute_script("window.confirm = () => true")
    row.find_element("css selector", 'form[action$="/do/archive"] button').click()
    browser.wait_for(lambda: "ui experiment" not in browser.text("#experiments-table"), message="archived")
    browser.get("/experiments?view=archived")
    row = [r for r in browser.all("#experiments-table tbody tr") if "ui experiment" in r.text][0]
    browser.driver.execute_script("window.confirm = () => true")
    row.find_element("css selector", 'form[action$="/do/delete"] button').click()
    browser.wait_for(lambda: "ui experiment" not in browser.text("#experiments-table"), message="deleted")
    browser.assert_no_console_errors()


def test_recurring_run_create_edit_in_place_disable(browser, server, compiled):
    browser.get("/pipelines/upload")
    browser.css("#uploadfile").send_keys(str(compiled["typed"]))
    browser.css("#name").send_keys("typed-params-recurring")
    browser.css("#upload-submit").click()
    browser.wait_for(lambda: browser.text("#pipeline-name") == "typed-params-recurring", message="pipeline page")
    [a for a in browser.all("a.button") if a.text == "Create recurring run"][0].click()
    browser.css("#name").clear()
    browser.css("#name").send_keys("hourly typed")
    browser.css("#interval").clear()
    browser.css("#interval").send_keys("3600")
    browser.css("#p-count").clear()
    browser.css("#p-count").send_keys("4")
    browser.shot("recurring-form")
    browser.css("#save-recurring").click()
    browser.wait_for(lambda: "hourly typed" in browser.text("#recurring-table"), message="the recurring run listed")
    recurring = [r for r in api(server, "/recurringruns")["recurringRuns"] if r["display_name"] == "hourly typed"][0]
    browser.get(f"/recurring/{recurring['recurring_run_id']}")
    assert browser.css("#p-count").get_attribute("value") == "4"
    browser.css("#name").clear()
    browser.css("#name").send_keys("hourly typed, renamed")
    browser.css("#save-recurring").click()
    browser.wait_for(lambda: "hourly typed, renamed" in browser.text("#recurring-table"), message="renamed in place")
    updated = api(server, f"/recurringruns/{recurring['recurring_run_id']}")
    assert updated["display_name"] == "hourly typed, renamed"
    row = [r for r in browser.all("#recurring-table tbody tr") if "renamed" in r.text][0]
    row.find_element("css selector", 'form[action$="/do/disable"] button').click()
    browser.wait_for(lambda: "DISABLED" in browser.text("#recurring-table"), message="disabled")
    assert api(server, f"/recurringruns/{recurring['recurring_run_id']}")["status"] == "DISABLED"
    browser.shot("recurring-runs")
    browser.assert_no_console_errors()


def _every_page(browser, server, digits_runs):
    """(name, path) of one page of every kind, found from the pages themselves."""
    run = digits_runs[0]
    wait_for_run(server, run)
    browser.get(f"/runs/{run}")
    task_links = [a.get_attribute("href") for a in browser.all("#graph a.node")]
    assert task_links, "the run page links its tasks"
    artifact = None
    for href in task_links:
        browser.driver.get(href)
        links = [a.get_attribute("href") for a in browser.all('#panel a[href*="/artifacts/"]')
                 if not a.get_attribute("href").endswith("/raw")]
        if links:
            artifact, task = links[0], href
            break
    assert artifact, "some task has an artifact"
    pipelines = api(server, "/pipelines").get("pipelines") or []
    assert pipelines, "an earlier test uploaded a pipeline"
    recurring = api(server, "/recurringruns").get("recurringRuns") or []
    assert recurring, "an earlier test created a recurring run"
    path = lambda url: url.split("://", 1)[1].split("/", 1)[1]  # noqa: E731
    return [
        ("runs", "/runs"),
        ("runs-archived", "/runs?view=archived"),
        ("run", f"/runs/{run}"),
        ("run-task", "/" + path(task)),
        ("artifact", "/" + path(artifact)),
        ("compare", f"/compare?run={digits_runs[0]}&run={digits_runs[1]}"),
        ("create-run", f"/runs/new?clone={run}"),
        ("pipelines", "/pipelines"),
        ("pipeline", f"/pipelines/{pipelines[0]['pipeline_id']}"),
        ("upload", "/pipelines/upload"),
        ("experiments", "/experiments"),
        ("recurring", "/recurring"),
        ("recurring-edit", f"/recurring/{recurring[0]['recurring_run_id']}"),
    ]


def wait_for_run(server, run_id, timeout=300):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if api(server, f"/runs/{run_id}")["state"] in ("SUCCEEDED", "FAILED", "CANCELED"):
            return
        time.sleep(0.5)
    raise AssertionError(f"run {run_id} did not finish in {timeout} s")


def test_every_page_fits_a_narrow_screen(browser, server, digits_runs):
    pages = _every_page(browser, server, digits_runs)
    browser.resize(390, 844)
    try:
        for name, path in pages:
            browser.get(path)
            assert browser.fits_width(), f"{path} scrolls sideways at 390 px"
            browser.shot(f"narrow-{name}")
        browser.assert_no_console_errors()
    finally:
        browser.resize(1280, 800)


def test_tags_are_set_shown_filtered_on_and_cloned(browser, server, digits_runs):
    run = digits_runs[0]
    browser.get(f"/runs/{run}")
    browser.css("#run-tags summary").click()
    field = browser.css('#tags-form input[name="tags"]')
    field.clear()
    field.send_keys("baseline, sweep:seed team=vision")
    browser.css("#tags-form button").click()
    browser.wait_for(lambda: [a.text for a in browser.all("#run-tags a.tag")] == ["baseline", "sweep:seed",
                                                                                    "team=vision"],
                     message="the tags shown on the run")
    browser.shot("run-tags")
    browser.all("#run-tags a.tag")[0].click()
    browser.wait_for(lambda: "tag=baseline" in browser.driver.current_url, message="the tag's runs")
    assert [a.text for a in browser.all("#runs-table a.run-link")] == ["digits seed 42"]
    assert "baseline" in browser.text("#runs-table a.tag")
    browser.get("/runs?tag=" + urllib.parse.quote("team=vision"))
    assert [a.text for a in browser.all("#runs-table a.run-link")] == ["digits seed 42"]
    browser.get("/runs?tag=nobody-has-this")
    assert not browser.all("#runs-table a.run-link")
    # A clone starts with the run's tags.
    browser.get(f"/runs/new?clone={run}")
    assert browser.css("#tags").get_attribute("value") == "baseline, sweep:seed, team=vision"
    # Text that is not a tag is refused with the reason, and the tags stay as they were.
    browser.get(f"/runs/{run}")
    browser.css("#run-tags summary").click()
    field = browser.css('#tags-form input[name="tags"]')
    field.clear()
    field.send_keys("<script>alert(1)</script>")
    browser.css("#tags-form button").click()
    browser.wait_for(lambda: "is not valid" in browser.driver.page_source, message="the refusal")
    browser.get(f"/runs/{run}")
    assert len(browser.all("#run-tags a.tag")) == 3
    browser.assert_no_console_errors(allowed=["400 (Bad Request)"])


def test_runs_of_a_recurring_run_are_listed_from_it(browser, server, compiled):
    import yaml

    spec = yaml.safe_load(pathlib.Path(compiled["typed"]).read_text())
    experiment = api(server, "/experiments", {"display_name": "recurring-filter"})["experiment_id"]
    body = {
        "display_name": "every second", "mode": "ENABLE", "max_concurrency": "1", "no_catchup": True,
        "experiment_id": experiment, "pipeline_spec": spec,
        "trigger": {"periodic_schedule": {"interval_second": "1"}},
    }
    recurring = api(server, "/recurringruns", body)["recurring_run_id"]
    try:
        browser.get("/recurring")
        row = [r for r in browser.all("#recurring-table tbody tr") if "every second" in r.text][0]
        row.find_element("css selector", "a.recurring-runs").click()
        browser.wait_for(lambda: browser.all("#recurring-filter"), message="the filtered list")
        browser.wait_for(lambda: (browser.driver.refresh() or True) and browser.all("#runs-table a.run-link"),
                         timeout=60, message="a run started by the schedule")
        names = [a.text for a in browser.all("#runs-table a.run-link")]
        assert names and all(n.startswith("every second") for n in names), names
        browser.shot("runs-of-recurring")
        browser.assert_no_console_errors()
    finally:
        request = urllib.request.Request(f"{server.host}/apis/v2beta1/recurringruns/{recurring}", method="DELETE")
        urllib.request.urlopen(request, timeout=30).close()


def test_a_token_is_asked_once_and_kept_in_a_cookie(browser, server):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    data = pathlib.Path(tempfile.mkdtemp(prefix="weir-ui-auth-"))
    log = open(data / "server.log", "w")
    process = subprocess.Popen([server.process.args[0], "--data-dir", str(data), "server", "--port", str(port),
                                "--auth-token", "s3cret-token"], stdout=log, stderr=subprocess.STDOUT)
    host = f"http://127.0.0.1:{port}"
    try:
        browser.wait_for(lambda: _answers(host), timeout=30, message="the token server")
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(host + "/apis/v2beta1/runs", timeout=5)
        assert refused.value.code == 401
        browser.driver.get(host + "/experiments")
        browser.wait_for(lambda: browser.all("#token"), message="the sign-in form")
        browser.shot("login")
        browser.css("#token").send_keys("wrong")
        browser.css("#token").submit()
        browser.wait_for(lambda: "not this server" in browser.driver.page_source, message="a refusal")
        browser.css("#token").send_keys("s3cret-token")
        browser.css("#token").submit()
        browser.wait_for(lambda: browser.all("#create-experiment"), message="the page asked for")
        browser.driver.get(host + "/runs")
        assert browser.all("#runs-table"), "the cookie is kept"
        browser.assert_no_console_errors(allowed=["401 (Unauthorized)"])
    finally:
        browser.driver.delete_all_cookies()
        process.terminate()
        process.wait(timeout=30)


def _answers(host):
    try:
        urllib.request.urlopen(host + "/login", timeout=2).close()
        return True
    except OSError:
        return False
