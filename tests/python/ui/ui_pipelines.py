"""Small pipelines for the browser tests, compiled with the real kfp SDK. Their steps are
container components that run `python3 -c`, so they need no Python environment of their own."""
import pathlib

from kfp import compiler, dsl

ECHO_SOURCE = """
import json, sys
text, count, ratio, flag, items = sys.argv[1:6]
for i in range(int(count)):
    print(f"line {i}: text={text} ratio={float(ratio)} flag={flag} items={json.loads(items)}")
"""


@dsl.container_component
def echo(text: str, count: int, ratio: float, flag: bool, items: list):
    return dsl.ContainerSpec(image="python:3.11", command=["python3", "-c", ECHO_SOURCE],
                             args=[text, count, ratio, flag, items])


@dsl.pipeline(name="ui-typed-params")
def typed_params(text: str = "hello", count: int = 2, ratio: float = 0.5, flag: bool = False,
                 items: list = [1, 2]):
    first = echo(text=text, count=count, ratio=ratio, flag=flag, items=items).set_caching_options(False)
    echo(text="after", count=1, ratio=ratio, flag=flag, items=items).after(first).set_caching_options(False)


FLAKY_SOURCE = """
import os, sys
marker = sys.argv[1]
if not os.path.exists(marker):
    open(marker, "w").close()
    print("first attempt: failing on purpose")
    sys.exit(3)
print("second attempt: the marker exists, succeeding")
"""


@dsl.container_component
def flaky(marker: str):
    return dsl.ContainerSpec(image="python:3.11", command=["python3", "-c", FLAKY_SOURCE], args=[marker])


@dsl.container_component
def after_flaky():
    return dsl.ContainerSpec(image="python:3.11", command=["python3", "-c", "print('downstream ran')"])


@dsl.pipeline(name="ui-flaky")
def flaky_pipeline(marker: str):
    after_flaky().after(flaky(marker=marker).set_caching_options(False)).set_caching_options(False)


HTML_SOURCE = """
import sys
html_path, markdown_path = sys.argv[1:3]
with open(html_path, "w") as f:
    f.write('<h1 id="inside">Report</h1><script>window.parent.__xss = "html"; parent.document.title = "pwned";</script>')
with open(markdown_path, "w") as f:
    f.write('# Notes\\n\\n*emphasis* <script>window.__xss = "markdown"</script> <img src=x onerror="window.__xss=1">')
"""


@dsl.container_component
def report(page: dsl.Output[dsl.HTML], notes: dsl.Output[dsl.Markdown]):
    return dsl.ContainerSpec(image="python:3.11", command=["python3", "-c", HTML_SOURCE],
                             args=[page.path, notes.path])


@dsl.pipeline(name="ui-report")
def report_pipeline():
    report().set_caching_options(False)


def compile_all(folder: pathlib.Path) -> dict:
    paths = {}
    for name, pipeline in [("typed", typed_params), ("flaky", flaky_pipeline), ("report", report_pipeline)]:
        path = folder / f"{name}.yaml"
        compiler.Compiler().compile(pipeline, str(path))
        paths[name] = path
    return paths
