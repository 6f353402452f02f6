"""Load trained policies: ``load_policy``/``load_run`` (model + normalization + config as one
:class:`LoadedPolicy`) and a run's evaluations (``read_eval_curve``)."""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.vec_env import VecEnv, VecNormalize

from sim2real.config import ExperimentConfig
from sim2real.controller.history import HistorySpec
from sim2real.errors import ModelFileError, Sim2RealError
from sim2real.training.algorithms import ALGOS
from sim2real.training.history import history_spec_of
from sim2real.training.resume import saved_config
from sim2real.training.run_dir import RunDir
from sim2real.training.vec_env import load_vec_normalize, make_vec_env
from sim2real.zoo import resolve_location

__all__ = ["LoadedPolicy", "load_policy", "load_run", "read_eval_curve", "read_evaluations"]


@dataclass
class LoadedPolicy:
    """A trained SB3 policy with what is needed to use it: normalization, config, provenance.

    The one container of a loaded policy: transfer's source, export's input, evaluation's
    :class:`~sim2real.evaluation.SB3Agent` and the benchmark's zero-shot policy all hold one.
    """

    model: BaseAlgorithm
    vec_normalize: VecNormalize | None = None
    """Observation statistics (``training=False``, not attached to an env) or ``None``."""
    config: ExperimentConfig | None = None
    """The run's config (``None`` for a bare ``.zip`` or an in-memory model)."""
    env: str | None = None
    """Env name (the run's, or given), ``None`` if unknown."""
    domain: str | None = None
    """The domain it was trained on, if known."""
    path: Path | None = None
    """The run directory, or the model file's folder for a bare ``.zip``."""
    loaded_from: Path | None = None
    """What was loaded: the run directory or the model file as given."""
    model_file: Path | None = None
    vec_normalize_file: Path | None = None

    @property
    def algorithm(self) -> str:
        """``ppo``, ``sac`` or ``td3`` (the run's, else the model class's name)."""
        return self.config.algo if self.config is not None else type(self.model).__name__.lower()

    @property
    def name(self) -> str:
        """A default name: the run folder or the model file's stem."""
        if self.loaded_from is None:
            return f"{self.algorithm}-policy"
        return self.loaded_from.name if self.loaded_from.is_dir() else self.loaded_from.stem

    @property
    def history(self) -> HistorySpec | None:
        """The observation history the policy was trained with (``None``: none)."""
        return history_spec_of(self.config)

    @property
    def run_dir(self) -> Path | None:
        """The run directory the policy belongs to, ``None`` outside a run."""
        return self.path if self.path is not None and RunDir(self.path).is_run() else None

    def make_env(self, domain: str | Any = "nominal", n_envs: int = 1, seed: int = 0) -> VecEnv:
        """A vec env on ``domain`` wrapped with this policy's (frozen) normalization statistics."""
        if self.env is None:
            raise ModelFileError(f"{self.path}: no {RunDir.CONFIG} next to the model, env unknown")
        venv = make_vec_env(self.env, domain, n_envs, seed, history=self.history)
        if self.vec_normalize_file is None:
            return venv
        return load_vec_normalize(self.vec_normalize_file, venv, training=False)


def load_policy(
    source: LoadedPolicy | BaseAlgorithm | str | Path,
    *,
    device: str = "cpu",
    best: bool = False,
    vec_normalize: VecNormalize | str | Path | None = None,
    env: str | None = None,
    domain: str | None = None,
) -> LoadedPolicy:
    """A :class:`LoadedPolicy` from a run directory, an SB3 ``.zip``, an SB3 model or itself.

    ``vec_normalize`` (object or ``vecnormalize.pkl`` path), ``env`` and ``domain`` override or
    fill in what the source records (a bare model records none); ``best`` picks a run
    directory's ``best_model.zip``.

    Raises:
        ModelFileError: missing, corrupt or truncated files.
    """
    if isinstance(source, LoadedPolicy):
        policy = source
    elif isinstance(source, BaseAlgorithm):
        policy = LoadedPolicy(source)
    elif isinstance(source, (str, Path)):
        policy = load_run(source, device=device, best=best)
    else:
        raise TypeError(f"source must be a path or an SB3 model, not {type(source).__name__}")
    if isinstance(vec_normalize, (str, Path)):
        vec_normalize = load_vec_normalize(Path(vec_normalize))
    return replace(
        policy,
        vec_normalize=vec_normalize if vec_normalize is not None else policy.vec_normalize,
        env=env or policy.env,
        domain=domain or policy.domain,
    )


def _algo_of(zip_path: Path) -> str:
    try:
        with zipfile.ZipFile(zip_path) as zf:
            data = json.loads(zf.read("data"))
    except FileNotFoundError:
        raise ModelFileError(f"{zip_path}: model file not found") from None
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise ModelFileError(
            f"{zip_path}: not a readable SB3 model (corrupt or truncated zip: {type(exc).__name__})"
        ) from None
    module = str(data.get("policy_class", {}).get("__module__", ""))
    for name in ALGOS:
        if f".{name}." in module:
            return name
    if module == "stable_baselines3.common.policies":  # ActorCriticPolicy: PPO's MlpPolicy
        return "ppo"
    raise ModelFileError(f"{zip_path}: policy class {module or '?'} is not PPO, SAC or TD3")


def load_run(path: str | Path, *, device: str = "cpu", best: bool = False) -> LoadedPolicy:
    """Load a run directory (its ``model.zip``, or ``best_model.zip`` with ``best``) or an SB3 ``.zip``.

    Raises:
        ModelFileError: missing, corrupt or truncated files (one line naming the file).
    """
    path = resolve_location(path)
    if not path.exists() and not path.with_suffix(".zip").is_file():
        raise ModelFileError(f"{path}: no such run directory or model file")
    if path.is_dir():
        run: RunDir | None = RunDir(path)
        zip_path = RunDir(path).model_file(best)
    else:
        if path.suffix != ".zip" and path.with_suffix(".zip").is_file():
            path = path.with_suffix(".zip")
        zip_path, run = path, RunDir.of(path)
    if not zip_path.is_file():
        raise ModelFileError(f"{zip_path}: model file not found (is {path} a sim2real run?)")
    config: ExperimentConfig | None = None
    if run is not None:
        try:
            config = saved_config(run)
        except Sim2RealError as exc:
            raise ModelFileError(str(exc)) from None
    model = _load_model(zip_path, config.algo if config is not None else _algo_of(zip_path), device)
    folder = run if run is not None else RunDir(zip_path.parent)
    vn_file = folder.vecnormalize_for(zip_path)
    vn = load_vec_normalize(vn_file) if vn_file is not None else None
    if config is not None and config.normalize and vn is None:
        raise ModelFileError(f"{folder.vecnormalize}: missing, but the run used normalization")
    return LoadedPolicy(
        model,
        vn,
        config,
        env=config.env if config is not None else None,
        domain=config.domain if config is not None else None,
        path=folder.path,
        loaded_from=path,
        model_file=zip_path,
        vec_normalize_file=vn_file,
    )


def _load_model(zip_path: Path, algo: str, device: str) -> BaseAlgorithm:
    try:
        return ALGOS[algo].load(zip_path, device=device)
    except Exception as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ModelFileError(f"{zip_path}: cannot load the model ({reason})") from None


def read_evaluations(run_dir: str | Path) -> dict[str, dict[str, list]]:
    """All curves of ``evaluations.json`` (``{"train_domain": {...}, "target/<name>": {...}}``;
    an old run's ``source`` key is read as ``train_domain``)."""
    run = RunDir(run_dir)
    if not run.evaluations.is_file():
        raise ModelFileError(
            f"{run.evaluations}: no evaluations (did the run evaluate? eval.freq > 0)"
        )
    try:
        return run.read_evaluations()
    except Sim2RealError as exc:
        raise ModelFileError(str(exc)) from None


def read_eval_curve(run_dir: str | Path, domain: str = "train_domain") -> dict[str, list]:
    """One eval curve: ``{"timesteps", "mean", "std", "returns", "lengths"}``.

    ``domain`` is ``train_domain`` (the domain trained on; ``source`` is its old name), a target
    name (``heavy``) or its key (``target/heavy``).
    """
    data = read_evaluations(run_dir)
    for key in (domain, f"target/{domain}", *(["train_domain"] if domain == "source" else [])):
        if key in data:
            return data[key]
    raise ModelFileError(
        f"{RunDir(run_dir).evaluations}: no curve for {domain!r} (have: {', '.join(data)})"
    )
