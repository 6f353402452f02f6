"""A corpus of bad inputs: each gives exactly one ``error:`` line, exit 2, and writes nothing."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from tests.cli_runner import error_line, invoke

R, P, F, B = "{run}", "{pol}", "{file}", "{base}"
PRE = ["pretrain", "smoke", "--quiet"]
TR = ["transfer", "transfer_finetune", "--from", R, "--quiet"]
BEN = ["benchmark", "quickstart", "--quiet"]
EV = ["evaluate", P, "--episodes", "1"]
DEP = ["deploy", P, "--seconds", "0.1"]
EXP = ["export", R, "--out", f"{B}/new_pol"]
SW = ["--sweep", "mass_scale=0.5:2:3"]

CORPUS: dict[str, list[str]] = {
    "no_command": ["nonsense"],
    "unknown_option": ["pretrain", "smoke", "--bogus"],
    "missing_argument": ["evaluate"],
    "bad_float_option": ["deploy", P, "--rate", "abc"],
    "envs_show_missing": ["envs", "show"],
    "envs_sample_n0": ["envs", "sample", "cartpole", "-n", "0"],
    "envs_unknown": ["envs", "show", "nope"],
    "envs_nan_domain": ["envs", "sample", "cartpole", "--domain", f"{B}/nan.yaml:source"],
    "envs_deep_domain": ["envs", "sample", "cartpole", "--domain", f"{B}/deep.yaml:source"],
    "pre_timesteps_nan": [*PRE, "--set", "total_timesteps=.nan"],
    "pre_timesteps_inf": [*PRE, "--set", "total_timesteps=.inf"],
    "pre_timesteps_huge": [*PRE, "--set", "total_timesteps=10000000000000"],
    "pre_n_envs_huge": [*PRE, "--set", "n_envs=100000"],
    "pre_eval_episodes_huge": [*PRE, "--set", "eval.episodes=1000000000"],
    "pre_lr_nan": [*PRE, "--set", "hyperparams.learning_rate=.nan"],
    "pre_gamma_inf": [*PRE, "--set", "hyperparams.gamma=.inf"],
    "pre_seed_neg": [*PRE, "--seed", "-1"],
    "pre_set_seed_neg": [*PRE, "--set", "seed=-1"],
    "pre_out_under_file": [*PRE, "--out", f"{F}/sub"],
    "pre_out_proc": [*PRE, "--out", "/proc/x"],
    "pre_out_proc_deep": [*PRE, "--out", "/proc/x/y/z"],
    "pre_out_existing": [*PRE, "--out", R],
    "pre_out_is_file": [*PRE, "--out", F],
    "pre_deep_yaml": ["pretrain", f"{B}/deep_cfg.yaml", "--quiet"],
    "pre_nan_cfg": ["pretrain", f"{B}/nan_cfg.yaml", "--quiet"],
    "pre_nan_domain": [*PRE, "--set", f"domain={B}/nan.yaml:source"],
    "pre_inf_domain": [*PRE, "--set", f"domain={B}/inf.yaml:source"],
    "pre_deep_domain": [*PRE, "--set", f"domain={B}/deep.yaml:source"],
    "pre_unknown_domain": [*PRE, "--set", "domain=no_such_target"],
    "pre_device": [*PRE, "--device", "tpu"],
    "pre_missing_cfg": ["pretrain", "no_such_config"],
    "tr_timesteps_huge": [*TR, "--set", "total_timesteps=10000000000000"],
    "tr_out_under_file": [*TR, "--out", f"{F}/sub"],
    "tr_out_proc": [*TR, "--out", "/proc/x"],
    "tr_unknown_target": [*TR, "--target", "cartpole:no_such_target"],
    "tr_nan_domain": [*TR, "--target", f"cartpole:{B}/nan.yaml:source"],
    "tr_lr_nan": [*TR, "--set", "hyperparams.learning_rate=.nan"],
    "ben_unknown_target": [*BEN, "--set", "target=no_such_target"],
    "ben_nan_target": [*BEN, "--set", f"target={B}/nan.yaml:source"],
    "ben_out_under_file": [*BEN, "--out", f"{F}/sub"],
    "ben_out_proc": [*BEN, "--out", "/proc/x"],
    "ben_out_foreign": [*BEN, "--out", R],
    "ben_budget_huge": [*BEN, "--set", "budget=100000000000000"],
    "ben_seeds_huge": [*BEN, "--seeds", "100000"],
    "ben_set_seeds_huge": [*BEN, "--set", "seeds=100000000"],
    "ben_workers_huge": [*BEN, "--workers", "1000000"],
    "ben_threshold_nan": [*BEN, "--set", "metrics.threshold=.nan"],
    "ben_n_boot_huge": [*BEN, "--set", "metrics.n_boot=1000000000000"],
    "ben_backend": [*BEN, "--backend", "nonsense"],
    "ev_backend": [*EV, "--backend", "nonsense"],
    "ev_seed_neg": [*EV, "--seed", "-1"],
    "ev_run_seed_neg": ["evaluate", R, "--seed", "-1"],
    "ev_episodes_0": [*EV[:2], "--episodes", "0"],
    "ev_episodes_huge": [*EV[:2], "--episodes", "1000000000"],
    "ev_sweep_points_huge": [*EV, "--sweep", "mass_scale=0.5:2:1000000000"],
    "ev_sweep_grid_huge": [
        *EV,
        "--sweep",
        "mass_scale=0.5:2:5000",
        "--sweep",
        "gravity=-12:-6:5000",
    ],
    "ev_sweep_nan": [*EV, "--sweep", "mass_scale=nan:2:3"],
    "ev_sweep_unknown_param": [*EV, "--sweep", "nope=0:1:3"],
    "ev_sweep_out_file": [*EV, *SW, "--out", f"{F}/sub"],
    "ev_sweep_out_proc": [*EV, *SW, "--out", "/proc/x"],
    "ev_video_under_file": [*EV, "--video", f"{F}/v.gif"],
    "ev_video_proc": [*EV, "--video", "/proc/x/v.gif"],
    "ev_video_suffix": [*EV, "--video", f"{B}/v.avi"],
    "ev_video_episodes_0": [*EV, "--video", f"{B}/v.gif", "--video-episodes", "0"],
    "ev_unknown_target": [*EV, "--target", "cartpole:no_such_target"],
    "ev_nan_target": [*EV, "--target", f"cartpole:{B}/nan.yaml:source"],
    "ev_not_a_policy": ["evaluate", F],
    "exp_samples_0": [*EXP, "--samples", "0"],
    "exp_samples_neg": [*EXP, "--samples", "-1"],
    "exp_samples_huge": [*EXP, "--samples", "1000000000000"],
    "exp_tolerance_nan": [*EXP, "--tolerance", "nan"],
    "exp_out_under_file": ["export", R, "--out", f"{F}/sub"],
    "exp_out_proc": ["export", R, "--out", "/proc/x"],
    "exp_format": [*EXP, "--format", "tflite"],
    "dep_rate_nan": [*DEP, "--rate", "nan"],
    "dep_rate_inf": [*DEP, "--rate", "inf"],
    "dep_rate_0": [*DEP, "--rate", "0"],
    "dep_rate_neg": [*DEP, "--rate", "-5"],
    "dep_seconds_nan": ["deploy", P, "--seconds", "nan"],
    "dep_seconds_inf": ["deploy", P, "--seconds", "inf"],
    "dep_seconds_0": ["deploy", P, "--seconds", "0"],
    "dep_seconds_neg": ["deploy", P, "--seconds", "-1"],
    "dep_ticks_huge": ["deploy", P, "--rate", "1e9", "--seconds", "1e9"],
    "dep_ticks_default_rate": ["deploy", P, "--seconds", "1e12"],
    "dep_max_delta_neg": [*DEP, "--max-delta", "-0.1"],
    "dep_max_delta_nan": [*DEP, "--max-delta", "nan"],
    "dep_seed_neg": [*DEP, "--seed", "-1"],
    "dep_backend": [*DEP, "--backend", "nonsense"],
    "inspect_file": ["inspect", F],
}

NAN_DOMAIN = "source:\n  parameters:\n    mass_scale: {dist: uniform, low: .nan, high: 1.2}\n"


def _hash_tree(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A guarded folder: a tiny run, its exported policy, a plain file and bad YAML files."""
    from sim2real.config import load_config
    from sim2real.export import export_policy
    from sim2real.training import train

    root = tmp_path_factory.mktemp("guarded")
    cfg = load_config("smoke", ["total_timesteps=64", "eval.freq=0", "checkpoint_freq=0"])
    run = train(cfg, root / "run", quiet=True).path
    export_policy(run, "onnx", root / "pol", n_samples=8)
    (root / "file").write_text("not a folder\n")
    (root / "nan.yaml").write_text(NAN_DOMAIN)
    (root / "inf.yaml").write_text(NAN_DOMAIN.replace(".nan", ".inf"))
    (root / "deep.yaml").write_text("source: " + "[" * 3000 + "]" * 3000 + "\n")
    (root / "deep_cfg.yaml").write_text("env: cartpole\nhyperparams: " + "[" * 3000 + "]" * 3000)
    smoke = (Path(__file__).parents[2] / "configs" / "smoke.yaml").read_text()
    (root / "nan_cfg.yaml").write_text(smoke + "hyperparams: {gamma: .nan}\n")
    return root


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_bad_input(name: str, base: Path) -> None:
    args = [
        a.replace(R, str(base / "run"))
        .replace(P, str(base / "pol"))
        .replace(F, str(base / "file"))
        .replace(B, str(base))
        for a in CORPUS[name]
    ]
    before = _hash_tree(base)
    proc = invoke(*args)
    assert "Traceback" not in proc.stderr, proc.stderr[-2000:]
    error_line(proc)
    assert _hash_tree(base) == before
    assert not (base / "new_pol").exists()


def test_corpus_size() -> None:
    assert len(CORPUS) >= 60
