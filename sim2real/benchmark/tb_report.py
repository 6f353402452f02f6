"""TensorBoard view of a benchmark report (one log root, open with ``tensorboard --logdir``).

Layout of ``<out>/tb``::

    <arm>/seed_<k>/   eval/target/<target>/return per evaluation + hparams session (arm, seed,
                      strategy -> final, AUC, time to threshold)
    <arm>/aggregate/  benchmark/<target>/<arm>/{value,lower,upper} (aggregate with CI band)
                      and, for transfer arms, transfer/{speedup,jumpstart,auc_ratio,asymptotic_gap}
                      with their CI ends (transfer/<metric>/lo, /hi)
    summary/          the custom-scalars layout (scratch and every transfer arm, value with CI
                      margin, on one chart per target), the learning-curve figure, report.md
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "TRANSFER_SCALARS",
    "curve_tag",
    "layout",
    "layout_summary",
    "seed_tag",
    "write_tensorboard",
]

TRANSFER_SCALARS = ("speedup", "jumpstart", "auc_ratio", "asymptotic_gap", "speedup_with_source")


def curve_tag(target: str, arm: str, part: str = "value") -> str:
    """Tag of an arm's aggregate curve (``part`` is ``value``, ``lower`` or ``upper``)."""
    return f"benchmark/{target}/{arm}/{part}"


def seed_tag(target: str) -> str:
    """Tag of one seed's evaluation return."""
    return f"eval/target/{target}/return"


def layout(target: str, arms: list[str], aggregate: str) -> Any:
    """The custom-scalars layout: per target, every arm (with CI margin) on one chart."""
    from tensorboard.plugins.custom_scalar import layout_pb2

    margin = layout_pb2.MarginChartContent(
        series=[
            layout_pb2.MarginChartContent.Series(
                value=curve_tag(target, a),
                lower=curve_tag(target, a, "lower"),
                upper=curve_tag(target, a, "upper"),
            )
            for a in arms
        ]
    )
    charts = [
        layout_pb2.Chart(
            title=f"{target}: return ({aggregate} over seeds, CI band), all arms", margin=margin
        ),
        layout_pb2.Chart(
            title=f"{target}: return per run (arm x seed)",
            multiline=layout_pb2.MultilineChartContent(tag=[seed_tag(target)]),
        ),
    ]
    metrics = [
        layout_pb2.Chart(
            title=f"transfer/{m} (value and CI ends)",
            multiline=layout_pb2.MultilineChartContent(tag=[rf"^transfer/{m}(/lo|/hi)?$"]),
        )
        for m in TRANSFER_SCALARS
    ]
    return layout_pb2.Layout(
        category=[
            layout_pb2.Category(title=f"transfer benchmark: {target}", chart=charts),
            layout_pb2.Category(title="transfer metrics vs scratch", chart=metrics),
        ]
    )


def layout_summary(lay: Any) -> Any:
    """A ``Summary`` carrying the layout for the custom-scalars plugin (as its ``pb()`` builds it,
    without needing TensorFlow)."""
    from tensorboard.compat.proto.summary_pb2 import Summary, SummaryMetadata
    from tensorboard.compat.proto.tensor_pb2 import TensorProto
    from tensorboard.compat.proto.tensor_shape_pb2 import TensorShapeProto
    from tensorboard.plugins.custom_scalar import metadata

    smd = SummaryMetadata(plugin_data=SummaryMetadata.PluginData(plugin_name=metadata.PLUGIN_NAME))
    tensor = TensorProto(
        dtype="DT_STRING", string_val=[lay.SerializeToString()], tensor_shape=TensorShapeProto()
    )
    return Summary(
        value=[Summary.Value(tag=metadata.CONFIG_SUMMARY_TAG, tensor=tensor, metadata=smd)]
    )


def _png_to_array(path: Path) -> np.ndarray:
    import matplotlib.image as mpimg

    img = mpimg.imread(path)  # float in [0, 1], HxWx(3|4)
    return (img[..., :3] * 255).astype(np.uint8)


def write_tensorboard(
    report: Mapping[str, Any],
    root: Path,
    *,
    figure: Path | None = None,
    markdown: str | None = None,
) -> Path:
    """Write the TensorBoard view of ``report`` (as built by ``build_report``) under ``root``."""
    from torch.utils.tensorboard import SummaryWriter
    from torch.utils.tensorboard.summary import hparams

    cfg = report.get("config", {})
    target = str(report.get("target_name") or cfg.get("target", "target"))
    m = report["metrics"]
    agg = m["options"]["aggregate"]
    end = int(m["horizon"][1])
    arms = list(report["curves"])

    for arm, band in report["curves"].items():
        steps = [int(s) for s in band["steps"]]
        spec = cfg.get("arms", {}).get(arm) or {}
        for seed, values in band["per_seed"].items():
            with SummaryWriter(str(root / arm / f"seed_{seed}")) as w:
                for step, v in zip(steps, values):
                    w.add_scalar(seed_tag(target), v, step)
                i = m["arms"][arm]["seeds"].index(int(seed))
                metric = {
                    f"hparams/{k}": float(m["arms"][arm][k]["per_seed"][i])
                    for k in ("final", "auc", "time_to_threshold", "initial")
                }
                params = {
                    "arm": arm,
                    "seed": int(seed),
                    "strategy": ",".join(spec.get("strategy", ["finetune"]))
                    if arm != report.get("baseline")
                    else "none",
                    "copy": ",".join(spec.get("copy", ["all"]))
                    if arm != report.get("baseline")
                    else "none",
                }
                for s in hparams(params, metric):
                    w.file_writer.add_summary(s)
                for k, v in metric.items():
                    w.add_scalar(k, v, end)
        with SummaryWriter(str(root / arm / "aggregate")) as w:
            for j, step in enumerate(steps):
                w.add_scalar(curve_tag(target, arm), band[agg][j], step)
                w.add_scalar(curve_tag(target, arm, "lower"), band["lo"][j], step)
                w.add_scalar(curve_tag(target, arm, "upper"), band["hi"][j], step)
            comp = m["comparisons"].get(arm)
            if comp:
                for name in TRANSFER_SCALARS:
                    est = comp[name]
                    for suffix, key in (("", "value"), ("/lo", "lo"), ("/hi", "hi")):
                        if est.get(key) is not None:
                            w.add_scalar(f"transfer/{name}{suffix}", est[key], end)
                w.add_scalar("transfer/negative_transfer", float(comp["negative_transfer"]), end)

    with SummaryWriter(str(root / "summary")) as w:
        w.file_writer.add_summary(layout_summary(layout(target, arms, agg)))
        if figure is not None and figure.is_file():
            w.add_image("report/learning_curves", _png_to_array(figure), end, dataformats="HWC")
        if markdown:
            w.add_text("report/markdown", markdown, end)
    return root
