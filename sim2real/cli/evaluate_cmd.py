"""``sim2real evaluate``: returns of any policy on any target; robustness sweeps; videos."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

__all__ = ["register"]


def _default_out(agent: Any) -> Path:
    run_path = getattr(agent, "run_path", None)
    return Path(run_path) / "eval" if run_path is not None else Path("eval") / agent.name


def _check_options(
    episodes: int,
    seed: int,
    sweep: list[str],
    video: Path | None,
    video_episodes: int,
    backend: str,
) -> list[Any]:
    """Everything checkable without loading the policy; returns the parsed sweep axes."""
    from sim2real.cli._checks import check_count, check_seed
    from sim2real.errors import Sim2RealError
    from sim2real.evaluation import parse_sweep
    from sim2real.evaluation.sweep import MAX_SWEEP_POINTS

    check_count("--episodes", episodes)
    check_seed(seed)
    check_count("--video-episodes", video_episodes)
    if backend not in ("numpy", "onnxruntime"):
        raise Sim2RealError(f"--backend: expected numpy or onnxruntime, got {backend!r}")
    axes = [parse_sweep(s) for s in sweep]
    if len(axes) > 2:
        raise Sim2RealError("give at most two --sweep options (a curve or a heatmap)")
    points = 1
    for axis in axes:
        points *= len(axis.values)
    if points > MAX_SWEEP_POINTS:
        raise Sim2RealError(
            f"--sweep: {points} grid points, more than the maximum {MAX_SWEEP_POINTS}; "
            "use fewer points per axis"
        )
    if video is not None and video.suffix.lower() not in (".gif", ".mp4"):
        raise Sim2RealError(f"--video {video}: must end in .gif or .mp4")
    return axes


def evaluate(
    policy: Path = typer.Argument(..., help="Run directory, SB3 .zip or exported policy folder."),
    target: str = typer.Option(
        None,
        "--target",
        "-t",
        help="ENV:TARGET, e.g. cartpole:heavy_pole [default: the policy's env, nominal].",
    ),
    episodes: int = typer.Option(10, "--episodes", "-n", help="Episodes (per sweep point)."),
    seed: int = typer.Option(0, "--seed", help="Episode i resets with seed + i."),
    sweep: list[str] = typer.Option(
        [], "--sweep", help="PARAM[.ENTITY]=lo:hi:n robustness sweep; give two for a heatmap."
    ),
    video: Path = typer.Option(None, "--video", help="Record episodes to out.gif or out.mp4."),
    video_episodes: int = typer.Option(1, "--video-episodes", help="Episodes in the video."),
    out: Path = typer.Option(
        None, "--out", "-o", help="Folder for sweep results [default: RUN_DIR/eval or eval/NAME]."
    ),
    backend: str = typer.Option(
        "numpy", "--backend", help="Exported policies: numpy | onnxruntime."
    ),
    record: Path = typer.Option(
        None, "--record", help="Append the episodes (with simulator states) to this .npz file."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON only."),
) -> None:
    """Evaluate a policy on ENV:TARGET: mean, std, 95% CI, success rate; sweeps and videos."""
    from sim2real.cli._checks import check_record_option, check_writable_dir, check_writable_file
    from sim2real.cli._output import console, print_json
    from sim2real.errors import Sim2RealError
    from sim2real.evaluation import (
        evaluate as run_evaluate,
    )
    from sim2real.evaluation import (
        load_agent,
        parse_target,
        record_video,
        run_sweep,
        save_sweep,
    )
    from sim2real.evaluation.sweep import check_sweep

    axes = _check_options(episodes, seed, sweep, video, video_episodes, backend)
    if axes:
        check_writable_dir("--out", out)
    check_writable_file("--video", video)
    check_record_option(record)
    agent = load_agent(policy, backend=backend)
    if target is None and agent.env is None:
        raise Sim2RealError(f"{policy}: the policy records no env; give --target ENV:TARGET")
    env, which = parse_target(target or "", default_env=agent.env)
    if axes:
        axes = check_sweep(env, which, axes)
        check_writable_dir("--out", out or _default_out(agent))
    result: dict[str, Any] = {"policy": str(policy), "kind": agent.kind}
    if record is not None:
        from sim2real.identification.record import record_episodes

        data, ev_result = record_episodes(
            agent, env, which, episodes=episodes, seed=seed, path=record
        )
        result["record"] = {"path": str(record), "transitions": len(data)}
    else:
        ev_result = run_evaluate(agent, env, which, episodes=episodes, seed=seed)
    result["evaluation"] = ev_result.to_dict()
    if axes:
        sweep_result = run_sweep(agent, env, which, axes, episodes=episodes, seed=seed)
        sweep_result["files"] = save_sweep(sweep_result, out or _default_out(agent))
        result["sweep"] = sweep_result
    if video is not None:
        result["video"] = record_video(agent, env, which, video, episodes=video_episodes, seed=seed)
    if as_json:
        print_json(result)
        return
    ev = result["evaluation"]
    lo, hi = ev["ci95"]
    ci = f"95% CI {lo:.2f} .. {hi:.2f}" if lo is not None else "95% CI n/a: one episode"
    console.print(
        f"[bold]{agent.name}[/] ({agent.kind}) on {env}:{which}, {episodes} episodes, seed {seed}"
    )
    console.print(f"  return {ev['mean']:.2f} ± {ev['std']:.2f} ({ci})")
    console.print(
        f"  episode length {sum(ev['lengths']) / len(ev['lengths']):.1f} steps on average"
    )
    if ev["success_rate"] is not None:
        console.print(f"  success rate {ev['success_rate']:.0%}")
    if "sweep" in result:
        files = result["sweep"]["files"]
        console.print(f"  sweep: {files['png']}\n         {files['json']}")
        console.print(f"  tensorboard --logdir {files['tensorboard']}")
    if "record" in result:
        console.print(f"  recorded {result['record']['transitions']} transitions to {record}")
    if "video" in result:
        v = result["video"]
        console.print(f"  video: {v['path']} ({v['frames']} frames at {v['fps']:.0f} fps)")


def register(app: typer.Typer) -> None:
    """Add ``evaluate`` to the ``sim2real`` app."""
    app.command("evaluate")(evaluate)
