"""``transfer(source, target_env, spec) -> model``: a new agent on the target from named source parts."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.vec_env import VecEnv

from sim2real.config import validate_model
from sim2real.errors import ConfigError
from sim2real.training.loading import LoadedPolicy, load_policy
from sim2real.transfer.adapters import (
    ObsAdapterExtractor,
    SpaceMaps,
    check_spaces,
    env_entry_names,
)
from sim2real.transfer.algorithms import TransferMixin, transfer_class_for
from sim2real.transfer.finetune import apply_finetune, check_options, surgery_spec
from sim2real.transfer.normalization import carry_normalization, find_vec_normalize
from sim2real.transfer.spec import TransferSpec
from sim2real.transfer.surgery import TransferLog, apply_transfer

__all__ = ["rebuild_as", "transfer"]

# attributes of a template model that must not leak into the new agent
_RESET = {
    "num_timesteps": 0,
    "_n_updates": 0,
    "_episode_num": 0,
    "_num_timesteps_at_start": 0,
    "_last_obs": None,
    "_last_original_obs": None,
    "_last_episode_starts": None,
    "ep_info_buffer": None,
    "ep_success_buffer": None,
}
_FROM_ENV = ("observation_space", "action_space", "n_envs", "env", "_vec_normalize_env")


def rebuild_as(
    template: BaseAlgorithm,
    cls: type[BaseAlgorithm],
    env: VecEnv,
    *,
    overrides: dict[str, Any] | None = None,
    policy_kwargs: dict[str, Any] | None = None,
    seed: int | None = None,
) -> BaseAlgorithm:
    """A new, untrained ``cls`` model on ``env`` with the hyperparameters of ``template``.

    Uses SB3's own save/load protocol (constructor with ``_init_setup_model=False``, saved
    attributes, ``_setup_model``) on the attributes SB3 would save, minus training progress.
    """
    data = template.__dict__.copy()
    names, variables = template._get_torch_save_params()
    excluded = set(template._excluded_save_params()) | {n.split(".")[0] for n in names + variables}
    data = {k: v for k, v in data.items() if k not in excluded and k not in _FROM_ENV}
    data = copy.deepcopy(data)
    data.update(_RESET)
    if policy_kwargs:
        data["policy_kwargs"] = {**data.get("policy_kwargs", {}), **policy_kwargs}
    if seed is not None:
        data["seed"] = seed
    if (
        "target_entropy" in data
        and template.action_space.shape != env.action_space.shape
        and not isinstance(data["target_entropy"], str)
    ):
        data["target_entropy"] = "auto"
    data.update(overrides or {})
    model = cls(
        policy=data["policy_class"],
        env=env,
        device=template.device,
        _init_setup_model=False,  # type: ignore[call-arg]
    )
    model.__dict__.update(data)
    model._setup_model()
    return model


def _space_maps(
    source: LoadedPolicy, target: BaseAlgorithm | VecEnv, spec: TransferSpec, names: dict
) -> SpaceMaps:
    src_o, src_a = env_entry_names(source.env) if source.env else (None, None)
    if source.history is not None and src_o and src_a:  # the source's input: names extended
        src_o = source.history.names(src_o, src_a)
    tgt_o, tgt_a = env_entry_names(target)
    given = {
        "source_obs": src_o,
        "source_act": src_a,
        "target_obs": tgt_o,
        "target_act": tgt_a,
        **{k: v for k, v in names.items() if v is not None},
    }
    return check_spaces(
        source.model.observation_space,
        source.model.action_space,
        target.observation_space,
        target.action_space,
        spec.adapter,
        given,
    )


def transfer(
    source: Any,
    target_env: VecEnv,
    spec: TransferSpec | dict[str, Any] | None = None,
    *,
    template: BaseAlgorithm | None = None,
    names: dict[str, list[str] | None] | None = None,
    seed: int | None = None,
    normalize: bool = True,
    collect_source: bool = True,
) -> BaseAlgorithm:
    """A new PPO/SAC/TD3 agent on ``target_env`` built from named parts of ``source``.

    Args:
        source: an SB3 model, a ``.zip``, a run directory or a
            :class:`~sim2real.training.LoadedPolicy`.
        target_env: the target vec env (a ``VecNormalize`` in it receives the source's
            statistics according to ``spec.normalization``).
        spec: what/how/when to transfer (:class:`TransferSpec` or its dict); default fine-tune all.
        template: a model whose hyperparameters the new agent takes (e.g. built from the target
            config); default the source's own hyperparameters.
        names: entry names overriding the envs' (``source_obs``, ``target_obs``, ``source_act``,
            ``target_act``), for ``adapter: match_names`` with plain SB3 envs.
        seed: seed of the new agent (fresh parts' init and exploration).
        normalize: apply the normalization carry-over (off when resuming a run whose target
            statistics were restored from a checkpoint).
        collect_source: collect the ``source_replay`` transitions (off when resuming: the
            checkpoint's replay buffer holds them).

    Returns:
        The new agent (a :class:`~sim2real.transfer.algorithms.TransferMixin` subclass of the
        source's algorithm); ``model.transfer_info`` holds the transfer log.

    Raises:
        ConfigError, SpaceMismatchError, ModelFileError: with a one-line message and the fix.
    """
    if spec is None:
        spec = TransferSpec.model_validate({})
    elif not isinstance(spec, TransferSpec):
        spec = validate_model(TransferSpec, spec, "transfer", "see docs/transfer.md")
    src = load_policy(source)
    cls = transfer_class_for(src.model)
    if template is not None and transfer_class_for(template) is not cls:
        raise ConfigError(
            f"the source is {type(src.model).__name__} but the target config builds "
            f"{type(template).__name__}: transfer needs the same algorithm (set algo accordingly)"
        )
    maps = _space_maps(src, target_env, spec, names or {})
    model = rebuild_as(
        template or src.model, cls, target_env, policy_kwargs=_adapter_kwargs(src, maps), seed=seed
    )
    assert isinstance(model, TransferMixin)
    for module in model.policy.modules():
        if isinstance(module, ObsAdapterExtractor):
            module.reset_to_map()
    log: TransferLog = apply_transfer(src.model, model, surgery_spec(spec), maps)
    check_options(spec, model, maps, log)
    finetune = apply_finetune(
        src, model, spec, log, seed=0 if seed is None else seed, collect=collect_source
    )
    note = _normalization(src, target_env, spec, maps, normalize)
    if note is not None:
        log.notes.append(note)
    if not maps.identical:
        log.notes.append(
            "spaces adapted: " + ("input layer" if maps.obs_adapter else "entries matched by name")
        )
    model.transfer_info = {
        "source": str(src.path) if src.path is not None else type(src.model).__name__,
        "source_env": src.env,
        "spec": spec.model_dump(mode="json", by_alias=True),
        "log": log.to_dict(),
        **({"finetune": finetune} if finetune else {}),
    }
    return model


def _adapter_kwargs(src: LoadedPolicy, maps: SpaceMaps) -> dict[str, Any]:
    """Policy kwargs of an input-layer adapter (``{}`` when the observations need none)."""
    if not maps.obs_adapter:
        return {}
    extractor = getattr(src.model.policy, "features_extractor_class", None)
    if getattr(extractor, "__name__", "") != "FlattenExtractor":
        raise ConfigError("adapter input_layer needs a source with the default flatten extractor")
    return {
        "features_extractor_class": ObsAdapterExtractor,
        "features_extractor_kwargs": {
            "source_dim": int(np.prod(src.model.observation_space.shape or (1,))),
            "init_map": list(maps.obs.target_of),
        },
    }


def _normalization(
    src: LoadedPolicy, target_env: VecEnv, spec: TransferSpec, maps: SpaceMaps, carry: bool
) -> str | None:
    """Carry the source's statistics over (the log note), or, on resume, only freeze them."""
    if carry:
        obs_map = None if maps.obs_adapter else maps.obs
        how = carry_normalization(src.vec_normalize, target_env, spec.normalization, obs_map)
        return "observation normalization: " + how
    if spec.normalization == "freeze":
        vn = find_vec_normalize(target_env)
        if vn is not None:
            vn.training = False
    return None
