"""Ecosystem fit (issue 18.4): ``--version``, two examples at the end of every ``--help``, a
missing extra named as the extra, headless progress lines, rl-zoo3 hyperparameter files."""

from __future__ import annotations

import importlib.util
import io
import re
import runpy
from pathlib import Path

import pytest
import yaml

import sim2real
from sim2real.cli.examples import EXAMPLES
from tests.cli_runner import invoke, run_cli

ROOT = Path(__file__).parents[2]
COMMANDS = ["pretrain", "transfer", "inspect", "benchmark", "evaluate", "export", "deploy",
            "identify", "envs", "envs list", "envs show", "envs sample"]  # fmt: skip


def test_version() -> None:
    proc = invoke("--version")
    assert proc.returncode == 0 and proc.stdout.strip() == f"sim2real {sim2real.__version__}"


@pytest.mark.parametrize("command", COMMANDS)
def test_help_ends_with_two_examples(command: str) -> None:
    proc = invoke(*command.split(), "--help")
    assert proc.returncode == 0, proc.stderr
    text = " ".join(proc.stdout.split())  # rich wraps long lines
    tail = text[text.rindex("Examples:") :]
    examples = EXAMPLES[command.split()[-1]]
    assert len(examples) == 2
    for example in examples:
        assert " ".join(example.split()) in tail
    assert tail.rstrip().endswith(examples[1].split()[-1])


def test_missing_export_extra_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    from sim2real.errors import Sim2RealError
    from sim2real.export import export_policy

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "onnx" else real(name, *a)
    )
    with pytest.raises(Sim2RealError, match=re.escape("pip install 'sim2real[export]'")):
        export_policy("nonexistent_run", "onnx")


def test_headless_progress_lines(tmp_path: Path) -> None:
    """stderr is not a TTY here: a progress line every SIM2REAL_PROGRESS_EVERY seconds."""
    proc = run_cli(
        "pretrain", "smoke", "--out", str(tmp_path / "run"), "--set", "total_timesteps=512",
        env={"SIM2REAL_PROGRESS_EVERY": "0"},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if " steps/s, eta " in line]
    assert len(lines) >= 3, proc.stderr
    assert re.search(r"\d+/512 steps \(\d+%\), [\d,]+ steps/s, eta ", lines[0])
    assert "eval: " in lines[-1] and lines[-1].startswith("pretrain ppo cartpole: 512/512")


def test_headless_callback_formats_eta() -> None:
    from sim2real.training.callbacks import HeadlessProgressCallback

    cb = HeadlessProgressCallback(1000, "x", lambda: {"target/heavy": 12.5}, stream=io.StringIO())
    assert "eval: heavy 12.5" in cb.print_line(0.0)


def test_zoo_files_are_current_and_cover_the_ids() -> None:
    gen = runpy.run_path(str(ROOT / "docs" / "gen_zoo.py"))
    files = gen["zoo_files"]()
    for algo, text in files.items():
        assert (ROOT / "zoo" / f"{algo}.yml").read_text() == text, "run python docs/gen_zoo.py"
    ppo = yaml.safe_load(files["ppo"])
    assert {"sim2real/CartPole-v0", "sim2real/Hopper-v0"} <= set(ppo)
    hopper = ppo["sim2real/Hopper-v0"]
    assert hopper["policy"] == "MlpPolicy" and hopper["normalize"] is True
    assert "activation_fn=nn.ReLU" in hopper["policy_kwargs"]
    import gymnasium as gym

    import sim2real.envs  # noqa: F401  (the ids register on import, as --gym-packages needs)

    assert all(env_id in gym.registry for f in files.values() for env_id in yaml.safe_load(f))
