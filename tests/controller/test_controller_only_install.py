"""A controller-only install (issue 18.3): ``pip install --no-deps sim2real`` + numpy.

The check runs ``PolicyController`` in an isolated interpreter (``python -I -S``) whose
``sys.path`` holds the standard library plus a folder with only ``sim2real`` and ``numpy`` in it
(symlinks), so any import of torch, SB3, gymnasium, pydantic, yaml, onnx... fails exactly as on
a robot with nothing else installed. Offline and a second or two, unlike building a venv.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np

import sim2real
from tests._export_policies import exported, sample_obs, trained

SCRIPT = textwrap.dedent(
    """
    import json, sys
    sys.path[:] = [p for p in sys.path if "site-packages" not in p] + [{only!r}]
    import numpy as np
    from sim2real.controller import PolicyController
    ctrl = PolicyController.load({policy!r}, backend="numpy")
    obs = np.load({obs!r}, allow_pickle=False)
    actions = [ctrl.act(o).tolist() for o in obs]
    third_party = sorted(
        m.split(".")[0] for m in sys.modules
        if m.split(".")[0] not in ("sim2real", "numpy", "__main__") and m.split(".")[0] not in sys.stdlib_module_names
    )
    print(json.dumps({{"actions": actions, "third_party": sorted(set(third_party)),
                      "period": ctrl.metadata["io"]["control_period"]}}))
    """
)


def test_controller_runs_with_only_numpy_installed(tmp_path: Path) -> None:
    policy = exported("ppo", True)
    obs = sample_obs(16)
    np.save(tmp_path / "obs.npy", obs)
    only = tmp_path / "site"
    only.mkdir()
    site = Path(np.__file__).parents[1]
    for name in ("numpy", "numpy.libs"):
        if (site / name).exists():
            (only / name).symlink_to(site / name)
    (only / "sim2real").symlink_to(Path(sim2real.__file__).parent)
    script = SCRIPT.format(only=str(only), policy=str(policy), obs=str(tmp_path / "obs.npy"))
    proc = subprocess.run(
        [sys.executable, "-I", "-S", "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["third_party"] == []
    assert out["period"] is not None
    reference = trained("ppo", True).reference(obs)
    np.testing.assert_allclose(np.array(out["actions"]), reference, atol=2e-5, rtol=1e-5)
