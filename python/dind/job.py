"""``dind.Job``: a CI job container wired to Docker, beside a dind sidecar (``docker``) or, opt-in, the host socket.

    with dind.Job(["sh", "-c", "docker build -t app . && docker run --rm app"], image="docker:cli",
                  workspace=".", dind_image="docker:dind") as job:
        code = job.run()          # output printed as it comes; the job's exit code

The workspace (a host directory) is mounted at the same path in the job and in the sidecar, and is the job's working
directory, so ``docker run -v $PWD:/src`` and ``docker build .`` from the job see the job's files.
"""
from __future__ import annotations

import logging
import os
import sys
import threading
from typing import Any, Callable, List, Mapping, Optional, Sequence, Union

from . import _core
from .client import Client
from .daemon import Dind, _install_handlers, _live

log = logging.getLogger("dind.job")

OutputCallback = Callable[[bytes, str], Any]


def _env_list(environment: Union[Mapping[str, str], Sequence[str], None]) -> List[str]:
    if environment is None:
        return []
    if isinstance(environment, Mapping):
        return [f"{k}={v}" for k, v in environment.items()]
    return [str(e) for e in environment]


class Job:
    """A CI job: ``command`` in ``image`` (which needs a docker CLI), wired to Docker by ``mode``.

    ``mode="dind"`` (the default; ``"sidecar"`` also works): a private network where a dind daemon answers as
    ``docker``; the job gets ``DOCKER_HOST=tcp://docker:2376``, ``DOCKER_TLS_VERIFY=1`` and the client certs
    read-only at ``DOCKER_CERT_PATH=/certs/client``. The daemon is ``dind`` (a ``dind.Dind`` of the caller's, which
    must mount the workspace at the same path: ``Job.sidecar()`` starts one that does), or one each ``run()`` starts
    from ``dind_image`` and removes, with ``load_images`` loaded into it first.

    ``mode="socket"``: the job gets the outer engine's socket, so it controls the host's daemon; refused unless
    ``allow_host_socket=True``, and logged as a warning.

    ``run()`` removes everything it made (job container, network, a sidecar it started, with volumes) when the job
    ends, fails or is interrupted.
    """

    def __init__(self, command: Union[str, Sequence[str], None] = None, *, image: str = "docker:cli",
                 environment: Union[Mapping[str, str], Sequence[str], None] = None, workdir: Optional[str] = None,
                 workspace: Optional[Union[str, "os.PathLike[str]"]] = None, mode: str = "dind",
                 dind: Optional[Dind] = None, dind_image: str = "docker:dind", start_timeout: float = 60.0,
                 load_images: Sequence[str] = (), allow_host_socket: bool = False,
                 labels: Optional[Mapping[str, str]] = None, name: Optional[str] = None,
                 cert_dir: str = "/certs/client", require_docker_cli: bool = True,
                 client: Optional[Client] = None) -> None:
        if isinstance(command, str):
            command = ["sh", "-c", command]
        if isinstance(load_images, str):
            load_images = [load_images]
        self._dind = dind
        outer = None if client is None else client._api
        sidecar = _core.DaemonOptions(image=dind_image or "docker:dind", start_timeout=float(start_timeout),
                                      outer=outer)
        self._job = _core.Job(_core.JobOptions(
            image=image, command=list(command or ()), env=_env_list(environment), workdir=workdir or "",
            workspace=os.fspath(workspace) if workspace is not None else "", mode=_core.JobMode(mode),
            daemon=None if dind is None else dind._d, daemon_options=sidecar, load_images=list(load_images),
            allow_host_socket=allow_host_socket, labels=dict(labels or {}), name=name or "", cert_dir=cert_dir,
            require_docker_cli=require_docker_cli, outer=outer,
            on_warning=log.warning))
        self._running = False
        self._lock = threading.Lock()
        self.output: bytes = b""
        self.exit_code: Optional[int] = None
        _install_handlers()
        _live.add(self)  # closed at exit and on SIGTERM like daemons

    @classmethod
    def sidecar(cls, workspace: Union[str, "os.PathLike[str]"], image: str = "docker:dind", **kwargs: Any) -> Dind:
        """A ``dind.Dind`` that jobs with this ``workspace`` can share (``Job(..., dind=d)``): the workspace is mounted
        at the same path. The caller owns it (``with`` or ``close()``)."""
        # The core's workspace rule (cpp/src/dind/job.cpp): at the same path, and a volume at /tmp for one below it.
        shared = _core.Job.sidecar_options(os.fspath(workspace)).mounts
        return Dind(image, mounts=list(kwargs.pop("mounts", ())) + list(shared), **kwargs)

    @property
    def name(self) -> str:
        """The job container's name."""
        return self._job.name

    @property
    def workspace(self) -> str:
        """The workspace as mounted (absolute, symlinks resolved); empty without one."""
        return self._job.workspace

    @property
    def dind(self) -> Optional[Dind]:
        """The daemon this job was given, if any."""
        return self._dind

    def run(self, stream: Union[bool, OutputCallback] = True) -> int:
        """Runs the job and returns its exit code.

        ``stream=True``: its output goes to this process's stdout/stderr as it comes; ``False``: it is collected in
        ``self.output`` (bytes, in arrival order); a callable gets ``(data: bytes, stream: "stdout"|"stderr")``.
        Ctrl-C (or SIGTERM) kills the job and removes everything before it propagates.
        """
        if callable(stream):
            sink: OutputCallback = stream
        elif stream:
            sink = _print_chunk
        else:
            chunks: List[bytes] = []
            sink = lambda data, _name: chunks.append(data)  # noqa: E731
        with self._lock:
            if self._running:
                raise RuntimeError(f"job {self.name} is already running")
            self._running = True
        try:
            # The core runs it interruptibly: Ctrl-C or SIGTERM kill the job and remove what it made, then raise.
            code = self._job.run(sink)
        finally:
            with self._lock:
                self._running = False
        if not callable(stream) and not stream:
            self.output = b"".join(chunks)
        self.exit_code = int(code)
        return self.exit_code

    def close(self) -> None:
        """Ends a run in progress (from a signal handler, atexit or another thread) and waits for its cleanup."""
        if self._running:
            self._job.cancel(True)
        _live.discard(self)

    def __enter__(self) -> "Job":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<dind.Job {self.name}>"


def _print_chunk(data: bytes, name: str) -> None:
    out = sys.stderr if name == "stderr" else sys.stdout
    buf = getattr(out, "buffer", None)
    if buf is not None:
        out.flush()
        buf.write(data)
        buf.flush()
    else:  # a text-only stream (e.g. captured by pytest)
        out.write(data.decode("utf-8", "replace"))
        out.flush()
