"""The bad-input corpus of issue 12.4, shared by ``tests/cli/test_bad_inputs.py`` (in-process)
and ``benchmarks/bad_inputs.py`` (one real ``sim2real`` process per input, old vs new code).

Every input must give exit status 2, exactly one stderr line starting ``error: ``, and leave
the guarded folder (a tiny run, its exported policy, plain and bad YAML files) byte-identical,
with no file or folder added. Placeholders in the arguments are filled by :func:`fill`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

__all__ = [
    "CORPUS",
    "READ_ONLY_INPUTS",
    "USAGE",
    "build_guarded",
    "fill",
    "lock",
    "snapshot",
    "unlock",
]

R, P, F, B = "{run}", "{pol}", "{file}", "{base}"
RO = "{base}/readonly"  # a read-only folder (mode 0555, and immutable for root: see lock)
PRE = ["pretrain", "smoke", "--quiet"]
TR = ["transfer", "transfer_finetune", "--from", R, "--quiet"]
BEN = ["benchmark", "quickstart", "--quiet"]
EV = ["evaluate", P, "--episodes", "1"]
DEP = ["deploy", P, "--seconds", "0.1"]
EXP = ["export", R, "--out", f"{B}/new_pol"]
SW = ["--sweep", "mass_scale=0.5:2:3"]
DEEP_LIST = "[" * 3000 + "]" * 3000

#: Click usage errors: the line must also point to ``sim2real <subcommand> --help``.
USAGE: dict[str, list[str]] = {
    "usage_no_command": ["nonsense"],
    "usage_pretrain_unknown_option": ["pretrain", "smoke", "--bogus"],
    "usage_pretrain_set_missing_value": ["pretrain", "smoke", "--set"],
    "usage_pretrain_seed_not_int": ["pretrain", "smoke", "--seed", "abc"],
    "usage_pretrain_extra_argument": ["pretrain", "smoke", "extra"],
    "usage_transfer_from_missing_value": ["transfer", "transfer_finetune", "--from"],
    "usage_transfer_unknown_option": ["transfer", "transfer_finetune", "--bogus"],
    "usage_benchmark_seeds_not_int": [*BEN, "--seeds", "abc"],
    "usage_benchmark_workers_float": [*BEN, "--workers", "1.5"],
    "usage_evaluate_missing_argument": ["evaluate"],
    "usage_evaluate_episodes_float": [*EV[:2], "--episodes", "1.5"],
    "usage_evaluate_video_episodes_word": [*EV, "--video-episodes", "many"],
    "usage_export_missing_argument": ["export"],
    "usage_export_samples_word": [*EXP, "--samples", "lots"],
    "usage_export_tolerance_word": [*EXP, "--tolerance", "tiny"],
    "usage_deploy_rate_word": ["deploy", P, "--rate", "abc"],
    "usage_deploy_seed_float": [*DEP, "--seed", "0.5"],
    "usage_inspect_missing_argument": ["inspect"],
    "usage_policies_show_missing_argument": ["policies", "show"],
    "usage_envs_unknown_subcommand": ["envs", "bogus"],
    "usage_envs_show_missing_argument": ["envs", "show"],
    "usage_envs_sample_n0": ["envs", "sample", "cartpole", "-n", "0"],
    "usage_envs_sample_n_word": ["envs", "sample", "cartpole", "-n", "abc"],
    "usage_envs_list_extra_argument": ["envs", "list", "extra"],
}

#: Everything else: library and CLI checks (one line, before any work or file is written).
CHECKS: dict[str, list[str]] = {
    # envs
    "envs_show_unknown": ["envs", "show", "nope"],
    # policy zoo
    "policies_show_unknown": ["policies", "show", "nope"],
    "policies_show_env_without_policy": ["policies", "show", "reacher"],
    "ev_zoo_unknown": ["evaluate", "zoo:nope", "--episodes", "1"],
    "exp_zoo_unknown": ["export", "zoo:nope", "--out", f"{B}/new_pol"],
    "tr_from_zoo_unknown": ["transfer", "transfer_finetune", "--from", "zoo:nope", "--quiet"],
    "envs_sample_unknown_env": ["envs", "sample", "nope"],
    "envs_sample_unknown_domain": ["envs", "sample", "cartpole", "--domain", "nope"],
    "envs_sample_missing_file": ["envs", "sample", "cartpole", "--domain", f"{B}/none.yaml:source"],
    "envs_sample_seed_neg": ["envs", "sample", "cartpole", "--seed", "-1"],
    "envs_sample_n_huge": ["envs", "sample", "cartpole", "-n", "1000000000000"],
    "envs_nan_domain": ["envs", "sample", "cartpole", "--domain", f"{B}/nan.yaml:source"],
    "envs_inf_domain": ["envs", "sample", "cartpole", "--domain", f"{B}/inf.yaml:source"],
    "envs_nan_constant": ["envs", "sample", "cartpole", "--domain", f"{B}/nan_const.yaml:source"],
    "envs_inf_push": ["envs", "sample", "cartpole", "--domain", f"{B}/inf_push.yaml:source"],
    "envs_nan_action_noise": [
        "envs",
        "sample",
        "cartpole",
        "--domain",
        f"{B}/nan_noise.yaml:source",
    ],
    "envs_deep_domain": ["envs", "sample", "cartpole", "--domain", f"{B}/deep.yaml:source"],
    "envs_deep_mapping_domain": [
        "envs",
        "sample",
        "cartpole",
        "--domain",
        f"{B}/deep_map.yaml:source",
    ],
    "envs_binary_domain": ["envs", "sample", "cartpole", "--domain", f"{B}/binary.yaml:source"],
    "envs_domain_is_folder": ["envs", "sample", "cartpole", "--domain", f"{B}:source"],
    "envs_named_source_is_a_target": [
        *("envs", "sample", "cartpole", "--domain", f"{B}/clash_sources.yaml:heavy")
    ],
    "envs_deadband_out_of_range": [
        *("envs", "sample", "cartpole", "--domain", f"{B}/bad_actuator.yaml:source_actuators")
    ],
    "envs_torque_speed_on_pd_robot": [
        *("envs", "sample", "quadruped", "--domain", f"{B}/pd_torque_speed.yaml:source")
    ],
    # pretrain: --set overrides and sizes
    "pre_set_no_equals": [*PRE, "--set", "total_timesteps"],
    "pre_set_empty_key": [*PRE, "--set", "=5"],
    "pre_set_unknown_key": [*PRE, "--set", "nope=1"],
    "pre_set_unknown_nested_key": [*PRE, "--set", "eval.nope=1"],
    "pre_set_under_scalar": [*PRE, "--set", "seed.x=1"],
    "pre_set_wrong_type": [*PRE, "--set", "n_envs=abc"],
    "pre_set_float_for_int": [*PRE, "--set", "total_timesteps=1.5"],
    "pre_set_bad_yaml": [*PRE, "--set", "policy.net_arch=[16"],
    "pre_set_deep_yaml": [*PRE, "--set", f"policy.net_arch={DEEP_LIST}"],
    "pre_set_bad_algo": [*PRE, "--set", "algo=dqn"],
    "pre_set_bad_hyperparam": [*PRE, "--set", "hyperparams.no_such_kwarg=1"],
    "pre_set_bad_activation": [*PRE, "--set", "policy.activation=sigmoidish"],
    "pre_timesteps_nan": [*PRE, "--set", "total_timesteps=.nan"],
    "pre_timesteps_inf": [*PRE, "--set", "total_timesteps=.inf"],
    "pre_timesteps_zero": [*PRE, "--set", "total_timesteps=0"],
    "pre_timesteps_neg": [*PRE, "--set", "total_timesteps=-5"],
    "pre_timesteps_huge": [*PRE, "--set", "total_timesteps=10000000000000"],
    "pre_n_envs_zero": [*PRE, "--set", "n_envs=0"],
    "pre_n_envs_huge": [*PRE, "--set", "n_envs=100000"],
    "pre_net_arch_huge": [*PRE, "--set", "policy.net_arch=[1000000000]"],
    "pre_net_arch_zero": [*PRE, "--set", "policy.net_arch=[0]"],
    "pre_n_steps_huge": [*PRE, "--set", "hyperparams.n_steps=100000000000"],
    "pre_batch_size_zero": [*PRE, "--set", "hyperparams.batch_size=0"],
    "pre_sac_buffer_huge": [
        *PRE,
        "--set",
        "algo=sac",
        "--set",
        "hyperparams={buffer_size: 100000000000000}",
    ],
    "pre_eval_episodes_huge": [*PRE, "--set", "eval.episodes=1000000000"],
    "pre_eval_freq_neg": [*PRE, "--set", "eval.freq=-1"],
    "pre_checkpoint_freq_neg": [*PRE, "--set", "checkpoint_freq=-64"],
    "pre_checkpoint_keep_zero": [*PRE, "--set", "checkpoint_keep=0"],
    "pre_torch_threads_huge": [*PRE, "--set", "torch_threads=100000"],
    "pre_lr_nan": [*PRE, "--set", "hyperparams.learning_rate=.nan"],
    "pre_lr_inf": [*PRE, "--set", "hyperparams.learning_rate=.inf"],
    "pre_gamma_inf": [*PRE, "--set", "hyperparams.gamma=.inf"],
    "pre_seed_neg": [*PRE, "--seed", "-1"],
    "pre_seed_huge": [*PRE, "--seed", "100000000000000000000"],
    "pre_set_seed_neg": [*PRE, "--set", "seed=-1"],
    "pre_set_seed_huge": [*PRE, "--set", "seed=100000000000000000000"],
    "ev_seed_huge": [*EV, "--seed", "100000000000000000000"],
    "dep_seed_huge": [*DEP, "--seed", "100000000000000000000"],
    "pre_device": [*PRE, "--device", "tpu"],
    "pre_unknown_env": [*PRE, "--set", "env=nope"],
    "pre_eval_unknown_target": [*PRE, "--set", "eval.targets=[nope]"],
    "pre_adr_unknown_param": [
        *PRE,
        "--set",
        "adr={parameters: {nope: {low: 0.5, high: 2, delta: 0.1}}, "
        "threshold_low: 1, threshold_high: 2}",
    ],
    "pre_sb3_warning_then_bad_out": [
        *PRE,
        "--set",
        "hyperparams.batch_size=48",  # SB3 warns about a truncated mini-batch
        "--out",
        "/proc/x",
    ],
    # pretrain: files and folders
    "pre_missing_cfg": ["pretrain", "no_such_config"],
    "pre_cfg_is_folder": ["pretrain", B],
    "pre_binary_cfg": ["pretrain", f"{B}/binary.yaml"],
    "pre_cfg_not_mapping": ["pretrain", f"{B}/list_cfg.yaml"],
    "pre_deep_yaml": ["pretrain", f"{B}/deep_cfg.yaml", "--quiet"],
    "pre_deep_mapping_yaml": ["pretrain", f"{B}/deep_map_cfg.yaml", "--quiet"],
    "pre_nan_cfg": ["pretrain", f"{B}/nan_cfg.yaml", "--quiet"],
    "pre_inf_cfg": ["pretrain", f"{B}/inf_cfg.yaml", "--quiet"],
    "pre_nan_domain": [*PRE, "--set", f"domain={B}/nan.yaml:source"],
    "pre_inf_domain": [*PRE, "--set", f"domain={B}/inf.yaml:source"],
    "pre_deep_domain": [*PRE, "--set", f"domain={B}/deep.yaml:source"],
    "pre_unknown_domain": [*PRE, "--set", "domain=no_such_target"],
    "pre_out_under_file": [*PRE, "--out", f"{F}/sub"],
    "pre_out_proc": [*PRE, "--out", "/proc/x"],
    "pre_out_proc_deep": [*PRE, "--out", "/proc/x/y/z"],
    "pre_out_sys": [*PRE, "--out", "/sys/x"],
    "pre_out_readonly": [*PRE, "--out", f"{RO}/run"],
    "pre_out_existing": [*PRE, "--out", R],
    "pre_out_is_file": [*PRE, "--out", F],
    "pre_bad_set_new_out": [*PRE, "--out", f"{B}/new_run", "--set", "n_envs=0"],
    "pre_history_zero": [*PRE, "--set", "history.length=0"],
    "pre_history_negative": [*PRE, "--set", "history={length: -1}"],
    "pre_adaptation_sac": [*PRE, "--set", "algo=sac", "--set", "adaptation={}"],
    "pre_adaptation_with_history": [*PRE, "--set", "adaptation={}", "--set", "history.length=2"],
    "pre_adaptation_latent_zero": [*PRE, "--set", "adaptation.latent_dim=0"],
    "pre_adaptation_unknown_key": [*PRE, "--set", "adaptation.nope=1"],
    "pre_adaptation_history_huge": [*PRE, "--set", "adaptation.history=100000"],
    "pre_adaptation_privileged": [
        *PRE,
        "--set",
        "adaptation={}",
        "--set",
        "policy.privileged_critic=true",
        "--set",
        "domain=source",
    ],
    "pre_privileged_nominal": [*PRE, "--set", "policy.privileged_critic=true"],
    "pre_privileged_sac": [
        *PRE,
        "--set",
        "policy.privileged_critic=true",
        "--set",
        "domain=source",
        "--set",
        "algo=sac",
    ],
    "pre_resume_missing": ["pretrain", "--resume", f"{B}/no_such_run"],
    "pre_resume_file": ["pretrain", "--resume", F],
    "pre_resume_not_a_run": ["pretrain", "--resume", B],
    "pre_resume_budget_done": ["pretrain", "--resume", R, "--set", "total_timesteps=32"],
    "pre_resume_other_env": ["pretrain", "--resume", R, "--set", "env=hopper"],
    "pre_resume_finished_same_budget": ["pretrain", "smoke", "--resume", R],
    "pre_resume_finished": ["pretrain", "--resume", R],
    # transfer
    "ben_quick_not_a_suite": [*BEN, "--quick"],
    "ben_suite_out_nonempty": ["benchmark", "suite", "--out", f"{B}/nonempty", "--quiet"],
    "ben_suite_out_file": ["benchmark", "suite", "--out", F, "--quiet"],
    "tr_missing_cfg": ["transfer", "no_such_config", "--from", R],
    "tr_from_missing": ["transfer", "transfer_finetune", "--from", f"{B}/no_such_run"],
    "tr_history_mismatch": [*TR, "--set", "history={length: 2}"],
    "tr_from_file": ["transfer", "transfer_finetune", "--from", F],
    "tr_from_policy_folder": ["transfer", "transfer_finetune", "--from", P],
    "tr_timesteps_huge": [*TR, "--set", "total_timesteps=10000000000000"],
    "tr_n_envs_huge": [*TR, "--set", "n_envs=100000"],
    "tr_set_unknown_key": [*TR, "--set", "transfer.nope=1"],
    "tr_unknown_part": [*TR, "--set", "transfer.copy=[no_such_part]"],
    "tr_unknown_strategy": [*TR, "--set", "transfer.strategy=[magic]"],
    "tr_l2sp_nan": [*TR, "--set", "transfer.strategy=[l2sp]", "--set", "transfer.l2sp_alpha=.nan"],
    "tr_lr_multiplier_inf": [
        *TR,
        "--set",
        "transfer.strategy=[layerwise_lr]",
        "--set",
        "transfer.lr_multipliers={actor: .inf}",
    ],
    "tr_lr_nan": [*TR, "--set", "hyperparams.learning_rate=.nan"],
    "tr_deep_set": [*TR, "--set", f"transfer.copy={DEEP_LIST}"],
    "tr_sb3_warning_then_bad_part": [
        *TR,
        "--set",
        "hyperparams.batch_size=48",  # SB3 warns while building the agent, then the error
        "--set",
        "transfer.copy=[no_such_part]",
    ],
    "tr_out_under_file": [*TR, "--out", f"{F}/sub"],
    "tr_out_proc": [*TR, "--out", "/proc/x"],
    "tr_out_readonly": [*TR, "--out", f"{RO}/run"],
    "tr_out_existing": [*TR, "--out", R],
    "tr_unknown_target": [*TR, "--target", "cartpole:no_such_target"],
    "tr_unknown_target_env": [*TR, "--target", "nope:heavy_pole"],
    "tr_other_env_target": [*TR, "--target", "hopper:heavy"],
    "tr_nan_domain": [*TR, "--target", f"cartpole:{B}/nan.yaml:source"],
    "tr_inf_domain": [*TR, "--target", f"cartpole:{B}/inf.yaml:source"],
    "tr_deep_domain": [*TR, "--target", f"cartpole:{B}/deep.yaml:source"],
    "tr_resume_missing": ["transfer", "--resume", f"{B}/no_such_run"],
    # benchmark
    "ben_missing_cfg": ["benchmark", "no_such_benchmark"],
    "ben_deep_cfg": ["benchmark", f"{B}/deep_benchmark.yaml"],
    "ben_nan_cfg": ["benchmark", f"{B}/nan_benchmark.yaml", "--quiet"],
    "ben_unknown_target": [*BEN, "--set", "target=no_such_target"],
    "ben_unknown_env": [*BEN, "--set", "env=nope"],
    "ben_nan_target": [*BEN, "--set", f"target={B}/nan.yaml:source"],
    "ben_inf_target": [*BEN, "--set", f"target={B}/inf.yaml:source"],
    "ben_unknown_source_run": [*BEN, "--set", f"source.run={B}/no_such_run"],
    "ben_unknown_arm_part": [*BEN, "--set", "arms={bad: {copy: [no_such_part]}}"],
    "ben_out_under_file": [*BEN, "--out", f"{F}/sub"],
    "ben_out_proc": [*BEN, "--out", "/proc/x"],
    "ben_out_readonly": [*BEN, "--out", f"{RO}/bench"],
    "ben_out_foreign": [*BEN, "--out", R],
    "ben_out_nonempty": [*BEN, "--out", f"{B}/nonempty"],
    "ben_out_other_benchmark": [*BEN, "--out", f"{B}/other_benchmark"],
    "ben_budget_zero": [*BEN, "--set", "budget=0"],
    "ben_budget_huge": [*BEN, "--set", "budget=100000000000000"],
    "ben_budget_nan": [*BEN, "--set", "budget=.nan"],
    "ben_seeds_zero": [*BEN, "--seeds", "0"],
    "ben_seeds_huge": [*BEN, "--seeds", "100000"],
    "ben_set_seeds_huge": [*BEN, "--set", "seeds=100000000"],
    "ben_set_seeds_neg": [*BEN, "--set", "seeds=[-1, 2]"],
    "ben_set_seed_huge": [*BEN, "--set", "seeds=[0, 100000000000]"],
    "ben_bootstrap_seed_neg": [*BEN, "--set", "metrics.seed=-1"],
    "ben_workers_zero": [*BEN, "--workers", "0"],
    "ben_workers_huge": [*BEN, "--workers", "1000000"],
    "ben_eval_every_zero": [*BEN, "--set", "eval.every=0"],
    "ben_eval_episodes_huge": [*BEN, "--set", "eval.episodes=1000000000"],
    "ben_zero_shot_episodes_huge": [*BEN, "--set", "eval.zero_shot_episodes=1000000000"],
    "ben_train_override_huge": [*BEN, "--set", "train={n_envs: 100000}"],
    "ben_threshold_nan": [*BEN, "--set", "metrics.threshold=.nan"],
    "ben_threshold_inf": [*BEN, "--set", "metrics.threshold=.inf"],
    "ben_confidence_one": [*BEN, "--set", "metrics.confidence=1.5"],
    "ben_n_boot_huge": [*BEN, "--set", "metrics.n_boot=1000000000000"],
    "ben_backend": [*BEN, "--backend", "nonsense"],
    "ben_set_unknown_key": [*BEN, "--set", "nope=1"],
    # evaluate, sweeps, videos
    "ev_backend": [*EV, "--backend", "nonsense"],
    "ev_seed_neg": [*EV, "--seed", "-1"],
    "ev_run_seed_neg": ["evaluate", R, "--seed", "-1"],
    "ev_episodes_0": [*EV[:2], "--episodes", "0"],
    "ev_episodes_neg": [*EV[:2], "--episodes", "-3"],
    "ev_episodes_huge": [*EV[:2], "--episodes", "1000000000"],
    "ev_missing_policy": ["evaluate", f"{B}/no_such_policy"],
    "ev_not_a_policy": ["evaluate", F],
    "ev_folder_not_a_policy": ["evaluate", B],
    "ev_unknown_target": [*EV, "--target", "cartpole:no_such_target"],
    "ev_unknown_target_env": [*EV, "--target", "nope:heavy_pole"],
    "ev_wrong_env_target": [*EV, "--target", "hopper:heavy"],
    # --compare-engines (sim2sim): a robot without a MuJoCo twin (manipulator's comes with the
    # URDF loader; then this is the policy/env space mismatch, still one line), a bad target,
    # options it does not combine with
    "ev_compare_no_twin": [*EV, "--target", "manipulator", "--compare-engines"],
    "ev_compare_unknown_target": [*EV, "--target", "cartpole@mujoco:nope", "--compare-engines"],
    "ev_compare_wrong_env": [*EV, "--target", "hopper@mujoco", "--compare-engines"],
    "ev_compare_with_sweep": [*EV, *SW, "--compare-engines"],
    "ev_nan_target": [*EV, "--target", f"cartpole:{B}/nan.yaml:source"],
    "ev_inf_target": [*EV, "--target", f"cartpole:{B}/inf.yaml:source"],
    "ev_deep_target": [*EV, "--target", f"cartpole:{B}/deep.yaml:source"],
    "ev_sweep_points_huge": [*EV, "--sweep", "mass_scale=0.5:2:1000000000"],
    "ev_sweep_grid_huge": [
        *EV,
        "--sweep",
        "mass_scale=0.5:2:5000",
        "--sweep",
        "gravity=-12:-6:5000",
    ],
    "ev_sweep_three_axes": [*EV, *SW, *SW, *SW],
    "ev_sweep_points_zero": [*EV, "--sweep", "mass_scale=0.5:2:0"],
    "ev_sweep_nan": [*EV, "--sweep", "mass_scale=nan:2:3"],
    "ev_sweep_inf": [*EV, "--sweep", "mass_scale=0.5:inf:3"],
    "ev_sweep_syntax": [*EV, "--sweep", "mass_scale"],
    "ev_sweep_unknown_param": [*EV, "--sweep", "nope=0:1:3"],
    "ev_sweep_unknown_entity": [*EV, "--sweep", "mass_scale.nope=0.5:2:3"],
    "ev_sweep_out_of_range": [*EV, "--sweep", "mass_scale=-5:2:3"],
    "ev_sweep_out_file": [*EV, *SW, "--out", f"{F}/sub"],
    "ev_sweep_out_proc": [*EV, *SW, "--out", "/proc/x"],
    "ev_sweep_out_readonly": [*EV, *SW, "--out", f"{RO}/sweep"],
    "ev_video_under_file": [*EV, "--video", f"{F}/v.gif"],
    "ev_video_proc": [*EV, "--video", "/proc/x/v.gif"],
    "ev_video_readonly": [*EV, "--video", f"{RO}/v.gif"],
    "ev_video_is_folder": [*EV, "--video", B],
    "ev_video_suffix": [*EV, "--video", f"{B}/v.avi"],
    "ev_video_episodes_0": [*EV, "--video", f"{B}/v.gif", "--video-episodes", "0"],
    "ev_video_episodes_huge": [*EV, "--video", f"{B}/v.gif", "--video-episodes", "1000000000"],
    # export
    "exp_samples_0": [*EXP, "--samples", "0"],
    "exp_samples_neg": [*EXP, "--samples", "-1"],
    "exp_samples_huge": [*EXP, "--samples", "1000000000000"],
    "exp_tolerance_nan": [*EXP, "--tolerance", "nan"],
    "exp_tolerance_neg": [*EXP, "--tolerance", "-1"],
    "exp_format": [*EXP, "--format", "tflite"],
    "exp_missing_run": ["export", f"{B}/no_such_run", "--out", f"{B}/new_pol"],
    "exp_not_a_model": ["export", F, "--out", f"{B}/new_pol"],
    "exp_zip_unknown_env": ["export", f"{B}/bare.zip", "--env", "nope", "--out", f"{B}/new_pol"],
    "exp_vecnormalize_missing": [*EXP, "--vecnormalize", f"{B}/no_such.pkl"],
    "exp_out_under_file": ["export", R, "--out", f"{F}/sub"],
    "exp_out_proc": ["export", R, "--out", "/proc/x"],
    "exp_out_readonly": ["export", R, "--out", f"{RO}/pol"],
    "exp_out_existing_policy": ["export", R, "--out", P],
    # deploy
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
    "dep_on_nonfinite": [*DEP, "--on-nonfinite", "explode"],
    "dep_run_not_artifact": ["deploy", R, "--seconds", "0.1"],
    "dep_missing_policy": ["deploy", f"{B}/no_such_policy"],
    "dep_unknown_target": [*DEP, "--target", "cartpole:no_such_target"],
    "dep_tampered_weights": ["deploy", f"{B}/tampered", "--seconds", "0.1"],
    "ev_tampered_weights": ["evaluate", f"{B}/tampered", "--episodes", "1"],
    "ev_tampered_onnxruntime": [
        "evaluate",
        f"{B}/tampered",
        "--episodes",
        "1",
        "--backend",
        "onnxruntime",
    ],
    # inspect
    "inspect_file": ["inspect", F],
    "inspect_missing": ["inspect", f"{B}/no_such_run"],
    "inspect_folder": ["inspect", B],
    # any env from a config (issue 18.1)
    "pre_env_unknown_gym_id": [*PRE, "--set", "env=NoSuchEnv-v0"],
    "pre_env_gym_package_missing": [
        *PRE,
        "--set",
        "env=NoSuchEnv-v0",
        "--set",
        "gym_packages=[no_such_pkg_xyz]",
    ],
    "pre_env_module_missing": [*PRE, "--set", "env=no_such_module_xyz:RobotEnv"],
    "pre_env_class_missing": [*PRE, "--set", "env=collections:NoSuchRobot"],
    "pre_env_class_not_env": [*PRE, "--set", "env=collections:OrderedDict"],
    "pre_env_bad_dynamics": [*PRE, "--set", "env=Pendulum-v1", "--set", "dynamics=bogus"],
    "pre_env_dynamics_not_env": [*PRE, "--set", "env=Pendulum-v1", "--set", "dynamics=env"],
    "pre_env_bad_kwargs": [*PRE, "--set", "env=Pendulum-v1", "--set", "env_kwargs={no_kw: 1}"],
    "pre_own_env_bad_kwarg_value": [
        *PRE,
        "--set",
        "env=quadruped",
        "--set",
        "domain=nominal",
        "--set",
        "env_kwargs={gait: gallop}",
    ],
    "pre_own_env_unknown_kwarg": [*PRE, "--set", "env=cartpole", "--set", "env_kwargs={speed: 3}"],
    "pre_env_domain_unknown_param": [
        *PRE,
        "--set",
        "env=Pendulum-v1",
        "--set",
        f"domain={B}/user_env.yaml:source",
    ],
    "pre_env_pybullet_domain_unknown_param": [
        *PRE,
        "--set",
        "env=HopperBulletEnv-v0",
        "--set",
        "gym_packages=[pybullet_envs_gymnasium]",
        "--set",
        f"domain={B}/user_env.yaml:source",
    ],
    "ev_env_unknown_gym_id": [*EV, "--target", "NoSuchEnv-v0:nominal"],
}

CORPUS: dict[str, list[str]] = {**USAGE, **CHECKS}

#: Inputs writing under the read-only folder (see :func:`lock`).
READ_ONLY_INPUTS = frozenset(name for name, args in CORPUS.items() if any(RO in a for a in args))

NAN_DOMAIN = "source:\n  parameters:\n    mass_scale: {dist: uniform, low: .nan, high: 1.2}\n"
DEEP_MAP = "a: " * 2000 + "1\n"


def fill(args: list[str], base: Path) -> list[str]:
    """Replace the placeholders by paths in the guarded folder ``base``."""
    subs = {R: base / "run", P: base / "pol", F: base / "file", B: base}
    out = []
    for arg in args:
        for key, value in subs.items():
            arg = arg.replace(key, str(value))
        out.append(arg)
    return out


def build_guarded(base: Path, cli: Callable[[list[str]], None]) -> None:
    """Fill ``base`` with a tiny run and its exported policy (made by ``cli(args)``, so by the
    code under test) and the bad files the corpus refers to; ``base/readonly`` is left
    writable (:func:`lock` it)."""
    cli(["pretrain", "smoke", "--out", str(base / "run"), "--quiet", "--set", "eval.freq=0"])
    cli(["export", str(base / "run"), "--out", str(base / "pol"), "--samples", "8"])
    cli(["export", str(base / "run"), "--out", str(base / "tampered"), "--samples", "8"])
    weights = base / "tampered" / "weights.npz"
    if weights.exists():
        data = bytearray(weights.read_bytes())
        data[-40] ^= 0xFF
        weights.write_bytes(bytes(data))
    else:  # an ONNX-only artifact: tamper with the model file instead
        onnx = next((base / "tampered").glob("*.onnx"))
        onnx.write_bytes(onnx.read_bytes()[:-1] + b"\x00")
    smoke = (Path(__file__).parents[2] / "configs" / "smoke.yaml").read_text()
    quickstart = (Path(__file__).parents[2] / "configs" / "quickstart.yaml").read_text()
    files = {
        "file": "not a folder\n",
        "nan.yaml": NAN_DOMAIN,
        "inf.yaml": NAN_DOMAIN.replace(".nan", ".inf"),
        "nan_const.yaml": "source:\n  parameters:\n    mass_scale: .nan\n",
        "inf_push.yaml": "source:\n  pushes: {interval: 10, force: .inf}\n",
        "nan_noise.yaml": "source:\n  action_noise: {std: .nan}\n",
        "deep.yaml": f"source: {DEEP_LIST}\n",
        "deep_map.yaml": f"source:\n  parameters: {DEEP_MAP}",
        "deep_cfg.yaml": f"env: cartpole\nhyperparams: {DEEP_LIST}",
        "deep_map_cfg.yaml": f"env: cartpole\nhyperparams: {DEEP_MAP}",
        "deep_benchmark.yaml": f"benchmark: deep\nenv: cartpole\narms: {DEEP_LIST}\n",
        "list_cfg.yaml": "- env: cartpole\n",
        "nan_cfg.yaml": smoke + "hyperparams: {gamma: .nan}\n",
        "inf_cfg.yaml": smoke + "total_timesteps: .inf\n",
        "nan_benchmark.yaml": quickstart.replace("threshold: 800", "threshold: .nan"),
        "nonempty/notes.txt": "someone's files\n",
        "user_env.yaml": "source:\n  parameters:\n    no_such_parameter: 1.0\n",
        "clash_sources.yaml": "sources:\n  heavy: {}\ntargets:\n  heavy: {}\n",
        "bad_actuator.yaml": "sources:\n  source_actuators:\n    parameters:\n"
        "      motor_deadband: 0.9\n",
        "pd_torque_speed.yaml": "source:\n  parameters:\n    motor_velocity_limit: 20.0\n",
        "other_benchmark/benchmark.json": json.dumps({"run_key": "another config"}) + "\n",
    }
    for name, text in files.items():
        (base / name).parent.mkdir(parents=True, exist_ok=True)
        (base / name).write_text(text)
    (base / "binary.yaml").write_bytes(bytes(range(256)) * 4)
    (base / "bare.zip").write_bytes((base / "run" / "model.zip").read_bytes())
    (base / "readonly").mkdir()
    (base / "cwd").mkdir()  # the working directory of every input (default outputs land here)


def snapshot(base: Path) -> dict[str, str]:
    """Every path under ``base``: a sha256 per file, ``dir`` per folder."""
    return {
        str(p.relative_to(base)): (
            hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
        )
        for p in sorted(base.rglob("*"))
    }


def lock(folder: Path) -> bool:
    """Make ``folder`` read-only: mode 0555, and for root (who writes there anyway) the
    immutable attribute (``chattr +i``). False if that is not possible here."""
    folder.chmod(0o555)
    if os.geteuid() != 0:
        return True
    try:
        return subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode == 0
    except OSError:
        return False


def unlock(folder: Path) -> None:
    """Undo :func:`lock`."""
    if os.geteuid() == 0:
        with contextlib.suppress(OSError):
            subprocess.run(["chattr", "-i", str(folder)], capture_output=True)
    folder.chmod(0o755)
