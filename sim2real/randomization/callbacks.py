"""SB3 callbacks of domain randomization: ``dr/`` statistics and the ADR driver.

Both read what :class:`~sim2real.randomization.wrapper.DomainRandomizationWrapper` puts in the
``info`` of an episode's last step: ``info["domain"]`` (the dynamics the episode ran with) and,
for ADR boundary-pinned episodes, ``info["adr"]`` (key, boundary, value, return).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from stable_baselines3.common.callbacks import BaseCallback

from sim2real.randomization.adr import ADRConfig, ADRState

__all__ = ["ADRCallback", "DomainStatsCallback"]


class DomainStatsCallback(BaseCallback):
    """Log the mean dynamics of the episodes finished in each rollout to the SB3 logger.

    Tags: ``dr/<param>`` for scalar parameters, ``dr/<param>/<entity>`` per entity, plus
    ``dr/episodes`` (how many episodes the means are over). With TensorBoard output configured
    in SB3 they land in the run's event files.
    """

    def __init__(self, verbose: int = 0) -> None:
        super().__init__(verbose)
        self._sums: dict[str, float] = defaultdict(float)
        self._counts: dict[str, int] = defaultdict(int)
        self._episodes = 0

    def _on_step(self) -> bool:
        for info in self.locals.get("infos", ()):
            dom = info.get("domain")
            if dom is None:
                continue
            self._episodes += 1
            for name, value in dom.items():
                if isinstance(value, Mapping):
                    for ent, x in value.items():
                        self._add(f"dr/{name}/{ent}", x)
                else:
                    self._add(f"dr/{name}", value)
        return True

    def _add(self, key: str, value: float) -> None:
        self._sums[key] += float(value)
        self._counts[key] += 1

    def _on_rollout_end(self) -> None:
        if not self._episodes:
            return
        for key, total in self._sums.items():
            self.logger.record(key, total / self._counts[key])
        self.logger.record("dr/episodes", self._episodes)
        self._sums.clear()
        self._counts.clear()
        self._episodes = 0


class ADRCallback(BaseCallback):
    """SB3 callback running ADR: collects pinned-episode returns, updates and syncs the ranges.

    Needs the training envs wrapped in
    :class:`~sim2real.randomization.wrapper.DomainRandomizationWrapper` with the same ``adr``
    config. Logs ``dr/adr/<key>/low``, ``dr/adr/<key>/high`` and ``dr/adr/entropy`` at each
    rollout end. :meth:`state_dict` / :meth:`load_state_dict` save and restore it with checkpoints.
    """

    def __init__(self, config: ADRConfig | Mapping[str, Any], verbose: int = 0) -> None:
        super().__init__(verbose)
        self.config = config if isinstance(config, ADRConfig) else ADRConfig.model_validate(config)
        self.state: ADRState | None = None

    def _init_callback(self) -> None:
        if self.state is None:
            init = self.training_env.env_method("adr_init", indices=[0])[0]
            self.state = ADRState(self.config, init)
        self._push()

    def _push(self) -> None:
        assert self.state is not None
        self.training_env.env_method("set_adr_ranges", self.state.ranges)

    def _on_step(self) -> bool:
        assert self.state is not None
        changed = False
        for info in self.locals.get("infos", ()):
            rec = info.get("adr")
            if rec is not None and "return" in rec:
                changed |= self.state.record(
                    rec["key"], rec["boundary"], rec["return"], rec.get("value")
                )
        if changed:
            self._push()
            if self.verbose:
                print(f"ADR ranges: {self.state.ranges}")
        return True

    def _on_rollout_end(self) -> None:
        if self.state is None:
            return
        for key, (lo, hi) in self.state.ranges.items():
            self.logger.record(f"dr/adr/{key}/low", lo)
            self.logger.record(f"dr/adr/{key}/high", hi)
        self.logger.record("dr/adr/entropy", self.state.entropy())

    def state_dict(self) -> dict[str, Any]:
        """JSON-serializable ADR state (empty ranges if training has not started)."""
        if self.state is None:
            return {"config": self.config.model_dump(mode="json")}
        return self.state.state_dict()

    def load_state_dict(self, data: Mapping[str, Any]) -> None:
        """Restore a saved state (pushed to the envs when training (re)starts)."""
        if "ranges" not in data:  # saved before training started
            self.state = None
            return
        self.state = ADRState.from_state_dict(data, self.config)
        if getattr(self, "model", None) is not None:
            self._push()
