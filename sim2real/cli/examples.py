"""Two examples at the end of each subcommand's ``--help`` (``sim2real CMD --help``)."""

from __future__ import annotations

import typer

__all__ = ["EXAMPLES", "add_examples"]

EXAMPLES: dict[str, tuple[str, str]] = {
    "pretrain": (
        "sim2real pretrain cartpole_ppo --set total_timesteps=20000",
        "sim2real pretrain my_hopper.yaml --set gym_packages=[pybullet_envs_gymnasium]",
    ),
    "transfer": (
        "sim2real transfer transfer_finetune --from runs/RUN --target cartpole:weak_motor",
        "sim2real transfer transfer_freeze --from runs/RUN --target HopperBulletEnv-v0:my_robot.yaml:heavy",
    ),
    "inspect": (
        "sim2real inspect runs/RUN",
        "sim2real inspect policies/cartpole_ppo_source --json",
    ),
    "benchmark": (
        "sim2real benchmark quickstart",
        "sim2real benchmark benchmark_hopper --seeds 3 --workers 2 --json",
    ),
    "evaluate": (
        "sim2real evaluate runs/RUN --target cartpole:worn --episodes 20",
        "sim2real evaluate policies/my_policy --sweep mass_scale=0.5:2:5 --json",
    ),
    "export": (
        "sim2real export runs/RUN --format onnx --out policies/my_policy",
        "sim2real export model.zip --env cartpole --vecnormalize vecnormalize.pkl --format torchscript",
    ),
    "deploy": (
        "sim2real deploy policies/my_policy --target cartpole:worn --rate 60 --seconds 10",
        "sim2real deploy policies/my_policy --record rollouts.npz --json",
    ),
    "identify": (
        "sim2real identify cartpole --data rollouts.npz --params motor_strength",
        "sim2real identify cartpole --data a.npz --data b.npz --out fitted.yaml --json",
    ),
    "envs": ("sim2real envs list", "sim2real envs show hopper --json"),
    "list": ("sim2real envs list", "sim2real envs list --json"),
    "show": ("sim2real envs show cartpole", "sim2real envs show hopper --json"),
    "sample": (
        "sim2real envs sample cartpole --domain source -n 5",
        "sim2real envs sample cartpole --domain my_robot.yaml:heavy --json",
    ),
}


def _epilog(name: str) -> str | None:
    from rich.markup import escape  # typer renders help with rich: [..] would be markup

    pair = EXAMPLES.get(name)
    return None if pair is None else "Examples:\n\n" + "\n\n".join(f"  {escape(p)}" for p in pair)


def add_examples(app: typer.Typer) -> None:
    """Set the epilog of every registered command (and of the ``envs`` subcommands)."""
    for info in app.registered_commands:
        name = info.name or (info.callback.__name__ if info.callback else "")
        info.epilog = info.epilog or _epilog(name)
    for group in app.registered_groups:
        if group.typer_instance is not None:
            group.epilog = group.epilog or _epilog(group.name or "")
            add_examples(group.typer_instance)
