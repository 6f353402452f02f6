"""Shell completion (issue 18.4): Typer's scripts for bash/zsh/fish, and completion requests that
offer env, config and shipped-policy names quickly, without importing torch or SB3."""

from __future__ import annotations

import os
import resource
import subprocess
import sys

import pytest

from sim2real.cli import completion
from sim2real.envs.registry import ENVS
from tests.cli_runner import invoke, run_cli

#: A completion request runs the CLI once per TAB: CPU seconds it may take (measured ~0.5 s, see
#: docs/cli.md; importing torch alone costs more than the bound). CPU, not wall time, so a
#: loaded CI machine does not make the test flaky.
MAX_CPU_SECONDS = 1.5
#: Runs the CLI's entry point and reports on stderr whether torch/SB3 got imported.
_PROBE = (
    "import atexit, sys\n"
    "atexit.register(lambda: print('heavy:', sorted({'torch', 'stable_baselines3'}"
    " & set(sys.modules)), file=sys.stderr))\n"
    "from sim2real.cli import main\n"
    "main()\n"
)


def _complete(words: str) -> tuple[list[str], str, float]:
    """A bash completion request for ``words`` (cursor at the end): values, stderr, CPU seconds."""
    cword = len(words.split()) - (0 if words.endswith(" ") else 1)
    env = {**os.environ, "_SIM2REAL_COMPLETE": "complete_bash", "COMP_WORDS": words,
           "COMP_CWORD": str(cword)}  # fmt: skip
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE], capture_output=True, text=True, env=env, timeout=60
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.split(), proc.stderr, cpu


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_show_completion_prints_the_script(shell: str) -> None:
    proc = run_cli(
        "--show-completion", shell, env={"_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"}
    )
    assert proc.returncode == 0, proc.stderr
    assert f"_SIM2REAL_COMPLETE=complete_{shell}" in proc.stdout
    assert "sim2real" in proc.stdout


def test_root_help_offers_completion() -> None:
    proc = invoke("--help")
    assert "--install-completion" in proc.stdout and "--show-completion" in proc.stdout


@pytest.mark.parametrize(
    "words", ["sim2real envs show ", "sim2real evaluate zoo:cartpole_ppo_source -t "]
)
def test_completion_request_returns_env_names_fast(words: str) -> None:
    values, stderr, cpu = _complete(words)
    assert values == list(ENVS)
    assert "heavy: []" in stderr
    assert cpu < MAX_CPU_SECONDS, f"{cpu:.2f} CPU s"


def test_completion_filters_by_prefix() -> None:
    values, _, _ = _complete("sim2real identify ho")
    assert values == ["hopper", "hopper@mujoco"]


def test_config_names_by_kind() -> None:
    benchmark = [v for v, _ in completion.complete_benchmark_config("")]
    assert {"quickstart", "suite", "benchmark_hopper"} <= set(benchmark)
    assert "smoke" not in benchmark and "transfer_finetune" not in benchmark
    assert "smoke" in [v for v, _ in completion.complete_experiment_config("sm")]
    assert [v for v, _ in completion.complete_transfer_config("transfer_fi")] == [
        "transfer_finetune"
    ]


def test_targets_policies_and_runs() -> None:
    assert ("cartpole:heavy_pole", "target domain") in completion.complete_target("cartpole:h")
    assert completion.complete_target("nosuchenv:") == []
    shipped = ["cartpole_ppo_source", "hopper_ppo_source", "quadruped_ppo_source"]
    assert [v for v, _ in completion.complete_policy_name("")] == shipped
    assert completion.complete_run("") == []  # the shell completes paths
    assert completion.complete_run("runs/x") == []
    assert [v for v, _ in completion.complete_run("z")] == [f"zoo:{n}" for n in shipped]
