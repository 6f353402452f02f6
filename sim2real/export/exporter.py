"""``export_policy``: SB3 model -> ``policies/NAME/{policy.onnx|policy.pt, weights.npz, metadata.json}``.

The artifact holds observation normalization, the deterministic actor and action unscaling/
clipping, with input ``obs`` and output ``actions``. Before anything is written to ``out``, the
artifact *and* the numpy controller backend are run on sampled observations (and on observations
from a short rollout in the env) and compared with SB3 ``predict(deterministic=True)`` on
VecNormalize'd observations; a difference above ``tolerance`` fails the export.
"""

from __future__ import annotations

import datetime as _dt
import importlib.util
import json
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Any, Literal

import gymnasium as gym
import numpy as np
import stable_baselines3
import torch

import sim2real
from sim2real.controller.adaptation import ADAPTATION_FILE
from sim2real.controller.artifact import (
    ARTIFACT_FILES,
    METADATA_FILE,
    METADATA_FORMAT,
    METADATA_VERSION,
    WEIGHTS_FILE,
    describe_history,
    describe_io,
    history_sources,
    onnx_metadata_props,
    sha256_file,
)
from sim2real.controller.history import HistorySpec
from sim2real.controller.numpy_backend import NumpyPolicy
from sim2real.controller.weights import MlpPolicyWeights
from sim2real.envs import make_env, resolve_env
from sim2real.envs.external import control_period_of, env_names
from sim2real.errors import ModelFileError, Sim2RealError, SpaceMismatchError, UnknownEnvError
from sim2real.export.adaptation import RMAExport, replay_pair, rma_rollout, rma_view
from sim2real.export.program import ExportedPolicy, policy_to_weights
from sim2real.export.verify import (
    compare,
    controller_actions,
    reference_actions,
    run_artifact,
    sample_observations,
)
from sim2real.training.history import HistoryObservation
from sim2real.training.loading import LoadedPolicy, load_policy

__all__ = ["ExportFormat", "export_policy"]

ExportFormat = Literal["onnx", "torchscript"]
ONNX_OPSET = 17
_ENV_SETTINGS = ("gym_packages", "env_kwargs", "dynamics")


def export_policy(
    run_or_model: Any,
    fmt: ExportFormat = "onnx",
    out: str | Path | None = None,
    *,
    vec_normalize: Any | None = None,
    env: str | None = None,
    domain: str | None = None,
    n_samples: int = 512,
    rollout_steps: int = 200,
    tolerance: float = 1e-5,
    seed: int = 0,
    overwrite: bool = False,
    best: bool = False,
) -> Path:
    """Export a policy and prove it equal to SB3; returns the folder written.

    Args:
        run_or_model: run directory, SB3 ``.zip`` or an SB3 model object.
        fmt: ``"onnx"`` or ``"torchscript"``.
        out: output folder (default ``policies/<run name>``); must not exist unless ``overwrite``.
        vec_normalize: ``VecNormalize`` (or path to ``vecnormalize.pkl``) for a bare model.
        env, domain: env name and training domain for the metadata (taken from the run if known).
        n_samples: random observations to verify on; ``rollout_steps`` more come from the env.
        tolerance: allowed difference to SB3 (times ``max(1, |action|)``).
        best: export a run directory's ``best_model.zip`` instead of ``model.zip``.

    Raises:
        ModelFileError: unreadable source, or the export is not equal to SB3.
        Sim2RealError: unsupported policy (non-MLP, discrete actions), bad arguments.
    """
    if fmt not in ARTIFACT_FILES:
        raise Sim2RealError(
            f"unknown export format {fmt!r}; use one of {', '.join(ARTIFACT_FILES)}"
        )
    if fmt == "onnx" and importlib.util.find_spec("onnx") is None:
        raise Sim2RealError(
            "ONNX export needs the export extra: pip install 'sim2real[export]' "
            "(or use --format torchscript)"
        )
    src = load_policy(run_or_model, vec_normalize=vec_normalize, env=env, domain=domain, best=best)
    src.model.policy.set_training_mode(False)
    rma = rma_view(src)  # an RMA policy: base network over [obs, z] + adaptation module
    if rma is not None:
        src = rma.base
    model, vn = src.model, src.vec_normalize
    weights = policy_to_weights(model.policy, vn)
    env_info = _env_info(src, weights, rma)
    out_dir = Path(out) if out is not None else Path("policies") / src.name
    _check_out(out_dir, overwrite)

    rng = np.random.default_rng(seed)
    obs = sample_observations(model.observation_space, vn, n_samples, rng)
    if env_info.get("rollout") is not None:
        obs = np.concatenate([obs, env_info.pop("rollout")])
    reference = reference_actions(model, vn, obs)

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}-", dir=out_dir.parent))
    try:
        artifact = tmp / ARTIFACT_FILES[fmt]
        try:
            _write_artifact(ExportedPolicy(weights).eval(), fmt, artifact, weights.obs_dim)
            io = _io(weights, env_info)
            if fmt == "onnx":
                _embed_onnx_props(artifact, io, env_info["history"])
        except Exception as exc:  # torch/onnx raise many types; report one line
            reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise ModelFileError(f"cannot write the {fmt} artifact: {reason}") from exc
        weights.save(tmp / WEIGHTS_FILE)
        errors = {
            fmt: compare(
                f"the {fmt} artifact", run_artifact(artifact, fmt, obs), reference, tolerance
            ),
            "numpy": compare(
                "the numpy controller backend",
                controller_actions(
                    NumpyPolicy(MlpPolicyWeights.load(tmp / WEIGHTS_FILE)),
                    obs,
                    weights.action_low,
                    weights.action_high,
                ),
                reference,
                tolerance,
            ),
        }
        if rma is not None:
            errors["numpy adaptation pair"] = _write_adaptation(rma, weights, env_info, tmp)
        meta = _metadata(src, weights, env_info, fmt, artifact, tmp / WEIGHTS_FILE)
        if rma is not None:
            meta["adaptation"] = rma.metadata
            meta["files"]["adaptation"] = {
                "file": ADAPTATION_FILE,
                "format": "npz",
                "sha256": sha256_file(tmp / ADAPTATION_FILE),
            }
        meta["io"] = io
        meta["history"] = env_info["history"]
        meta["verification"] = {
            "against": "stable_baselines3 predict(deterministic=True) on VecNormalize.normalize_obs(obs)",
            "observations": len(obs),
            "random_observations": n_samples,
            "tolerance": tolerance,
            "max_abs_error": errors,
            "seed": seed,
        }
        (tmp / METADATA_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        if out_dir.exists():
            shutil.rmtree(out_dir)
        tmp.rename(out_dir)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return out_dir


def _check_out(out_dir: Path, overwrite: bool) -> None:
    if not out_dir.exists():
        return
    if out_dir.is_file():
        raise Sim2RealError(f"{out_dir}: is a file; give a folder for the exported policy")
    if not any(out_dir.iterdir()):
        out_dir.rmdir()
        return
    if not (out_dir / METADATA_FILE).is_file():
        raise Sim2RealError(
            f"{out_dir}: exists and is not an exported policy; choose another --out"
        )
    if not overwrite:
        raise Sim2RealError(f"{out_dir}: already exists; pass --force to replace it")


def _write_artifact(module: ExportedPolicy, fmt: str, path: Path, obs_dim: int) -> None:
    example = torch.zeros(1, obs_dim, dtype=torch.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # legacy exporter / jit deprecation notices
        if fmt == "onnx":
            torch.onnx.export(
                module,
                (example,),
                str(path),
                input_names=["obs"],
                output_names=["actions"],
                dynamic_axes={"obs": {0: "batch"}, "actions": {0: "batch"}},
                opset_version=ONNX_OPSET,
                dynamo=False,
            )
            import onnx

            onnx.checker.check_model(onnx.load(str(path)))
        else:
            torch.jit.script(module).save(str(path))


def _io(weights: MlpPolicyWeights, env_info: dict[str, Any]) -> dict[str, Any]:
    """The metadata's ``io`` block (owned by :mod:`sim2real.controller.artifact`)."""
    return describe_io(
        observation_names=env_info["observation_names"],
        action_names=env_info["action_names"],
        action_low=weights.action_low,
        action_high=weights.action_high,
        control_period=env_info["control_period"],
        obs_mean=weights.obs_mean,
        obs_var=weights.obs_var,
        epsilon=weights.epsilon,
        clip_obs=weights.clip_obs,
        observation_sources=env_info.get("observation_sources"),
        action_commands=env_info.get("action_commands"),
    )


def _embed_onnx_props(path: Path, io: dict[str, Any], history: dict[str, Any] | None) -> None:
    """Write the key facts into the ONNX file's ``metadata_props``."""
    import onnx

    model = onnx.load(str(path))
    facts = {
        "format": METADATA_FORMAT,
        "format_version": METADATA_VERSION,
        "io": io,
        "history": history,
    }
    for key, value in onnx_metadata_props(facts).items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(model, str(path))


def _action_commands(env: Any, n_act: int) -> list[dict[str, Any]] | None:
    """How each action becomes a motor command: the env's ``action_commands``, else for a
    sim2real env (actions in [-1, 1] times the limit) its ``max_force`` (N) / ``max_torque`` /
    ``max_torques`` (N*m) at nominal motor strength; ``None``: unknown."""
    base = env.unwrapped
    given = getattr(base, "action_commands", None)
    if given is not None and len(given) == n_act:
        return [dict(c) for c in given]
    if not type(base).__module__.startswith("sim2real."):
        return None  # a third-party env's action semantics are its own
    for attr, units, quantity in (
        ("max_force", "N", "force"),
        ("max_torque", "N*m", "joint torque"),
        ("max_torques", "N*m", "joint torque"),
    ):
        value = getattr(base, attr, None)
        if isinstance(value, (int, float, tuple, list, np.ndarray)) and not isinstance(value, bool):
            scales = np.broadcast_to(np.asarray(value, np.float64), (n_act,))
            return [
                {"command_scale": float(x), "command_units": units, "command": quantity}
                for x in scales
            ]
    return None


def _write_adaptation(
    rma: RMAExport, weights: MlpPolicyWeights, env_info: dict[str, Any], tmp: Path
) -> float:
    """Write ``adaptation.npz`` and check the numpy pair against the torch pair on the rollout.

    Raises:
        ModelFileError: the pair differs from torch by more than 1e-5.
    """
    rma.adaptation.save(tmp / ADAPTATION_FILE)
    rollout = env_info.get("rma_rollout")
    if rollout is None:
        return 0.0
    module = MlpPolicyWeights.load(tmp / ADAPTATION_FILE)
    actual = replay_pair(weights, module, rma.metadata, rollout)
    return compare("the numpy adaptation pair", actual, rollout["actions"], 1e-5)


def _env_info(
    src: LoadedPolicy, weights: MlpPolicyWeights, rma: RMAExport | None = None
) -> dict[str, Any]:
    """Names, control period and a short rollout of the env the policy was trained on (an RMA
    policy's base network also reads the latent: its inputs are named after the env's)."""
    extra = rma.latent_names if rma is not None else []
    n_obs, n_act = weights.obs_dim - len(extra), weights.action_dim
    info: dict[str, Any] = {
        "env": src.env,
        "env_id": None,
        "observation_names": [*(f"obs[{i}]" for i in range(n_obs)), *extra],
        "action_names": [f"action[{i}]" for i in range(n_act)],
        "control_period": None,
        "history": None,
    }
    if src.env is None:
        if src.history is not None:
            raise SpaceMismatchError(
                "a policy with observation history needs its env to name the entries; pass --env"
            )
        return info

    env = _open_trained_env(src.env, info)
    if src.history is not None:
        base_env, env = env, HistoryObservation(env, src.history)
    try:
        if env.observation_space.shape != (n_obs,) or env.action_space.shape != (n_act,):
            raise SpaceMismatchError(
                f"the policy maps {n_obs} observations -> {n_act} actions but env {src.env} has "
                f"{env.observation_space.shape} -> {env.action_space.shape}; pass the env it was trained on"
            )
        real = bool(getattr(env.unwrapped, "is_real_robot", False))  # no rollout on hardware
        _, reset_info = env.reset(seed=0) if not real else (None, {})
        info["observation_names"], info["action_names"] = env_names(env, reset_info)
        info["observation_names"] = [*info["observation_names"], *extra]
        info["control_period"] = control_period_of(env)
        info["action_commands"] = _action_commands(env, n_act)
        info["observation_sources"] = _observation_sources(env, len(extra))
        if src.history is not None:
            _add_history(info, src.history, base_env)
        if rma is not None and not real:
            info["rma_rollout"] = rma_rollout(rma.agent, env)
            info["rollout"] = info["rma_rollout"]["rows"]
        else:
            info["rollout"] = _rollout(src, env) if not real else None
    finally:
        env.close()
    return info


def _open_trained_env(name: str, info: dict[str, Any]) -> gym.Env:
    """The env ``name`` (a sim2real env or a Gymnasium id); its names go into ``info``."""
    try:
        entry = resolve_env(name)
        info["env"], info["env_id"] = entry.name, entry.env_id
        return make_env(entry.name)
    except UnknownEnvError:
        pass
    try:
        env = gym.make(name)
    except gym.error.Error:
        raise SpaceMismatchError(
            f"env {name!r} is neither a sim2real env nor a Gymnasium id; fix --env"
        ) from None
    info["env_id"] = name
    return env


def _observation_sources(env: gym.Env, n_latent: int) -> list[dict[str, Any]] | None:
    """The env's observation sources (if it names them), then the adaptation module's latent."""
    sources = getattr(env.unwrapped, "observation_sources", None)
    if sources is None:
        return None
    latent = {"source": "adaptation module", "frame": None, "unit": None}
    return [*sources, *(dict(latent) for _ in range(n_latent))]


def _add_history(info: dict[str, Any], spec: HistorySpec, base_env: gym.Env) -> None:
    """The ``history`` block and the sources of the past entries (``info`` in place)."""
    obs_names, act_names = env_names(base_env)
    info["history"] = describe_history(spec, len(obs_names), len(act_names))
    info["observation_sources"] = history_sources(
        spec, obs_names, act_names, info["observation_sources"]
    )


def _rollout(src: LoadedPolicy, env: Any, steps: int = 200) -> np.ndarray:
    obs, _ = env.reset(seed=0)
    rows = []
    for _ in range(steps):
        rows.append(np.asarray(obs, np.float32))
        action = reference_actions(src.model, src.vec_normalize, rows[-1][None])[0]
        obs, _, terminated, truncated, _ = env.step(action.astype(np.float32))
        if terminated or truncated:
            obs, _ = env.reset()
    return np.stack(rows)


def _versions() -> dict[str, str]:
    versions = {
        "sim2real": sim2real.__version__,
        "stable_baselines3": stable_baselines3.__version__,
    }
    versions["torch"] = torch.__version__
    versions["numpy"] = np.__version__
    return versions


def _metadata(
    src: LoadedPolicy,
    weights: MlpPolicyWeights,
    env_info: dict[str, Any],
    fmt: str,
    artifact: Path,
    weights_path: Path,
) -> dict[str, Any]:
    period = env_info["control_period"]
    sources: dict[str, Any] = {
        "env": env_info["env"],
        "env_id": env_info["env_id"],
        "domain": src.domain,
        "path": str(src.loaded_from) if src.loaded_from is not None else None,
    }
    if src.config is not None and src.env == src.config.env:
        settings = {k: v for k, v in src.config.to_dict().items() if k in _ENV_SETTINGS}
        if settings:  # a third-party env: what `evaluate`/`deploy` need to rebuild it
            sources["env_settings"] = settings
    if src.model_file is not None and src.model_file.is_file():
        sources["model_file"] = src.model_file.name
        sources["model_sha256"] = sha256_file(src.model_file)
    return {
        "format": METADATA_FORMAT,
        "format_version": METADATA_VERSION,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "sim2real_version": sim2real.__version__,
        "versions": _versions(),
        "algorithm": src.algorithm,
        "source": sources,
        "observation": {
            "names": env_info["observation_names"],
            "shape": [weights.obs_dim],
            "dtype": "float32",
            "normalization": (
                {
                    "type": "VecNormalize",
                    "clip_obs": weights.clip_obs,
                    "epsilon": weights.epsilon,
                    "formula": "clip((obs - mean) / sqrt(var + epsilon), -clip_obs, clip_obs)",
                }
                if weights.normalized
                else None
            ),
        },
        "action": {
            "names": env_info["action_names"],
            "shape": [weights.action_dim],
            "dtype": "float32",
            "low": weights.action_low.tolist(),
            "high": weights.action_high.tolist(),
            "postprocess": (
                "tanh squash, unscaled from [-1, 1] to [low, high]"
                if weights.postprocess == "unscale"
                else "clipped to [low, high]"
            ),
        },
        "control_period": period,
        "control_rate_hz": (1.0 / period) if period else None,
        "network": {
            "ops": [op.kind for op in weights.ops],
            "hidden_sizes": [len(op.bias) for op in weights.ops if op.bias is not None][:-1],
        },
        "files": {
            "artifact": {
                "file": artifact.name,
                "format": fmt,
                "sha256": sha256_file(artifact),
                "input": "obs",
                "output": "actions",
                **({"opset": ONNX_OPSET} if fmt == "onnx" else {}),
            },
            "weights": {
                "file": weights_path.name,
                "format": "npz",
                "sha256": sha256_file(weights_path),
            },
        },
    }
