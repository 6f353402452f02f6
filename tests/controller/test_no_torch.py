"""The controller runs where torch, SB3, gymnasium and pybullet cannot be imported."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from tests._export_policies import exported, sample_obs, trained

BLOCKED = (
    "torch",
    "stable_baselines3",
    "gymnasium",
    "gym",
    "pybullet",
    "pybullet_data",
    "onnx",
    "cloudpickle",
)

SCRIPT = textwrap.dedent(
    """
    import json, sys
    for name in {blocked!r}:
        sys.modules[name] = None  # any `import name` now raises ImportError
    import pickle  # numpy imports pickle itself; make sure nothing unpickles
    def no_pickle(*args, **kwargs):
        raise AssertionError("pickle used on the controller path")
    pickle.load = pickle.loads = no_pickle
    pickle.Unpickler = no_pickle
    import sim2real
    assert "numpy" not in sys.modules, "import sim2real must stay import-free"
    import numpy as np
    from sim2real.controller import PolicyController
    obs = np.load({obs!r}, allow_pickle=False)
    out = {{}}
    for backend in ("numpy", "onnxruntime"):
        ctrl = PolicyController.load({policy!r}, backend=backend)
        out[backend] = [ctrl.act(o).tolist() for o in obs]
    heavy = sorted(m for m in {blocked!r} if sys.modules.get(m) is not None)
    print(json.dumps({{"actions": out, "heavy": heavy}}))
    """
)


@pytest.mark.parametrize("algo", ["ppo", "sac"])
def test_controller_without_torch_matches_sb3(algo: str, tmp_path: Path) -> None:
    policy = exported(algo, True)
    obs = sample_obs(64)
    np.save(tmp_path / "obs.npy", obs)
    script = SCRIPT.format(blocked=BLOCKED, obs=str(tmp_path / "obs.npy"), policy=str(policy))
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["heavy"] == []
    reference = trained(algo, True).reference(obs)
    for backend, actions in result["actions"].items():
        np.testing.assert_allclose(np.array(actions), reference, atol=1e-5, err_msg=backend)


def test_blocker_really_blocks() -> None:
    script = "import sys; sys.modules['torch'] = None\ntry:\n import torch\nexcept ImportError:\n print('blocked')"
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert proc.stdout.strip() == "blocked"
