"""A small pipeline that touches the main KFP features: parameters, an artifact,
a ParallelFor with fan-in, an If/Else and an exit handler.

Recompile with:  python hello.py   (needs `pip install kfp==2.17.0`)
"""

from typing import List

from kfp import compiler, dsl
from kfp.dsl import Dataset, Input, Output


@dsl.component(base_image="python:3.11")
def make_numbers(count: int, numbers: Output[Dataset]) -> List[int]:
    values = list(range(1, count + 1))
    with open(numbers.path, "w") as f:
        f.write("\n".join(str(v) for v in values))
    numbers.metadata["count"] = count
    return values


@dsl.component(base_image="python:3.11")
def square(x: int) -> int:
    return x * x


@dsl.component(base_image="python:3.11")
def total(values: List[int], numbers: Input[Dataset]) -> int:
    with open(numbers.path) as f:
        print("inputs were:", f.read().split())
    return sum(values)


@dsl.component(base_image="python:3.11")
def announce(message: str, value: int):
    print(f"{message}: {value}")


@dsl.component(base_image="python:3.11")
def goodbye(status: dsl.PipelineTaskFinalStatus):
    print(f"pipeline finished as {status.state}")


@dsl.pipeline(name="hello-weir", description="Squares numbers in parallel and sums them.")
def hello(count: int = 4, threshold: int = 20):
    bye = goodbye()
    with dsl.ExitHandler(bye, name="main"):
        numbers = make_numbers(count=count)
        with dsl.ParallelFor(numbers.outputs["Output"], parallelism=2) as x:
            squared = square(x=x)
        summed = total(values=dsl.Collected(squared.output), numbers=numbers.outputs["numbers"])
        with dsl.If(summed.output > threshold):
            announce(message="big total", value=summed.output)
        with dsl.Else():
            announce(message="small total", value=summed.output)


if __name__ == "__main__":
    compiler.Compiler().compile(hello, __file__.replace(".py", ".yaml"))
