"""The export a C++ stack can use (issue 18.3): metadata version 2's ``io`` block, the same
facts in the ONNX ``metadata_props``, version-1 files still read, and docs/cpp.md's
onnxruntime call sequence checked against both."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from sim2real.controller import PolicyController
from sim2real.controller.artifact import (
    BATCH,
    METADATA_VERSION,
    MlpPolicyWeights,
    onnx_metadata_props,
)
from tests._export_policies import exported

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

DOC = Path(__file__).parents[2] / "docs" / "cpp.md"


@pytest.fixture(scope="module")
def policy() -> Path:
    return exported("ppo", True)  # cart-pole, VecNormalize


def _meta(policy: Path) -> dict:
    return json.loads((policy / "metadata.json").read_text())


def test_io_block_describes_inputs_outputs_and_entries(policy: Path) -> None:
    meta = _meta(policy)
    io = meta["io"]
    assert meta["format_version"] == METADATA_VERSION == 3  # 3: v2 + the history block
    assert io["inputs"] == [{"name": "obs", "shape": [BATCH, 5], "dtype": "float32"}]
    assert io["outputs"] == [{"name": "actions", "shape": [BATCH, 1], "dtype": "float32"}]
    assert io["control_period"] == pytest.approx(0.0165)
    names = [e["name"] for e in io["observation"]]
    assert names == meta["observation"]["names"] == [
        "cart_x", "cart_vx", "cos_theta", "sin_theta", "theta_dot",
    ]  # fmt: skip
    (act,) = io["action"]
    assert act["name"] == "slider_force" and (act["low"], act["high"]) == (-1.0, 1.0)
    assert act["command_scale"] == 100.0 and act["command_units"] == "N"
    assert all(e["in_model"] and e["frame"] for e in io["observation"])


def test_observation_scale_offset_clip_are_the_models_normalization(policy: Path) -> None:
    io = _meta(policy)["io"]
    weights = MlpPolicyWeights.load(policy / "weights.npz")
    scale = np.array([e["scale"] for e in io["observation"]])
    offset = np.array([e["offset"] for e in io["observation"]])
    clip = io["observation"][0]["clip"]
    obs = np.random.default_rng(0).normal(0, 3, (50, 5))
    expected = np.clip(
        (obs - weights.obs_mean) / np.sqrt(weights.obs_var + weights.epsilon),
        -weights.clip_obs,
        weights.clip_obs,
    )
    np.testing.assert_allclose(np.clip(obs * scale + offset, -clip, clip), expected, atol=1e-9)


def test_onnx_metadata_props_hold_the_key_facts(policy: Path) -> None:
    meta = _meta(policy)
    model = onnx.load(str(policy / "policy.onnx"))
    props = {p.key: p.value for p in model.metadata_props}
    assert props == onnx_metadata_props(meta)
    session = ort.InferenceSession(str(policy / "policy.onnx"))
    assert session.get_modelmeta().custom_metadata_map == props
    assert json.loads(props["sim2real.input_shape"]) == [BATCH, 5]
    # the batch dimension is free: 3 observations at once
    (inp,) = session.get_inputs()
    assert inp.name == "obs" and inp.shape[1] == 5 and isinstance(inp.shape[0], str)
    (out,) = session.run(None, {"obs": np.zeros((3, 5), np.float32)})
    assert out.shape == (3, 1)


def test_version_1_metadata_still_loads(policy: Path, tmp_path: Path) -> None:
    old = tmp_path / "v1"
    shutil.copytree(policy, old)
    meta = _meta(old)
    del meta["io"]
    meta["format_version"] = 1
    (old / "metadata.json").write_text(json.dumps(meta))
    ctrl = PolicyController.load(old)
    assert ctrl.act(np.zeros(5, np.float32)).shape == (1,)


def _cpp_block() -> str:
    text = DOC.read_text()
    blocks = re.findall(r"```cpp\n(.*?)```", text, re.S)
    assert len(blocks) == 1, "docs/cpp.md holds one C++ block"
    return blocks[0]


def test_docs_cpp_call_sequence_matches_the_metadata(policy: Path) -> None:
    code, meta = _cpp_block(), _meta(policy)
    io = meta["io"]
    inputs = re.search(r"input_names\[\] = \{([^}]*)\}", code).group(1)
    outputs = re.search(r"output_names\[\] = \{([^}]*)\}", code).group(1)
    assert re.findall(r'"(\w+)"', inputs) == [t["name"] for t in io["inputs"]]
    assert re.findall(r'"(\w+)"', outputs) == [t["name"] for t in io["outputs"]]
    shape = re.search(r"input_shape\{([^}]*)\}", code).group(1)
    assert [s.strip() for s in shape.split(",")] == ["1", "N"]  # [batch, N], batch = 1
    assert "CreateTensor<float>" in code and io["inputs"][0]["dtype"] == "float32"
    props = onnx_metadata_props(meta)
    for key in re.findall(r'"(sim2real\.\w+)"', code):
        assert key in props, key
    table_keys = re.findall(r"`(sim2real\.\w+)`", DOC.read_text())
    assert len(table_keys) >= 6
    for key in table_keys:
        assert key in props, key
    session = ort.InferenceSession(str(policy / "policy.onnx"))
    assert [i.name for i in session.get_inputs()] == ["obs"]
    assert [o.name for o in session.get_outputs()] == ["actions"]
