"""The pipeline shapes of the benchmark suite, written the way users write them with `kfp`.

`python shapes.py OUT_DIR` compiles every shape the suite runs into OUT_DIR (sizes from the
environment, see `main`). kfp.local runs the same functions (`chain_py`).
"""

import copy
import os
import sys
from typing import List

import yaml
from kfp import compiler, dsl


@dsl.component(base_image="python:3.11")
def add_one(x: int) -> int:
    return x + 1


@dsl.container_component
def true_step(i: int):
    # `true` ignores its argument; the argument makes every step's cache fingerprint distinct.
    return dsl.ContainerSpec(image="busybox", command=["true"], args=[i])


@dsl.container_component
def sleep_square(item: int, square: dsl.OutputPath(int)):
    return dsl.ContainerSpec(
        image="busybox",
        command=["sh", "-c", 'sleep 0.2 && echo "$(($0 * $0))" > "$1"'],
        args=[item, square],
    )


@dsl.component(base_image="python:3.11")
def total(squares: List[int]) -> int:
    # Fails unless the collected values arrive as integers, as declared.
    if not all(isinstance(s, int) and not isinstance(s, bool) for s in squares):
        raise TypeError(f"collected values lost their type: {squares[:3]!r}")
    return sum(squares)


@dsl.container_component
def write_artifact(size_mb: int, data: dsl.Output[dsl.Artifact]):
    return dsl.ContainerSpec(
        image="busybox",
        command=["sh", "-c", 'head -c "$(($0 * 1048576))" /dev/zero > "$1"'],
        args=[size_mb, data.path],
    )


@dsl.container_component
def read_artifact(data: dsl.Input[dsl.Artifact]):
    # Reads every byte; the step's stdout goes to its log, so not there.
    return dsl.ContainerSpec(image="busybox", command=["sh", "-c", 'cat "$0" > /dev/null'],
                             args=[data.path])


def chain_py(n: int):
    @dsl.pipeline(name=f"chain-py-{n}")
    def pipeline(start: int = 0) -> int:
        task = add_one(x=start)
        for _ in range(n - 1):
            task = add_one(x=task.output)
        return task.output

    return pipeline


def chain_true(n: int):
    @dsl.pipeline(name=f"chain-true-{n}")
    def pipeline():
        previous = true_step(i=0)
        for i in range(1, n):
            previous = true_step(i=i).after(previous)

    return pipeline


def three_steps():
    @dsl.pipeline(name="three-steps")
    def pipeline():
        first = true_step(i=1).set_caching_options(False)
        second = true_step(i=2).set_caching_options(False).after(first)
        true_step(i=3).set_caching_options(False).after(second)

    return pipeline


def fan_out(n: int, parallelism: int):
    @dsl.pipeline(name=f"fan-out-{n}-p{parallelism}")
    def pipeline(items: List[int] = list(range(n))):
        with dsl.ParallelFor(items, parallelism=parallelism) as item:
            step = sleep_square(item=item)
        total(squares=dsl.Collected(step.outputs["square"]))

    return pipeline


def fan_out_true(n: int):
    @dsl.pipeline(name=f"fan-out-true-{n}")
    def pipeline(items: List[int] = list(range(n))):
        with dsl.ParallelFor(items) as item:
            true_step(i=item)

    return pipeline


def artifact_hand_over(size_mb: int):
    @dsl.pipeline(name=f"artifact-{size_mb}mb")
    def pipeline():
        written = write_artifact(size_mb=size_mb)
        read_artifact(data=written.outputs["data"])

    return pipeline


def extend_chain(small: dict, n: int) -> dict:
    """`chain_true(n)` from the compiled `chain_true(2)`, the way kfp names tasks and components.

    kfp's compiler takes time quadratic in the number of tasks (4 s at 1,000, minutes at 10,000),
    so the 10,000-task chain is this: each task `true-step-K` with its own `comp-true-step-K` and
    `exec-true-step-K`, depending on the one before, as kfp writes the 1,000-task chain.
    """
    spec = copy.deepcopy(small)
    tasks = spec["root"]["dag"]["tasks"]
    components, executors = spec["components"], spec["deploymentSpec"]["executors"]
    template_task = tasks["true-step-2"]
    template_component = components["comp-true-step-2"]
    template_executor = executors["exec-true-step-2"]
    for k in range(3, n + 1):
        name = f"true-step-{k}"
        task = copy.deepcopy(template_task)
        task["componentRef"]["name"] = f"comp-{name}"
        task["dependentTasks"] = [f"true-step-{k - 1}"]
        task["taskInfo"]["name"] = name
        task["inputs"]["parameters"]["i"]["runtimeValue"]["constant"] = k - 1
        tasks[name] = task
        component = copy.deepcopy(template_component)
        component["executorLabel"] = f"exec-{name}"
        components[f"comp-{name}"] = component
        executors[f"exec-{name}"] = copy.deepcopy(template_executor)
    spec["pipelineInfo"]["name"] = f"chain-true-{n}"
    return spec


def main() -> None:
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    sizes = lambda name, default: [int(s) for s in os.environ.get(name, default).split(",") if s]
    shapes = {}
    for n in sizes("BENCH_CHAIN_PY", "50"):
        shapes[f"chain-py-{n}"] = chain_py(n)
    shapes["three-steps"] = three_steps()
    for n in sizes("BENCH_CHAIN_TRUE", "1,50,1000"):
        shapes[f"chain-true-{n}"] = chain_true(n)
    for n in sizes("BENCH_FAN_OUT", "32,256"):
        for p in sizes("BENCH_PARALLELISM", "2,8"):
            shapes[f"fan-out-{n}-p{p}"] = fan_out(n, p)
    for n in sizes("BENCH_FAN_OUT_TRUE", "10000"):
        shapes[f"fan-out-true-{n}"] = fan_out_true(n)
    for mb in sizes("BENCH_ARTIFACT_MB", "50,200"):
        shapes[f"artifact-{mb}mb"] = artifact_hand_over(mb)
    for name, pipeline in shapes.items():
        path = os.path.join(out, f"{name}.yaml")
        if not os.path.exists(path):
            compiler.Compiler().compile(pipeline, path)
    for n in sizes("BENCH_CHAIN_BIG", "10000"):
        path = os.path.join(out, f"chain-true-{n}.yaml")
        if os.path.exists(path):
            continue
        small = os.path.join(out, "chain-true-2.yaml")
        compiler.Compiler().compile(chain_true(2), small)
        with open(small) as f:
            spec = yaml.safe_load(f)
        with open(path, "w") as f:
            yaml.safe_dump(extend_chain(spec, n), f, sort_keys=True)


if __name__ == "__main__":
    main()
