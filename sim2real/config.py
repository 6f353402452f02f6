"""Typed experiment configs: YAML with literal values only, validated on load, ``--set`` overrides.

A config file is plain YAML (``yaml.safe_load``; never ``eval``). :func:`load_config` finds it by
path or by name in ``configs/``, applies ``--set a.b=value`` overrides (values parsed as YAML
literals) and validates everything with pydantic; any problem becomes a one-line
:class:`~sim2real.errors.ConfigError` naming the file and the key.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml
from pydantic import Field, ValidationError, field_validator, model_validator

from sim2real.controller.history import MAX_HISTORY
from sim2real.envs.settings import drop_env_defaults, register_env
from sim2real.errors import ConfigError
from sim2real.randomization.adr import ADRConfig
from sim2real.resources import data_dir, find_data_file
from sim2real.strict import StrictModel

__all__ = [
    "ACTIVATIONS",
    "AdaptationConfig",
    "EvalConfig",
    "ExperimentConfig",
    "HistoryConfig",
    "PolicyConfig",
    "StrictModel",
    "apply_overrides",
    "config_from_dict",
    "find_config_file",
    "format_validation_error",
    "load_config",
    "load_model",
    "parse_yaml",
    "read_yaml_mapping",
    "validate_model",
]

ACTIVATIONS = ("tanh", "relu", "elu", "leaky_relu", "gelu", "silu")

MAX_TIMESTEPS = 10**10
"""Largest ``total_timesteps`` (and checkpoint/eval frequency): years of compute on one machine."""
MAX_ENVS = 1024
"""Largest ``n_envs`` (one env instance each; more exhausts memory long before it helps)."""
MAX_EPISODES = 100_000
"""Largest ``eval.episodes``."""
MAX_SEED = 2**32 - 1
"""Largest seed (NumPy's legacy global seeding, which SB3 uses, takes 32-bit seeds)."""
MAX_LAYER_WIDTH = 8192
"""Largest hidden layer in ``policy.net_arch`` (8192 x 8192 weights are already 268 MB)."""
MAX_LAYERS = 64
"""Most hidden layers per network in ``policy.net_arch``."""
MAX_THREADS = 1024
"""Largest ``torch_threads``."""
MAX_HYPERPARAM_SIZES = {
    "n_steps": 1_000_000,
    "batch_size": 1_000_000,
    "n_epochs": 10_000,
    "buffer_size": 10_000_000,
    "gradient_steps": 1_000_000,
}
"""Largest value of the SB3 size hyperparameters (each allocates memory or loops)."""
MAX_ROLLOUT = 10_000_000
"""Largest PPO rollout buffer, ``n_steps x n_envs`` transitions."""


class _Loader(yaml.SafeLoader):
    """Safe YAML loader that also reads ``1e-3`` as a float (PyYAML follows YAML 1.1 there)."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
        |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
        |\.[0-9_]+(?:[eE][-+]?[0-9]+)?
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN))$""",
        re.VERBOSE,
    ),
    list("-+0123456789."),
)


def parse_yaml(text: str) -> Any:
    """``yaml.safe_load`` with YAML 1.2 floats (``3e-4``); literal values only.

    Nesting too deep for the parser raises :class:`yaml.YAMLError` (not ``RecursionError``).
    """
    try:
        return yaml.load(text, Loader=_Loader)
    except RecursionError:
        raise yaml.YAMLError("nesting too deep; flatten the file") from None


def read_yaml_mapping(path: Path) -> dict[str, Any]:
    """A config file's top-level mapping (:func:`parse_yaml`); problems are one-line ConfigErrors."""
    try:
        data = parse_yaml(path.read_text()) or {}
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: cannot read YAML: not a UTF-8 text file") from None
    except (OSError, yaml.YAMLError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ConfigError(f"{path}: cannot read YAML: {reason}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of keys to values")
    return data


M = TypeVar("M", bound=StrictModel)


class PolicyConfig(StrictModel):
    """Policy network: explicit feature layers, so transfer can name and copy them."""

    net_arch: list[int] | dict[str, list[int]] = Field(default_factory=lambda: [64, 64])
    """Hidden layer sizes shared by actor and critic (``[64, 64]``), or per part
    (``{pi: [..], vf: [..]}`` for PPO, ``{pi: [..], qf: [..]}`` for SAC/TD3)."""
    activation: Literal["tanh", "relu", "elu", "leaky_relu", "gelu", "silu"] = "tanh"
    """Activation between hidden layers."""
    kwargs: dict[str, Any] = Field(default_factory=dict)
    """Extra SB3 ``policy_kwargs`` (e.g. ``log_std_init``, ``ortho_init``, ``n_critics``)."""
    critic_layer_norm: bool = False
    """SAC/TD3: LayerNorm after every hidden layer of the Q networks (RLPD); set it for every
    arm of a comparison, scratch included."""
    privileged_critic: bool = False
    """PPO: the value function also sees the dynamics the randomization drew (asymmetric
    actor-critic, Pinto et al. 2018); the actor, which is exported, sees only the robot's
    observation. Needs a randomized training domain."""

    @field_validator("net_arch")
    @classmethod
    def _positive(cls, v: list[int] | dict[str, list[int]]) -> list[int] | dict[str, list[int]]:
        nets = list(v.values()) if isinstance(v, dict) else [v]
        if any(not 0 < x <= MAX_LAYER_WIDTH for xs in nets for x in xs):
            raise ValueError(f"layer sizes must be positive integers, at most {MAX_LAYER_WIDTH}")
        if any(len(xs) > MAX_LAYERS for xs in nets):
            raise ValueError(f"at most {MAX_LAYERS} hidden layers per network")
        if isinstance(v, dict) and not set(v) <= {"pi", "vf", "qf"}:
            raise ValueError(f"keys must be among pi, vf, qf, got {sorted(v)}")
        return v


class AdaptationConfig(StrictModel):
    """Online adaptation (RMA, Kumar et al. 2021) in two phases, both in one ``pretrain`` run.

    Phase 1 trains the policy on the observation plus a latent ``z = env_encoder(dynamics)`` of
    the true (sampled) dynamics parameters; phase 2 freezes it and regresses ``z`` from the last
    ``history`` (observation, action) pairs with the adaptation module, on rollouts driven by the
    module's own estimate. Deployment runs policy + adaptation module, never the true parameters.
    """

    latent_dim: int = Field(default=8, ge=1, le=256)
    """Size of the dynamics latent ``z`` (RMA: 8)."""
    encoder: list[int] = Field(default_factory=lambda: [64, 32])
    """Hidden layers of the env encoder MLP (normalized parameters -> ``z``)."""
    history: int = Field(default=50, ge=1, le=MAX_HISTORY)
    """Past (observation, action) pairs the adaptation module reads besides the current
    observation (RMA: 50), in :mod:`sim2real.controller.history`'s layout."""
    module: list[int] = Field(default_factory=lambda: [256, 128])
    """Hidden layers of the adaptation MLP over the flattened history (RMA uses a 1-D CNN)."""
    timesteps: int = Field(default=20_000, ge=1, le=MAX_TIMESTEPS)
    """Phase-2 budget in environment steps (summed over ``n_envs``); recorded in the run's
    ``summary.json`` next to phase 1's ``total_timesteps``."""
    rollout: int = Field(default=1000, ge=1, le=MAX_ROLLOUT)
    """Phase 2: environment steps per env collected with the current module between updates."""
    epochs: int = Field(default=4, ge=1, le=1000)
    """Phase 2: passes over each rollout."""
    batch_size: int = Field(default=256, ge=1, le=1_000_000)
    """Phase 2: minibatch size of the regression."""
    learning_rate: float = Field(default=1e-3, gt=0, le=1.0)
    """Phase 2: Adam learning rate."""

    @field_validator("encoder", "module")
    @classmethod
    def _layers(cls, v: list[int]) -> list[int]:
        if any(not 0 < x <= MAX_LAYER_WIDTH for x in v):
            raise ValueError(f"layer sizes must be positive integers, at most {MAX_LAYER_WIDTH}")
        if len(v) > MAX_LAYERS:
            raise ValueError(f"at most {MAX_LAYERS} hidden layers")
        return v


class HistoryConfig(StrictModel):
    """Observation history: the policy also sees the last ``length`` observations (and the
    actions sent after them); layout, names and episode-start rule in
    :mod:`sim2real.controller.history`."""

    length: int = Field(ge=1, le=MAX_HISTORY)
    """Past steps the policy sees (1 to ``MAX_HISTORY``)."""
    actions: bool = True
    """Also feed the action sent after each past observation."""


class EvalConfig(StrictModel):
    """Periodic deterministic evaluation on the source domain and on fixed target domains."""

    freq: int = Field(default=10_000, ge=0, le=MAX_TIMESTEPS)
    """Evaluate every ``freq`` environment steps (summed over ``n_envs``) and at the end;
    0 disables evaluation (except ``at_start``)."""
    episodes: int = Field(default=5, ge=1, le=MAX_EPISODES)
    """Episodes per evaluation and per domain (at most ``MAX_EPISODES``)."""
    targets: list[str] = Field(default_factory=list)
    """Target domains (names from ``envs/<env>.yaml``) also evaluated each time."""
    deterministic: bool = True
    """Use the deterministic (mean) action."""
    at_start: bool = True
    """Also evaluate before training (step 0), needed for jumpstart metrics."""


class ExperimentConfig(StrictModel):
    """One training experiment: env and domain, algorithm, network, budget, evaluation, seed."""

    experiment: str = "default"
    """Short experiment name used in the run directory name."""
    env: str
    """Env: a sim2real name or id (``cartpole``, ``sim2real/Hopper-v0``), any registered
    Gymnasium id (``HopperBulletEnv-v0``, with its package in ``gym_packages``) or a
    ``module:Class`` entry point of a ``gymnasium.Env``."""
    gym_packages: list[str] = Field(default_factory=list)
    """Packages imported before ``env`` is looked up (they register its Gymnasium id), as
    rl-zoo3's ``--gym-packages``."""
    env_kwargs: dict[str, Any] = Field(default_factory=dict)
    """Constructor arguments of the env (``gymnasium.make(env, **env_kwargs)``)."""
    dynamics: str = "auto"
    """How the dynamics parameters are reached: ``env`` (the env's own ``dynamics_specs``/
    ``set_dynamics``), ``pybullet`` (the generic ``PyBulletDynamicsAdapter``), ``none`` (no
    parameters: nominal only), a ``module:Class`` wrapper, or ``auto`` (the first that applies:
    env, then pybullet for PyBullet envs, then none)."""
    domain: str = "source"
    """Training domain: ``source`` (the env's randomization), a named source of the env's domain
    file (e.g. ``source_actuators``), ``nominal``, a target name, or ``path/to/file.yaml:NAME``."""
    adr: ADRConfig | None = None
    """Automatic domain randomization settings (``sim2real.randomization.ADRConfig``) or null."""
    algo: Literal["ppo", "sac", "td3"] = "ppo"
    """SB3 algorithm."""
    hyperparams: dict[str, Any] = Field(default_factory=dict)
    """Keyword arguments of the SB3 algorithm (checked against its signature). Extras as in
    rl-zoo3: ``learning_rate: lin_3e-4`` (linear schedule), ``noise_type``/``noise_std``."""
    policy: PolicyConfig = Field(default_factory=PolicyConfig)
    """Policy architecture."""
    history: HistoryConfig | None = None
    """Observation history fed to the policy (``{length: 4, actions: true}``), or null."""
    n_envs: int = Field(default=1, ge=1, le=MAX_ENVS)
    """Parallel training environments (at most ``MAX_ENVS``)."""
    vec_env: Literal["dummy", "subproc"] = "dummy"
    """Vectorization: in-process (fastest for cheap envs on few cores) or one process per env."""
    normalize: bool = False
    """Wrap training envs in SB3 ``VecNormalize`` (observation normalization)."""
    normalize_reward: bool = True
    """With ``normalize``: also normalize rewards during training (never during evaluation)."""
    total_timesteps: int = Field(default=100_000, ge=1, le=MAX_TIMESTEPS)
    """Training budget in environment steps (at most ``MAX_TIMESTEPS``)."""
    eval: EvalConfig = Field(default_factory=EvalConfig)
    """Evaluation schedule."""
    checkpoint_freq: int = Field(default=50_000, ge=0, le=MAX_TIMESTEPS)
    """Save a resumable checkpoint every this many environment steps; 0 only at the end."""
    checkpoint_keep: int = Field(default=2, ge=1, le=1000)
    """How many most recent checkpoints to keep on disk."""
    seed: int = Field(default=0, ge=0, le=MAX_SEED)
    """Seed of model, envs and evaluation envs (0 to ``MAX_SEED``)."""
    device: Literal["auto", "cpu", "cuda"] = "auto"
    """``auto``: CPU for PPO (MLP policies run faster there), CUDA if present for SAC/TD3."""
    torch_threads: int | None = Field(default=None, ge=1, le=MAX_THREADS)
    """Torch intra-op threads (at most ``MAX_THREADS``); null picks 1 on machines with <= 4
    cores (measured fastest)."""
    adaptation: AdaptationConfig | None = None
    """Online adaptation (RMA): phase 1 with the true dynamics encoded, phase 2 the adaptation
    module (:class:`AdaptationConfig`); PPO only. Null: a plain policy."""

    @field_validator("hyperparams")
    @classmethod
    def _finite_hyperparams(cls, v: dict[str, Any]) -> dict[str, Any]:
        for key, value in v.items():
            if isinstance(value, float) and not math.isfinite(value):
                raise ValueError(f"{key}: {value} is not a finite number")
            high = MAX_HYPERPARAM_SIZES.get(key)
            sb3_auto = key == "gradient_steps" and value == -1  # SB3: as many as env steps
            if (
                high is not None
                and isinstance(value, int)
                and not sb3_auto
                and not 1 <= value <= high
            ):
                raise ValueError(f"{key}: expected an integer from 1 to {high}, got {value}")
        return v

    @model_validator(mode="after")
    def _rollout_fits(self) -> ExperimentConfig:
        n_steps = self.hyperparams.get("n_steps")
        if isinstance(n_steps, int) and n_steps * self.n_envs > MAX_ROLLOUT:
            raise ValueError(
                f"hyperparams.n_steps x n_envs = {n_steps * self.n_envs} transitions per rollout; "
                f"at most {MAX_ROLLOUT}"
            )
        return self

    @model_validator(mode="after")
    def _adaptation_needs_ppo(self) -> ExperimentConfig:
        if self.adaptation is not None and self.algo != "ppo":
            raise ValueError(f"adaptation: needs algo ppo (got {self.algo}); set algo: ppo")
        if self.adaptation is not None and self.policy.kwargs.get("features_extractor_class"):
            raise ValueError("adaptation: sets the features extractor; drop it from policy.kwargs")
        if self.adaptation is not None and self.history is not None:
            raise ValueError(
                "adaptation: the adaptation module keeps its own history (adaptation.history); "
                "drop the history: block"
            )
        if self.adaptation is not None and self.policy.privileged_critic:
            raise ValueError(
                "adaptation: actor and critic already see the dynamics in phase 1; "
                "drop policy.privileged_critic"
            )
        return self

    @model_validator(mode="after")
    def _privileged_critic_fits(self) -> ExperimentConfig:
        if not self.policy.privileged_critic:
            return self
        if self.algo != "ppo":
            raise ValueError("policy.privileged_critic: PPO only (set algo: ppo)")
        if self.domain == "nominal" and self.adr is None:
            raise ValueError(
                "policy.privileged_critic: the critic sees the dynamics the randomization draws, "
                "and domain nominal draws none; train on a randomized domain (domain: source)"
            )
        if self.dynamics == "none":
            raise ValueError(
                "policy.privileged_critic: dynamics none gives no parameters to the critic; "
                "use dynamics: auto"
            )
        return self

    @model_validator(mode="after")
    def _known_env(self) -> ExperimentConfig:
        """The env exists (third-party settings are recorded for this process)."""
        try:
            register_env(self.env, self.gym_packages, self.env_kwargs, self.dynamics)
        except KeyError as exc:
            raise ValueError(f"env: {exc}") from None
        return self

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict (ADR settings included).

        ``policy.critic_layer_norm``/``privileged_critic``, ``history`` and the env settings
        appear only when not default, so
        configs of sim2real envs (and the cache keys hashed from them) written before those
        options existed stay the same."""
        data = drop_env_defaults(self.model_dump(mode="json"))
        if data.get("history") is None:
            data.pop("history", None)
        if data.get("adaptation") is None:
            data.pop("adaptation", None)
        for key in ("critic_layer_norm", "privileged_critic"):
            if not data["policy"].get(key):
                data["policy"].pop(key, None)
        return data

    def to_yaml(self) -> str:
        """The resolved config as YAML that :func:`load_config` reads back unchanged."""
        return yaml.safe_dump(self.to_dict(), sort_keys=False)

    def flat(self) -> dict[str, Any]:
        """``{"a.b": value}`` view (for hparams and markdown tables)."""
        return _flatten(self.to_dict())


def _flatten(d: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, Mapping) and v:
            out.update(_flatten(v, key + "."))
        else:
            out[key] = v
    return out


def apply_overrides(data: dict[str, Any], overrides: Iterable[str], source: str = "--set") -> None:
    """Apply ``a.b=value`` overrides in place; values are YAML literals (``3e-4``, ``[64, 64]``)."""
    for item in overrides:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"{source}: expected KEY=VALUE, got {item!r} (e.g. --set seed=3)")
        try:
            value = parse_yaml(raw) if raw.strip() else None
        except yaml.YAMLError:
            value = raw
        node = data
        parts = key.split(".")
        for part in parts[:-1]:
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            if not isinstance(child, dict):
                raise ConfigError(f"{source}: {key!r}: {part!r} is not a section")
            node = child
        node[parts[-1]] = value


def format_validation_error(
    where: str,
    err: ValidationError,
    unknown_key_hint: str = "see `sim2real pretrain --help`",
) -> str:
    """One line from a pydantic error: ``FILE: key.path: problem`` (first error, count of more)."""
    first = err.errors()[0]
    loc = ".".join(str(p) for p in first["loc"])
    msg = first["msg"].removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        msg = f"unknown key (check the spelling; {unknown_key_hint})"
    elif "input" in first and not isinstance(first["input"], dict | list):
        msg = f"{msg} (got {first['input']!r})"
    more = f" (+{len(err.errors()) - 1} more)" if len(err.errors()) > 1 else ""
    return f"{where}: {loc}: {msg}{more}" if loc else f"{where}: {msg}{more}"


def validate_model(
    model: type[M],
    data: Mapping[str, Any],
    where: str,
    unknown_key_hint: str = "see `sim2real pretrain --help`",
) -> M:
    """Validate ``data`` into ``model``; a problem is a one-line ConfigError naming the key."""
    try:
        return model.model_validate(dict(data))
    except ValidationError as err:
        raise ConfigError(format_validation_error(where, err, unknown_key_hint)) from None


def config_from_dict(data: Mapping[str, Any], where: str = "<config>") -> ExperimentConfig:
    """Validate a plain mapping; raises :class:`ConfigError` naming ``where`` and the key."""
    return validate_model(ExperimentConfig, data, where)


def find_config_file(
    path_or_name: str | Path,
    what: str = "config",
    listed: Callable[[str], bool] = lambda stem: True,
) -> Path:
    """A config file by path or by name in ``configs/``; if missing, a one-line ConfigError
    listing the shipped names that ``listed`` accepts."""
    path = find_data_file("configs", str(path_or_name))
    if path is None:
        known = sorted(p.stem for p in data_dir("configs").glob("*.yaml") if listed(p.stem))
        raise ConfigError(
            f"{what} {str(path_or_name)!r} not found: give a YAML path or one of {', '.join(known)}"
        )
    return path


def load_model(
    model: type[M],
    path: Path,
    overrides: Iterable[str] = (),
    *,
    unknown_key_hint: str = "see `sim2real pretrain --help`",
    complete: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
) -> M:
    """The one config loader: read the YAML mapping at ``path``, apply ``--set`` overrides,
    optionally ``complete`` the data (CLI flags, defaults from elsewhere), validate into
    ``model``. Every problem is a one-line :class:`ConfigError` naming the file and the key."""
    data = read_yaml_mapping(path)
    apply_overrides(data, overrides)
    if complete is not None:
        data = complete(data)
    return validate_model(model, data, str(path), unknown_key_hint)


def load_config(path_or_name: str | Path, overrides: Iterable[str] = ()) -> ExperimentConfig:
    """Load a config by path or by name in ``configs/`` and apply ``--set`` overrides.

    Raises:
        ConfigError: missing file, invalid YAML, unknown key or wrong type (one line).
    """
    return load_model(ExperimentConfig, find_config_file(path_or_name), overrides)
