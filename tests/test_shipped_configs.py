"""Every config shipped in ``configs/`` loads with its own loader and names a real env and real
domains: a misspelt env or domain fails here, it is never skipped."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from sim2real.benchmark import load_benchmark_config
from sim2real.config import load_config
from sim2real.envs.registry import resolve_env
from sim2real.errors import ConfigError
from sim2real.randomization import load_domain
from sim2real.resources import data_dir
from sim2real.transfer.config import load_transfer_config

SHIPPED = sorted(p.stem for p in data_dir("configs").glob("*.yaml"))
SOURCE = "/no/such/run"  # transfer configs take their source from --from; not opened on load


def _kind(name: str) -> str:
    if name.startswith("suite"):
        return "suite"
    if name.startswith("benchmark_") or name == "quickstart":
        return "benchmark"
    return "transfer" if name.startswith("transfer_") else "experiment"


def _load(path: str | Path, kind: str) -> object:
    if kind == "benchmark":
        return load_benchmark_config(path)
    if kind == "transfer":
        return load_transfer_config(path, source=SOURCE)
    return load_config(path)


def test_every_kind_is_shipped() -> None:
    assert {_kind(n) for n in SHIPPED} == {"benchmark", "transfer", "experiment", "suite"}


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_config_validates_and_names_real_env_and_domains(name: str) -> None:
    kind = _kind(name)
    if kind == "suite":  # every entry's benchmark config, with and without --quick
        from sim2real.benchmark.suite import check_suite, load_suite_config

        suite = load_suite_config(name)
        check_suite(suite)
        check_suite(suite, quick=True)
        return
    cfg = _load(name, kind)
    resolve_env(cfg.env)  # raises UnknownEnvError for a name that is not registered
    if kind == "benchmark":
        domains = [cfg.target]
    else:
        domains = [cfg.domain, *cfg.eval.targets]
    for domain in domains:
        if domain != "nominal":
            load_domain(cfg.env, domain)


@pytest.mark.parametrize("kind", ["benchmark", "transfer", "experiment"])
def test_a_misspelt_env_in_a_shipped_config_is_an_error(kind: str, tmp_path: Path) -> None:
    """The check above can fail: the first shipped config of each kind, with its env misspelt."""
    name = next(n for n in SHIPPED if _kind(n) == kind)
    data = yaml.safe_load((data_dir("configs") / f"{name}.yaml").read_text())
    data["env"] = data["env"] + "x"
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError, match="env"):
        _load(path, kind)
