"""``sim2real evaluate``: returns of any policy on any target; robustness sweeps; videos."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from sim2real.cli._checks import (
    check_count,
    check_record_option,
    check_seed,
    check_writable_dir,
    check_writable_file,
)
from sim2real.cli._output import console, print_json
from sim2real.cli.completion import complete_run, complete_target
from sim2real.errors import Sim2RealError

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
    policy: Path = typer.Argument(
        ..., help="Run directory, SB3 .zip or exported policy folder.", autocompletion=complete_run
    ),
    target: str = typer.Option(
        None,
        "--target",
        "-t",
        help="ENV:TARGET, e.g. cartpole:heavy_pole [default: the policy's env, nominal].",
        autocompletion=complete_target,
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
    compare: bool = typer.Option(
        False,
        "--compare-engines",
        help="Evaluate TARGET on the robot in both engines (PyBullet and its MuJoCo twin), "
        "side by side.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON only."),
) -> None:
    """Evaluate a policy on ENV:TARGET: mean, std, 95% CI, success rate; sweeps and videos."""
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
    if compare and (sweep or video is not None or record is not None):
        raise Sim2RealError("--compare-engines: give it without --sweep, --video or --record")
    if axes:
        check_writable_dir("--out", out)
    check_writable_file("--video", video)
    check_record_option(record)
    agent = load_agent(policy, backend=backend)
    if target is None and agent.env is None:
        raise Sim2RealError(f"{policy}: the policy records no env; give --target ENV:TARGET")
    env, which = parse_target(target or "", default_env=agent.env)
    if compare:
        _compare(agent, policy, env, which, episodes, seed, as_json)
        return
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


def _compare(
    agent: Any, policy: Path, env: str, which: str, episodes: int, seed: int, as_json: bool
) -> None:
    """``--compare-engines``: both engines through the one evaluation loop, printed side by side."""
    from sim2real.evaluation import compare_engines, engine_twins
    from sim2real.evaluation.episodes import check_spaces
    from sim2real.evaluation.targets import make_target_env

    twins = engine_twins(env)
    probe = make_target_env(twins["pybullet"], which)  # bad target / spaces: before any episode
    try:
        check_spaces(agent, probe, twins["pybullet"])
    finally:
        probe.close()
    comp = compare_engines(agent, env, which, episodes=episodes, seed=seed)
    if as_json:
        print_json({"policy": str(policy), "kind": agent.kind, **comp.to_dict()})
        return
    console.print(
        f"[bold]{agent.name}[/] ({agent.kind}) on {which} in both engines, "
        f"{episodes} episodes, seed {seed}"
    )
    console.print(comparison_table(comp))


def comparison_table(comp: Any) -> Any:
    """A rich table: one row per quantity, one column per engine."""
    from rich.table import Table

    results = comp.results
    table = Table()
    table.add_column("")
    for res in results.values():
        table.add_column(f"{res.env}:{res.target}", justify="right")

    def row(label: str, cell: Any) -> None:
        table.add_row(label, *(cell(r) for r in results.values()))

    def ci(r: Any) -> str:
        lo, hi = r.ci95
        return f"{lo:.2f} .. {hi:.2f}" if lo is not None else "n/a (one episode)"

    row("return (mean)", lambda r: f"{r.mean:.2f}")
    row("return 95% CI", ci)
    row("episode length", lambda r: f"{sum(r.lengths) / len(r.lengths):.1f}")
    if any(r.success_rate is not None for r in results.values()):
        row("success rate", lambda r: "-" if r.success_rate is None else f"{r.success_rate:.0%}")
    for key in sorted({k for r in results.values() for k in r.final_info}):
        label = "distance (x_position at end)" if key == "x_position" else f"{key} at end"
        row(label, lambda r, k=key: f"{r.final_info[k]:.3f}" if k in r.final_info else "-")
    for key in sorted({k for r in results.values() for k in r.reward_terms}):
        row(
            f"reward: {key} (sum)",
            lambda r, k=key: f"{r.reward_terms[k]:.2f}" if k in r.reward_terms else "-",
        )
    return table


def register(app: typer.Typer) -> None:
    """Add ``evaluate`` to the ``sim2real`` app."""
    app.command("evaluate")(evaluate)
