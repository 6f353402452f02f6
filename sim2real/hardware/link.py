"""A ``RobotInterface`` over a local TCP socket (JSON lines), and a simulated robot to serve.

Protocol, one JSON object per line each way: ``{"op": "reset"}`` -> ``{"obs": [...]}``,
``{"op": "read"}`` -> ``{"obs": [...]}``, ``{"op": "act", "action": [...]}`` ->
``{"feedback": null | [reward, done, truncated]}``. ``python -m sim2real.hardware.link ENV
[TARGET] --port P`` serves sim2real's PyBullet ``ENV`` (on domain ``TARGET``) this way.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import threading
from typing import Any

import numpy as np

from sim2real.controller.loop import RobotInterface, StepFeedback
from sim2real.errors import Sim2RealError

__all__ = ["RobotDisconnected", "SimulatedRobot", "SocketRobot", "serve_robot"]


class RobotDisconnected(Sim2RealError, ConnectionError):
    """The robot stopped answering (one-line message saying what was kept and how to resume)."""


def _parse_address(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    try:
        return host or "127.0.0.1", int(port)
    except ValueError:
        raise Sim2RealError(f"robot address {address!r}: expected HOST:PORT") from None


class SocketRobot:
    """The client side: a :class:`RobotInterface` talking to :func:`serve_robot`."""

    def __init__(self, address: str, timeout: float = 5.0) -> None:
        self.address = address
        self.timeout = timeout
        self._sock: socket.socket | None = None
        self._file: Any = None

    def connect(self) -> None:
        """Open the connection (done on first use)."""
        host, port = _parse_address(self.address)
        try:
            self._sock = socket.create_connection((host, port), timeout=self.timeout)
        except OSError as exc:
            raise RobotDisconnected(
                f"cannot reach the robot at {self.address} ({exc.strerror or exc}); start its "
                "server (python -m sim2real.hardware.link ...) or fix address"
            ) from None
        self._file = self._sock.makefile("rwb")

    def _call(self, request: dict[str, Any]) -> dict[str, Any]:
        if self._sock is None:
            self.connect()
        try:
            self._file.write(json.dumps(request).encode() + b"\n")
            self._file.flush()
            line = self._file.readline()
        except OSError as exc:
            self.close()
            raise RobotDisconnected(f"robot at {self.address}: connection lost ({exc})") from None
        if not line:
            self.close()
            raise RobotDisconnected(f"robot at {self.address} closed the connection")
        reply: dict[str, Any] = json.loads(line)
        return reply

    def reset(self) -> np.ndarray:
        return np.asarray(self._call({"op": "reset"})["obs"], np.float64)

    def read_observation(self) -> np.ndarray:
        return np.asarray(self._call({"op": "read"})["obs"], np.float64)

    def send_action(self, action: np.ndarray) -> StepFeedback | None:
        fb = self._call({"op": "act", "action": np.asarray(action, np.float64).tolist()})
        return None if fb.get("feedback") is None else StepFeedback(*fb["feedback"])

    def close(self) -> None:
        """Close the connection (reopened on next use)."""
        if self._sock is not None:
            for closable in (self._file, self._sock):
                try:
                    closable.close()
                except OSError:
                    pass
        self._sock = self._file = None


class SimulatedRobot:
    """A sim2real env behind :class:`RobotInterface` (a stand-in for hardware in tests)."""

    def __init__(self, env: str, target: str = "nominal", seed: int = 0) -> None:
        from sim2real.evaluation.targets import make_target_env

        self.env = make_target_env(env, target)
        self.seed = seed
        self._obs: np.ndarray | None = None
        self.episodes = 0

    def reset(self) -> np.ndarray:
        obs, _ = self.env.reset(seed=self.seed + self.episodes)
        self.episodes += 1
        self._obs = np.asarray(obs, np.float64)
        return self._obs

    def read_observation(self) -> np.ndarray:
        assert self._obs is not None
        return self._obs

    def send_action(self, action: np.ndarray) -> StepFeedback:
        obs, reward, terminated, truncated, _ = self.env.step(np.asarray(action, np.float32))
        self._obs = np.asarray(obs, np.float64)
        return StepFeedback(float(reward), bool(terminated or truncated), bool(truncated))


def serve_robot(
    robot: RobotInterface, port: int, host: str = "127.0.0.1", max_steps: int | None = None
) -> None:
    """Serve ``robot`` until the process is killed (one thread per client, requests one at a
    time); ``max_steps``: the process exits after that many actions (a robot that goes away
    mid-episode, for tests)."""
    lock = threading.Lock()
    steps = [0]

    def handle(conn: socket.socket) -> None:
        with conn, conn.makefile("rwb") as f:
            for line in f:
                req = json.loads(line)
                with lock:
                    if req["op"] == "act":
                        steps[0] += 1
                        if max_steps is not None and steps[0] > max_steps:
                            os._exit(0)  # the robot is gone: every client sees a closed socket
                        fb = robot.send_action(np.asarray(req["action"], np.float64))
                        reply: dict[str, Any] = {"feedback": None if fb is None else list(fb)}
                    else:
                        obs = robot.reset() if req["op"] == "reset" else robot.read_observation()
                        reply = {"obs": np.asarray(obs, np.float64).tolist()}
                f.write(json.dumps(reply).encode() + b"\n")
                f.flush()

    with socket.create_server((host, port)) as server:
        while True:
            conn, _ = server.accept()
            threading.Thread(target=handle, args=(conn,), daemon=True).start()


def main(argv: list[str] | None = None) -> None:
    """``python -m sim2real.hardware.link ENV [TARGET] --port P [--max-steps N]``."""
    parser = argparse.ArgumentParser(description="Serve a simulated robot over a local socket.")
    parser.add_argument("env")
    parser.add_argument("target", nargs="?", default="nominal")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--max-steps", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    serve_robot(
        SimulatedRobot(args.env, args.target, args.seed), args.port, max_steps=args.max_steps
    )


if __name__ == "__main__":
    main()
