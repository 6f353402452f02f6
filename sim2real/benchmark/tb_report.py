"""TensorBoard view of a benchmark report (one log root, open with ``tensorboard --logdir``).

Layout of ``<out>/tb``::

    <arm>/seed_<k>/   eval/target/<target>/return per evaluation + hparams session (arm, seed,
                      strategy -> final, AUC, time to threshold)
    <arm>/aggregate/  benchmark/<target>/<arm>/{value,lower,upper} (aggregate with CI band)
                      transfer/dip (fine-tuning dip, with /lo and /hi) and, for transfer arms,
                      transfer/{speedup,jumpstart,auc_ratio,asymptotic_gap}
                      with their CI ends (transfer/<metric>/lo, /hi)
    summary/          the custom-scalars layout (scratch and every transfer arm, value with CI
                      margin, on one chart per target), the learning-curve figure, report.md
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import matplotlib.image as mpimg
import numpy as np
from tensorboard.compat.proto.summary_pb2 import Summary, SummaryMetadata
from tensorboard.compat.proto.tensor_pb2 import TensorProto
from tensorboard.compat.proto.tensor_shape_pb2 import TensorShapeProto
from tensorboard.plugins.custom_scalar import layout_pb2, metadata
from torch.utils.tensorboard import SummaryWriter
from torch.utils.tensorboard.summary import hparams

from sim2real.benchmark.report import BenchmarkReport

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

    smd = SummaryMetadata(plugin_data=SummaryMetadata.PluginData(plugin_name=metadata.PLUGIN_NAME))
    tensor = TensorProto(
        dtype="DT_STRING", string_val=[lay.SerializeToString()], tensor_shape=TensorShapeProto()
    )
    return Summary(
        value=[Summary.Value(tag=metadata.CONFIG_SUMMARY_TAG, tensor=tensor, metadata=smd)]
    )


def _png_to_array(path: Path) -> np.ndarray:
    img = mpimg.imread(path)  # float in [0, 1], HxWx(3|4)
    return (img[..., :3] * 255).astype(np.uint8)


def _strategy_params(report: BenchmarkReport, arm: str) -> dict[str, str]:
    """The hparams that name an arm's transfer recipe (``none`` for the baseline)."""
    if arm == report.baseline:
        return {"strategy": "none", "copy": "none"}
    spec = report.config.get("arms", {}).get(arm) or {}
    return {
        "strategy": ",".join(spec.get("strategy", ["finetune"])),
        "copy": ",".join(spec.get("copy", ["all"])),
    }


def _write_seeds(report: BenchmarkReport, arm: str, root: Path, target: str, end: int) -> None:
    """One run per seed: the evaluation curve and an hparams session with its metrics."""

    band, stats = report.curves[arm], report.metrics.arms[arm]
    for seed, values in band.per_seed.items():
        with SummaryWriter(str(root / arm / f"seed_{seed}")) as w:
            for step, v in zip(band.steps, values):
                w.add_scalar(seed_tag(target), v, int(step))
            i = stats.seeds.index(int(seed))
            metric = {
                f"hparams/{k}": float(getattr(stats, k).per_seed[i])
                for k in ("final", "auc", "time_to_threshold", "initial")
            }
            params = {"arm": arm, "seed": int(seed), **_strategy_params(report, arm)}
            for s in hparams(params, metric):
                w.file_writer.add_summary(s)
            for k, v in metric.items():
                w.add_scalar(k, v, end)


def _write_aggregate(report: BenchmarkReport, arm: str, root: Path, target: str, end: int) -> None:
    """The arm's aggregate curve with its band and, for a transfer arm, its metrics with CIs."""

    band = report.curves[arm]
    with SummaryWriter(str(root / arm / "aggregate")) as w:
        for j, step in enumerate(int(s) for s in band.steps):
            w.add_scalar(curve_tag(target, arm), band.point[j], step)
            w.add_scalar(curve_tag(target, arm, "lower"), band.lo[j], step)
            w.add_scalar(curve_tag(target, arm, "upper"), band.hi[j], step)
        dip = report.metrics.arms[arm].dip
        if dip is not None:  # the fine-tuning dip (mean over seeds with its CI)
            for suffix, value in (("", dip.mean.value), ("/lo", dip.mean.lo), ("/hi", dip.mean.hi)):
                if math.isfinite(value):
                    w.add_scalar(f"transfer/dip{suffix}", value, end)
        comp = report.metrics.comparisons.get(arm)
        if comp is None:
            return
        for name in TRANSFER_SCALARS:
            est = getattr(comp, name).to_dict()
            for suffix, key in (("", "value"), ("/lo", "lo"), ("/hi", "hi")):
                if est[key] is not None:
                    w.add_scalar(f"transfer/{name}{suffix}", est[key], end)
        w.add_scalar("transfer/negative_transfer", float(comp.negative_transfer), end)


def write_tensorboard(
    report: BenchmarkReport,
    root: Path,
    *,
    figure: Path | None = None,
    markdown: str | None = None,
) -> Path:
    """Write the TensorBoard view of ``report`` (as built by ``build_report``) under ``root``."""

    target = str(report.target_name or "target")
    agg = report.metrics.options.aggregate
    end = int(report.metrics.horizon[1])
    for arm in report.curves:
        _write_seeds(report, arm, root, target, end)
        _write_aggregate(report, arm, root, target, end)
    with SummaryWriter(str(root / "summary")) as w:
        w.file_writer.add_summary(layout_summary(layout(target, list(report.curves), agg)))
        if figure is not None and figure.is_file():
            w.add_image("report/learning_curves", _png_to_array(figure), end, dataformats="HWC")
        if markdown:
            w.add_text("report/markdown", markdown, end)
    return root
