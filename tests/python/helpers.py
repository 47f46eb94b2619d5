"""Helpers shared by the tests that drive dind from outside (CLI, pytest plugin): what is on the engine."""
from __future__ import annotations

import os
import shutil
from typing import Any, Dict, Iterable, List

import dind
from dind import errors


def outer() -> dind.Client:
    return dind.Client("unix:///var/run/docker.sock")


def remove_containers(containers: Iterable[Any]) -> List[str]:
    """Removes the containers (force, with volumes) and the dind directories they name; returns their names."""
    removed = []
    for c in containers:
        path = c.labels.get("dind.dir") or c.labels.get("dind.cert-path", "")
        try:
            c.remove(force=True, v=True)
        except errors.NotFound:
            pass
        if path and os.path.basename(path).startswith("dind-"):
            shutil.rmtree(path, ignore_errors=True)
        removed.append(c.name)
    return removed


def purge(session: str) -> List[str]:
    """Removes every container (with volumes) of a session and the cert dirs they name; returns their names."""
    return remove_containers(outer().containers.list(all=True, filters={"label": [f"dind.session={session}"]}))


def exists(name: str) -> bool:
    try:
        outer().containers.get(name)
        return True
    except errors.NotFound:
        return False


def volumes_of(name: str) -> List[str]:
    info = outer().containers.get(name).attrs
    return [m["Name"] for m in info.get("Mounts", []) if m.get("Type") == "volume"]


def volume_exists(volume: str) -> bool:
    try:
        outer().volumes.get(volume)
        return True
    except errors.NotFound:
        return False


def ancestors() -> List[int]:
    """This process and its ancestors, nearest first (pids as this pid namespace sees them)."""
    chain, pid = [], os.getpid()
    while pid > 0:
        chain.append(pid)
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
        pid = int(stat[stat.rindex(")") + 2:].split()[1])
    return chain


def owned_by_this_session(pid: int) -> bool:
    """Whether ``pid`` is what the owner rule of ``dind up`` / ``--dind-keep`` names for a command started from this
    process: the leader of this process's session (``os.getsid``), which lives on however the shells between exit;
    where the session began outside this pid namespace (getsid answers 0), a living ancestor standing in for it."""
    sid = os.getsid(0)
    if sid > 1:
        return pid == sid
    return pid in ancestors() and pid > 1


def exports(text: str) -> Dict[str, str]:
    """``export K=V`` lines of a command's output → dict (values are shell-quoted only when needed; ours never are)."""
    env = {}
    for line in text.splitlines():
        if line.startswith("export "):
            key, _, value = line[len("export "):].partition("=")
            env[key] = value.strip("'")
    return env
