"""The commands that run something with a daemon: run (up, the command, down) and job (a CI job container)."""
from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
from typing import Any, Callable, Dict, Iterator, List

from .common import error, progress, usage
from .daemons import start_daemon

class _Signalled(BaseException):
    """A termination signal arrived before the command ran."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def command_after_dashes(args: argparse.Namespace, missing: str) -> List[str]:
    """The command given after ``--``; a usage error saying ``missing`` when there is none."""
    cmd = list(args.cmd)
    if cmd and cmd[0] == "--":
        cmd = cmd[1:]
    if not cmd:
        usage(args.parser, missing)
    return cmd


@contextlib.contextmanager
def handling_termination(handler: Callable[[int, Any], None]) -> Iterator[None]:
    """``handler`` for SIGINT, SIGTERM and SIGHUP inside the block; the previous handlers afterwards."""
    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


def cmd_run(args: argparse.Namespace) -> int:
    """``dind run -- COMMAND``: a daemon for the command's lifetime; exits with the command's status."""
    cmd = command_after_dashes(args, "give the command to run after --, e.g. dind run -- docker version")
    state: Dict[str, Any] = {"child": None}
    forward_int = not sys.stdin.isatty() if sys.stdin else True  # on a terminal Ctrl-C reaches the child itself

    def on_signal(signum: int, frame: Any) -> None:
        child = state["child"]
        if child is None:
            raise _Signalled(signum)  # still starting: unwind, the finally below removes what exists
        if signum != signal.SIGINT or forward_int:
            try:
                child.send_signal(signum)
            except ProcessLookupError:
                pass

    d = None
    with handling_termination(on_signal):
        try:
            d = start_daemon(args, owner="self")  # this process owns it: if it is killed, `dind prune` removes it
            env = {**os.environ, **d.env}
            if args.no_tls:
                for k in ("DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH"):
                    env.pop(k, None)
            try:
                state["child"] = subprocess.Popen(cmd, env=env)
            except FileNotFoundError:
                error("run", f"command not found: {cmd[0]}")
                return 127  # the shell's status for a missing command
            except PermissionError:
                error("run", f"command not executable: {cmd[0]}")
                return 126
            while True:
                try:
                    code: int = state["child"].wait()
                    break
                except _Signalled:  # pragma: no cover - handlers do not raise once the child runs
                    continue
            return 128 - code if code < 0 else code
        except _Signalled as s:
            return 128 + s.signum
        finally:
            if d is not None:
                progress(f"removing {d.name} ...")
                d.close()


def job_env(text: str) -> str:
    """``KEY=VALUE``, or a bare ``KEY`` taken from this environment (as ``docker run -e KEY`` does)."""
    if text.startswith("="):
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE or KEY, got {text!r}")
    return text


def cmd_job(args: argparse.Namespace) -> int:
    """``dind job -- COMMAND``: runs a CI job container beside a dind sidecar; exits with its status."""
    cmd = command_after_dashes(args, "give the job's command after --, e.g. dind job -- docker version")
    env: List[str] = []
    for item in args.env:
        if "=" in item:
            env.append(item)
        elif item in os.environ:
            env.append(f"{item}={os.environ[item]}")
    if args.host_socket and args.load:
        usage(args.parser, "--load loads images into the dind sidecar; with --host-socket there is none")

    def on_signal(signum: int, frame: Any) -> None:
        raise _Signalled(signum)  # unwinds Job.run, which kills the job and removes what it made

    with handling_termination(on_signal):
        try:
            from .. import errors
            from ..job import Job

            job = Job(cmd, image=args.image, environment=env, workdir=args.workdir, workspace=args.workspace,
                      mode="socket" if args.host_socket else "dind", dind_image=args.dind_image,
                      start_timeout=args.timeout, load_images=tuple(args.load),
                      allow_host_socket=args.host_socket, name=args.name)
            wiring = "the host's Docker socket" if args.host_socket else f"a dind sidecar ({args.dind_image})"
            progress(f"running job {job.name} ({args.image}) with {wiring} ...")
            try:
                return job.run(stream=True)
            except errors.DockerException as e:
                first, _, rest = str(e).partition("\n")
                error("job", first)
                if rest.strip():
                    sys.stderr.write(rest.rstrip("\n") + "\n")
                return 1
        except _Signalled as s:
            return 128 + s.signum
