"""Robustness sweeps: return vs one dynamics parameter (curve) or two (heatmap).

``PARAM=lo:hi:n`` sweeps ``PARAM`` (broadcast to all its entities) over ``n`` evenly spaced
values; ``PARAM.ENTITY=lo:hi:n`` changes one entity (``mass_scale.pole``, ``gravity.z``).
Each point holds the value fixed on top of the target domain and runs the same seeded episodes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sim2real.errors import ParameterError
from sim2real.evaluation.agents import Agent
from sim2real.evaluation.episodes import check_spaces, run_episodes, summarize
from sim2real.evaluation.targets import DynamicsOverride, make_target_env

__all__ = ["MAX_SWEEP_POINTS", "SweepAxis", "check_sweep", "parse_sweep", "run_sweep", "save_sweep"]

MAX_SWEEP_POINTS = 10_000
"""Largest number of points of one sweep axis, and of a whole (two-axis) grid."""


@dataclass(frozen=True)
class SweepAxis:
    """One swept parameter: ``param`` (optionally one ``entity`` of it) over ``values``."""

    param: str
    entity: str | None
    values: tuple[float, ...]

    @property
    def label(self) -> str:
        """``param`` or ``param.entity``."""
        return f"{self.param}.{self.entity}" if self.entity else self.param

    def override(self, value: float) -> dict[str, Any]:
        """The ``set_dynamics`` mapping for one value."""
        return {self.param: {self.entity: value} if self.entity else value}


def parse_sweep(text: str) -> SweepAxis:
    """Parse ``PARAM[.ENTITY]=lo:hi:n``.

    Raises:
        ParameterError: malformed text (says the expected form).
    """
    name, sep, spec = text.partition("=")
    parts = spec.split(":")
    try:
        if not sep or len(parts) != 3 or not name.strip():
            raise ValueError
        lo, hi, n = float(parts[0]), float(parts[1]), int(parts[2])
        if not 1 <= n <= MAX_SWEEP_POINTS or not (np.isfinite(lo) and np.isfinite(hi)):
            raise ValueError
    except ValueError:
        raise ParameterError(
            f"--sweep {text!r}: expected PARAM=lo:hi:n with finite lo, hi and 1 <= n <= "
            f"{MAX_SWEEP_POINTS} (e.g. mass_scale=0.5:2:7, "
            "gravity.z=-12:-6:4)"
        ) from None
    param, _, entity = name.strip().partition(".")
    values = tuple(float(v) for v in np.linspace(lo, hi, n))
    return SweepAxis(param, entity or None, values)


def _check_axis(axis: SweepAxis, env: Any) -> SweepAxis:
    specs = env.unwrapped.dynamics_specs()
    if axis.param not in specs:
        raise ParameterError(
            f"--sweep {axis.param}: unknown dynamics parameter; choose from {', '.join(specs)}"
        )
    spec = specs[axis.param]
    if axis.entity is not None and axis.entity not in spec.entities:
        raise ParameterError(
            f"--sweep {axis.label}: {axis.param} has no entity {axis.entity!r}; "
            f"choose from {', '.join(spec.entities) or '(scalar parameter)'}"
        )
    values = axis.values
    if spec.integer:
        values = tuple(dict.fromkeys(float(round(v)) for v in values))
    for v in values:
        spec.coerce(axis.override(v)[axis.param])  # ParameterError if outside the valid range
    return SweepAxis(axis.param, axis.entity, values)


def check_sweep(env: str, target: str, axes: list[SweepAxis]) -> list[SweepAxis]:
    """Check ``axes`` against ``env``'s parameters (before any episode runs); the checked axes.

    Raises:
        ParameterError: unknown parameter or entity, or a value outside the valid range.
    """
    sweep_env = make_target_env(env, target)
    try:
        return [_check_axis(a, sweep_env) for a in axes]
    finally:
        sweep_env.close()


def run_sweep(
    agent: Agent,
    env: str,
    target: str,
    axes: list[SweepAxis],
    *,
    episodes: int = 5,
    seed: int = 0,
) -> dict[str, Any]:
    """Evaluate on every point of the grid of ``axes`` (1 or 2 of them); a JSON-ready dict."""
    if not 1 <= len(axes) <= 2:
        raise ParameterError(f"give one or two --sweep options, not {len(axes)}")
    sweep_env = DynamicsOverride(make_target_env(env, target))
    try:
        check_spaces(agent, sweep_env, env)
        axes = [_check_axis(a, sweep_env) for a in axes]
        shape = tuple(len(a.values) for a in axes)
        mean, std = np.zeros(shape), np.zeros(shape)
        lo, hi = np.full(shape, np.nan), np.full(shape, np.nan)
        success = np.full(shape, np.nan)
        for index in np.ndindex(*shape):
            sweep_env.values = {}
            for axis, i in zip(axes, index):
                sweep_env.values.update(axis.override(axis.values[i]))
            returns, _, successes = run_episodes(agent, sweep_env, episodes, seed)
            m, s, (c_lo, c_hi) = summarize(returns, seed)
            mean[index], std[index] = m, s
            if c_lo is not None and c_hi is not None:
                lo[index], hi[index] = c_lo, c_hi
            if successes is not None:
                success[index] = float(np.mean(successes))
    finally:
        sweep_env.close()
    return {
        "env": env,
        "target": target,
        "policy": agent.name,
        "episodes_per_point": episodes,
        "seed": seed,
        "axes": [{"param": a.label, "values": list(a.values)} for a in axes],
        "mean": mean.tolist(),
        "std": std.tolist(),
        "ci95_low": _json_list(lo),
        "ci95_high": _json_list(hi),
        "success_rate": None if np.all(np.isnan(success)) else success.tolist(),
    }


def _json_list(arr: np.ndarray) -> list[Any]:
    """Nested list with NaN (undefined CI for one episode) as ``None``."""
    out = arr.astype(object)
    out[np.isnan(arr)] = None
    return out.tolist()


def _figure(result: dict[str, Any]) -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    axes = result["axes"]
    title = f"{result['policy']} on {result['env']}:{result['target']} ({result['episodes_per_point']} episodes/point)"
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    if len(axes) == 1:
        x = np.asarray(axes[0]["values"])
        ax.plot(x, result["mean"], marker="o", label="mean return")
        band = [np.asarray(result[k], dtype=float) for k in ("ci95_low", "ci95_high")]
        ax.fill_between(x, band[0], band[1], alpha=0.25, label="95% CI")
        ax.set_xlabel(axes[0]["param"])
        ax.set_ylabel("return")
        ax.legend()
        ax.grid(alpha=0.3)
    else:
        grid = np.asarray(result["mean"])
        image = ax.imshow(grid.T, origin="lower", aspect="auto", cmap="viridis")
        ax.set_xticks(range(len(axes[0]["values"])), [f"{v:.3g}" for v in axes[0]["values"]])
        ax.set_yticks(range(len(axes[1]["values"])), [f"{v:.3g}" for v in axes[1]["values"]])
        ax.set_xlabel(axes[0]["param"])
        ax.set_ylabel(axes[1]["param"])
        for (i, j), value in np.ndenumerate(grid):
            ax.text(i, j, f"{value:.0f}", ha="center", va="center", color="w", fontsize=8)
        fig.colorbar(image, ax=ax, label="mean return")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return fig


def save_sweep(
    result: dict[str, Any], out_dir: str | Path, *, tensorboard: bool = True
) -> dict[str, str]:
    """Write ``<stem>.json``, ``<stem>.png`` and TensorBoard events (``tb/``); returns the paths."""
    import matplotlib.pyplot as plt

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    labels = "_".join(a["param"] for a in result["axes"])
    stem = f"sweep_{result['env']}-{result['target'].replace('/', '_').replace(':', '_')}_{labels}"
    paths = {"json": str(out / f"{stem}.json"), "png": str(out / f"{stem}.png")}
    Path(paths["json"]).write_text(json.dumps(result, indent=2) + "\n")
    fig = _figure(result)
    fig.savefig(paths["png"], dpi=120)
    if tensorboard:
        paths["tensorboard"] = str(out / "tb")
        _write_tensorboard(result, fig, out / "tb" / stem)
    plt.close(fig)
    return paths


def _write_tensorboard(result: dict[str, Any], fig: Any, logdir: Path) -> None:
    from torch.utils.tensorboard import SummaryWriter

    writer = SummaryWriter(str(logdir))
    try:
        axes = result["axes"]
        if len(axes) == 1:
            tag = f"eval/sweep/{axes[0]['param']}"
            for step, (value, mean) in enumerate(zip(axes[0]["values"], result["mean"])):
                writer.add_scalar(f"{tag}/value", value, step)
                writer.add_scalar(f"{tag}/mean_return", mean, step)
        rows = [
            "| point | " + " | ".join(a["param"] for a in axes) + " | mean return |",
            "|---" * (len(axes) + 2) + "|",
        ]
        grid = np.asarray(result["mean"])
        for index, mean in np.ndenumerate(grid):
            vals = " | ".join(f"{a['values'][i]:.4g}" for a, i in zip(axes, index))
            rows.append(f"| {index} | {vals} | {mean:.2f} |")
        writer.add_text("eval/sweep/table", "\n".join(rows))
        writer.add_figure("eval/sweep/figure", fig, close=False)
    finally:
        writer.close()
