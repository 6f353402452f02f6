"""The physical state of a PyBullet world as a flat float64 vector (bodies' poses, velocities,
joint positions and velocities), read and written through one client.

Shared by sim2real's own PyBullet envs (:meth:`BulletRobotEnv.get_sim_state`) and the adapter
for third-party PyBullet envs, so system identification can reset either to a recorded state.
"""

from __future__ import annotations

from typing import Any

__all__ = ["WorldLayout", "read_world", "world_layout", "world_size", "write_world"]

#: ``(body id, movable joint indices)`` of every body in the world.
WorldLayout = list[tuple[int, list[int]]]
_JOINT_FIXED = 4  # pybullet.JOINT_FIXED


def world_layout(client: Any) -> WorldLayout:
    """Every body of ``client``'s world with its movable (non-fixed) joints."""
    layout: WorldLayout = []
    for i in range(client.getNumBodies()):
        body = client.getBodyUniqueId(i)
        joints = [
            j
            for j in range(client.getNumJoints(body))
            if client.getJointInfo(body, j)[2] != _JOINT_FIXED
        ]
        layout.append((body, joints))
    return layout


def read_world(client: Any, layout: WorldLayout) -> list[float]:
    """Per body: base position (3), orientation quaternion (4), linear and angular velocity
    (3 + 3), then each movable joint's position and velocity."""
    parts: list[float] = []
    for body, joints in layout:
        pos, orn = client.getBasePositionAndOrientation(body)
        lin, ang = client.getBaseVelocity(body)
        parts += [*pos, *orn, *lin, *ang]
        for q, qd, *_ in client.getJointStates(body, joints) if joints else []:
            parts += [q, qd]
    return parts


def world_size(layout: WorldLayout) -> int:
    """Length of :func:`read_world`'s vector."""
    return sum(13 + 2 * len(joints) for _, joints in layout)


def write_world(client: Any, layout: WorldLayout, values: list[float], start: int = 0) -> int:
    """Put the world into ``values[start:]`` (as :func:`read_world` wrote it); returns the index
    after the last value used."""
    i = start
    for body, joints in layout:
        v = values[i : i + 13]
        client.resetBasePositionAndOrientation(body, v[0:3], v[3:7])
        client.resetBaseVelocity(body, v[7:10], v[10:13])
        i += 13
        if joints:
            n = 2 * len(joints)
            qs = [[q] for q in values[i : i + n : 2]]
            qds = [[qd] for qd in values[i + 1 : i + n : 2]]
            client.resetJointStatesMultiDof(body, joints, qs, qds)
            i += n
    return i
