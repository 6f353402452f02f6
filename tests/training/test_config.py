"""Config loading: YAML by name or path, typed ``--set`` overrides, one-line errors naming key and file."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim2real.config import ExperimentConfig, load_config
from sim2real.errors import ConfigError
from sim2real.resources import data_dir


def test_load_by_name_and_path_agree() -> None:
    by_name = load_config("smoke")
    by_path = load_config(data_dir("configs") / "smoke.yaml")
    assert by_name == by_path
    assert by_name.env == "cartpole" and by_name.policy.net_arch == [16]


def test_overrides_are_typed_literals() -> None:
    cfg = load_config(
        "smoke",
        [
            "hyperparams.learning_rate=1e-3",
            "policy.net_arch=[8, 8]",
            "eval.episodes=3",
            "normalize=true",
        ],
    )
    assert cfg.hyperparams["learning_rate"] == pytest.approx(1e-3)
    assert cfg.policy.net_arch == [8, 8]
    assert cfg.eval.episodes == 3 and cfg.normalize is True


@pytest.mark.parametrize(
    ("override", "words"),
    [
        ("n_envs=two", ["n_envs", "integer"]),
        ("eval.episodes=0", ["eval.episodes"]),
        ("algo=dqn", ["algo"]),
        ("lerning_rate=1", ["lerning_rate", "unknown key"]),
        ("policy.net_arch=[16, -1]", ["policy.net_arch", "positive"]),
        ("env=nonsense", ["env", "unknown env"]),
        ("noequals", ["KEY=VALUE"]),
    ],
)
def test_bad_values_give_one_line_naming_key(override: str, words: list[str]) -> None:
    with pytest.raises(ConfigError) as err:
        load_config("smoke", [override])
    msg = str(err.value)
    assert "\n" not in msg
    for w in words:
        assert w in msg


def test_error_names_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("env: cartpole\ntotal_timesteps: -5\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml: total_timesteps"):
        load_config(bad)
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "missing.yaml")
    bad.write_text("env: [unclosed\n")
    with pytest.raises(ConfigError, match="cannot read YAML"):
        load_config(bad)


def test_yaml_round_trip(tmp_path: Path) -> None:
    cfg = load_config("smoke", ["eval.targets=[]", "policy.activation=relu"])
    path = tmp_path / "c.yaml"
    path.write_text(cfg.to_yaml())
    assert load_config(path) == cfg


# every experiment config in configs/ (benchmark, transfer and quickstart configs have their own)
PRETRAIN_CONFIGS = sorted(
    p.stem
    for p in data_dir("configs").glob("*.yaml")
    if not p.stem.startswith(("benchmark_", "transfer_", "quickstart", "suite"))
)


@pytest.mark.parametrize("name", PRETRAIN_CONFIGS)
def test_shipped_pretrain_configs_validate(name: str) -> None:
    from sim2real.training.algorithms import algo_kwargs

    path = data_dir("configs") / f"{name}.yaml"
    cfg = load_config(path)  # a misspelt env is a ConfigError here, never a skip
    assert isinstance(cfg, ExperimentConfig)
    assert isinstance(algo_kwargs(cfg, n_actions=2), dict)  # hyperparams fit the SB3 signature
