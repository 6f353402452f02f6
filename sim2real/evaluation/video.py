"""Record evaluation episodes from the env's ``rgb_array`` render to a GIF (Pillow) or MP4 (imageio)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from sim2real.errors import Sim2RealError
from sim2real.evaluation.agents import Agent
from sim2real.evaluation.episodes import check_spaces, run_episodes
from sim2real.evaluation.targets import make_target_env

__all__ = ["record_video", "write_video"]

GIF_MAX_FPS = 25.0


def write_video(frames: list[np.ndarray], path: str | Path, fps: float) -> Path:
    """Write RGB frames: ``.gif`` with Pillow, ``.mp4`` with imageio (``pip install imageio[ffmpeg]``).

    Raises:
        Sim2RealError: unknown suffix, no frames, or imageio missing for MP4.
    """
    path = Path(path)
    if not frames:
        raise Sim2RealError(f"{path}: no frames were rendered")
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = path.suffix.lower()
    if suffix == ".gif":
        from PIL import Image

        images = [Image.fromarray(np.asarray(f, dtype=np.uint8)) for f in frames]
        images[0].save(
            path, save_all=True, append_images=images[1:], duration=round(1000 / fps), loop=0
        )
    elif suffix == ".mp4":
        try:
            import imageio.v2 as imageio
        except ImportError:
            raise Sim2RealError(
                "MP4 videos need imageio with ffmpeg: `pip install imageio[ffmpeg]` "
                "(or record a .gif, which needs only Pillow)"
            ) from None
        try:
            imageio.mimsave(path, list(frames), fps=fps, macro_block_size=1)
        except Exception as exc:  # backend missing (imageio-ffmpeg) etc.
            raise Sim2RealError(
                f"{path}: imageio cannot write MP4 ({type(exc).__name__}); "
                "`pip install imageio[ffmpeg]` or record a .gif"
            ) from None
    else:
        raise Sim2RealError(f"{path}: video must end in .gif or .mp4")
    return path


def record_video(
    agent: Agent,
    env: str,
    target: str,
    path: str | Path,
    *,
    episodes: int = 1,
    seed: int = 0,
    overrides: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Run ``episodes`` episodes rendering every control step and save them to ``path``."""
    gym_env = make_target_env(env, target, overrides=overrides, render_mode="rgb_array")
    frames: list[np.ndarray] = []
    try:
        check_spaces(agent, gym_env, env)
        control_dt = float(getattr(gym_env.unwrapped, "control_dt", 1 / 30))
        real_fps = 1.0 / control_dt
        max_fps = GIF_MAX_FPS if str(path).lower().endswith(".gif") else 60.0
        stride = max(1, math.ceil(real_fps / max_fps))
        count = [0]

        def on_frame(frame: np.ndarray) -> None:
            if count[0] % stride == 0:
                frames.append(frame)
            count[0] += 1

        returns, lengths, _ = run_episodes(agent, gym_env, episodes, seed, on_frame=on_frame)
    finally:
        gym_env.close()
    out = write_video(frames, path, fps=real_fps / stride)
    return {
        "path": str(out),
        "frames": len(frames),
        "fps": real_fps / stride,
        "returns": returns,
        "lengths": lengths,
    }
