"""`RunDir` is the only module that spells the run directory's file and folder names.

Every string literal in ``sim2real/`` (docstrings excluded: they document the layout) is checked
for the names of a run directory's files; code elsewhere goes through ``RunDir``'s paths and
readers/writers, so the layout can change in one place.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import sim2real

PACKAGE = Path(sim2real.__file__).parent
OWNER = PACKAGE / "training" / "run_dir.py"

FILE_NAMES = (
    "config.yaml",
    "meta.json",
    "summary.json",
    "evaluations.json",
    "transfer.json",
    "model.zip",
    "best_model.zip",
    "failed_model.zip",
    "vecnormalize.pkl",
    "best_vecnormalize.pkl",
    "replay_buffer.pkl",
    "adr.json",
    "manifest.json",
)
NAME = re.compile(r"(?<![\w.])(" + "|".join(re.escape(n) for n in FILE_NAMES) + r")(?!\w)")
FOLDER = re.compile(r"^(checkpoints|best_model)(/.*)?$")

#: (file relative to sim2real/, name) -> why the literal may stay there
ALLOWED = {
    ("cli/export_cmd.py", "best_model.zip"): "the --best option's help text names the file",
    ("cli/export_cmd.py", "vecnormalize.pkl"): "the --vecnormalize option's help text names it",
    ("cli/examples.py", "model.zip"): "a --help example exports a bare SB3 model file",
    ("cli/examples.py", "vecnormalize.pkl"): "the same example passes its statistics file",
}


def _docstrings(tree: ast.AST) -> set[int]:
    """ids of string constants that are statements of their own (docstrings)."""
    return {
        id(node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
    }


def layout_literals(path: Path) -> list[tuple[int, str]]:
    """``(line, name)`` of every run-directory name spelt in a string literal of ``path``."""
    tree = ast.parse(path.read_text())
    docs = _docstrings(tree)
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Constant) or not isinstance(node.value, str):
            continue
        if id(node) in docs:
            continue
        names = NAME.findall(node.value)
        if FOLDER.match(node.value):
            names.append(node.value.split("/")[0])
        found += [(node.lineno, name) for name in names]
    return found


def test_layout_names_are_spelt_only_in_run_dir() -> None:
    leaks = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path == OWNER:
            continue
        rel = path.relative_to(PACKAGE).as_posix()
        leaks += [
            f"sim2real/{rel}:{line}: {name}"
            for line, name in layout_literals(path)
            if (rel, name) not in ALLOWED
        ]
    assert not leaks, "run-directory names outside RunDir:\n" + "\n".join(leaks)


def test_the_check_sees_a_leak(tmp_path: Path) -> None:
    leaky = tmp_path / "leaky.py"
    leaky.write_text(
        '"""Writes model.zip (a docstring may say so)."""\n'
        "def f(run):\n"
        '    """Reads config.yaml."""\n'
        '    return run / "vecnormalize.pkl", f"{run}/meta.json", run / "checkpoints"\n'
    )
    assert layout_literals(leaky) == [(4, "vecnormalize.pkl"), (4, "meta.json"), (4, "checkpoints")]
