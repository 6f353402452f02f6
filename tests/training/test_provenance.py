"""The command a run directory or a report records is the one a user would type again."""

from __future__ import annotations

import pytest

from sim2real.training.provenance import command_line


@pytest.mark.parametrize(
    "program",
    ["/work/venv/bin/sim2real", "sim2real", "/site-packages/sim2real/__main__.py"],
)
def test_the_console_script_and_python_m_read_sim2real(program: str) -> None:
    argv = [program, "benchmark", "quickstart", "--out", "/tmp/a b"]
    assert command_line(argv) == "sim2real benchmark quickstart --out '/tmp/a b'"


def test_other_programs_are_kept() -> None:
    argv = ["benchmarks/sim2sim.py", "--train"]
    assert command_line(argv) == "benchmarks/sim2sim.py --train"
    assert command_line(["/x/__main__.py", "run"]) == "/x/__main__.py run"
