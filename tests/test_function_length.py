"""Functions in ``sim2real/`` are short enough to read at once: at most MAX_LINES lines each
(``def`` line to last line, decorators and docstring included), unless listed in ALLOWED with
the reason."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import sim2real

MAX_LINES = 60
PACKAGE = Path(sim2real.__file__).resolve().parent

# "path/inside/sim2real.py:Qualified.name" -> why it may be longer than MAX_LINES
ALLOWED: dict[str, str] = {
    "training/trainer.py:train": "the run pipeline, being split into stages (issue 13, point 1)",
    "benchmark/runner.py:run_benchmark": "run assembly, rewritten with the pipeline (issue 13, 1-2)",
    "transfer/run.py:run_transfer": "run assembly, rewritten with the pipeline (issue 13, 1-2)",
}


def _functions(tree: ast.AST, prefix: str = "") -> Iterator[tuple[str, int]]:
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            name = prefix + node.name
            start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            yield name, node.end_lineno - start + 1
            yield from _functions(node, name + ".")
        elif isinstance(node, ast.ClassDef):
            yield from _functions(node, prefix + node.name + ".")


def function_lengths() -> dict[str, int]:
    """``path:qualname`` -> lines, for every function and method in the package."""
    out: dict[str, int] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        for name, lines in _functions(ast.parse(path.read_text())):
            out[f"{rel}:{name}"] = lines
    return out


def test_no_function_is_longer_than_the_limit() -> None:
    long = {k: n for k, n in function_lengths().items() if n > MAX_LINES and k not in ALLOWED}
    assert not long, (
        f"functions over {MAX_LINES} lines (split them or list them with a reason): {long}"
    )


def test_every_allowed_function_has_a_reason() -> None:
    assert all(len(reason.split()) >= 3 for reason in ALLOWED.values())


def test_the_measure_counts_decorators_and_nested_functions() -> None:
    src = "class A:\n    @staticmethod\n    def f():\n        def g():\n            pass\n        return g\n"
    assert dict(_functions(ast.parse(src))) == {"A.f": 5, "A.f.g": 2}
