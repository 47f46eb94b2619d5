"""Containers, docker-py style: ``client.containers.run/create/get/list/prune`` and the ``Container`` model."""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Sequence, Union, cast

from .. import _core, errors
from .container_config import build_create_body, parse_bytes
from .resource import Collection, Model, core_client

def _wait_result(pending: _core.PendingWait, timeout: Optional[float], what: str) -> Dict[str, Any]:
    """The result of a registered wait; ``timeout`` (seconds) → TimeoutError; Ctrl-C ends it (the core's one
    interruptible-call helper, cpp/bindings/common.hpp)."""
    return pending.result(timeout, what)


# --- the model -----------------------------------------------------------------------------------------------------


class Container(Model):
    """One container on the engine (``attrs`` is its inspect JSON)."""

    @property
    def name(self) -> Optional[str]:
        """The container's name, without the leading slash."""
        name = self.attrs.get("Name")
        if name is None and self.attrs.get("Names"):
            name = self.attrs["Names"][0]
        return name.lstrip("/") if name else None

    @property
    def image(self) -> Any:
        """The container's image: an Image model when the images group is available, else the image id."""
        image_id = self.attrs.get("ImageID", self.attrs.get("Image", ""))
        if not image_id:
            return None
        try:
            return self.client.images.get(image_id.split(":")[1] if image_id.startswith("sha256:") else image_id)
        except (ImportError, AttributeError, errors.NotFound):
            return image_id

    @property
    def labels(self) -> Dict[str, str]:
        """The container's labels."""
        cfg = self.attrs.get("Config")
        if isinstance(cfg, dict):
            return cfg.get("Labels") or {}
        return self.attrs.get("Labels") or {}

    @property
    def status(self) -> str:
        """The container's state: ``created``, ``running``, ``exited``, ..."""
        state = self.attrs.get("State")
        if isinstance(state, dict):
            return cast(str, state.get("Status", ""))
        return state or ""

    @property
    def health(self) -> str:
        """The health check's status (``healthy``, ``starting``, ...), ``unknown`` without one."""
        state = self.attrs.get("State")
        if isinstance(state, dict) and isinstance(state.get("Health"), dict):
            return cast(str, state["Health"].get("Status", "unknown"))
        return "unknown"

    @property
    def ports(self) -> Dict[str, Any]:
        """The published ports, as ``NetworkSettings.Ports``."""
        return (self.attrs.get("NetworkSettings") or {}).get("Ports") or {}

    def start(self) -> None:
        """Start the container (already running is fine)."""
        self._group.start(self.id)

    def stop(self, timeout: Optional[int] = None) -> None:
        """Stop it: SIGTERM, then SIGKILL after ``timeout`` seconds (default: its StopTimeout, else 10)."""
        self._group.stop(self.id, timeout)

    def kill(self, signal: Union[str, int, None] = None) -> None:
        """Send ``signal`` (a name or a number; default SIGKILL) to the container."""
        self._group.kill(self.id, None if signal is None else str(signal))

    def restart(self, timeout: Optional[int] = None) -> None:
        """Restart it (stop with ``timeout``, then start)."""
        self._group.restart(self.id, timeout)

    def pause(self) -> None:
        """Freeze its processes."""
        self._group.pause(self.id)

    def unpause(self) -> None:
        """Thaw its processes."""
        self._group.unpause(self.id)

    def remove(self, v: bool = False, link: bool = False, force: bool = False) -> None:
        """Remove it (``force``: kill it first; ``v``: with its anonymous volumes)."""
        self._group.remove(self.id, force=force, v=v, link=link)

    def wait(self, timeout: Optional[float] = None, condition: Optional[str] = None) -> Dict[str, Any]:
        """Block until the container stops (or ``condition``: not-running, next-exit, removed).

        No time limit unless ``timeout`` (seconds) is given; then ``dind.errors.TimeoutError`` when it passes.
        """
        pending = self._group.begin_wait(self.id, condition)
        return _wait_result(pending, timeout, f"waiting for container {self.short_id} on {self.client.base_url}")

    def wait_for(self, log: Optional[str] = None, port: Optional[int] = None, http: Optional[str] = None,
                 http_port: Optional[int] = None, status: Optional[int] = None, healthy: bool = False,
                 timeout: float = 60.0) -> "Container":
        """Block until it is ready: ``log`` (a regex on stdout and stderr), ``port`` (N/tcp, published, accepts a
        connection), ``http`` (a path: GET on ``http_port``, default ``port`` else 80, answers 2xx/3xx or ``status``),
        ``healthy`` (its healthcheck says healthy); all given must hold within ``timeout`` seconds.

        Ports are dialled from where this process stands (a dind daemon's ports through its reach). Raises
        ``ContainerExited`` (a ``ContainerError``, with its exit code and log tail) at once if it exits first,
        ``TimeoutError`` naming what was awaited when the time passes. Returns the container.
        """
        options = _core.WaitOptions(log=log or "", port=int(port or 0), http=http or "", http_port=int(http_port or 0),
                                    status=int(status or 0), healthy=bool(healthy), timeout=float(timeout))
        _core.wait_for(core_client(self.client), str(self.id), options)
        return self

    def top(self, ps_args: Optional[str] = None) -> Dict[str, Any]:
        """The processes running in it: ``{'Titles': [...], 'Processes': [[...]]}``."""
        return cast(Dict[str, Any], self._group.top(self.id, ps_args))

    def stats(self, decode: Optional[bool] = None, stream: bool = True, one_shot: Optional[bool] = None) -> Any:
        """One sample as a dict with ``stream=False``; otherwise a stream (docker-py's default)."""
        if stream:
            if one_shot:
                raise errors.DockerException("stats: one_shot=True needs stream=False")
            from .streams import container_stats

            return container_stats(self, decode=decode, stream=True, one_shot=one_shot)
        return self._group.stats(self.id, bool(one_shot))

    def diff(self) -> Optional[List[Dict[str, Any]]]:
        """Changes to the container's filesystem: [{'Path': ..., 'Kind': 0 modified | 1 added | 2 deleted}] (None
        when there are none, as the engine answers)."""
        return cast(Optional[List[Dict[str, Any]]], self._group.changes(self.id))

    def resize(self, height: int, width: int) -> None:
        """Resize the container's TTY."""
        self._group.resize(self.id, int(height), int(width))

    def rename(self, name: str) -> None:
        """Rename it."""
        self._group.rename(self.id, name)

    def update(self, **kwargs: Any) -> Dict[str, Any]:
        """Change resources or the restart policy (docker-py's update_container names)."""
        names = {"blkio_weight": "BlkioWeight", "cpu_period": "CpuPeriod", "cpu_quota": "CpuQuota",
                 "cpu_shares": "CpuShares", "cpuset_cpus": "CpusetCpus", "cpuset_mems": "CpusetMems",
                 "restart_policy": "RestartPolicy", "pids_limit": "PidsLimit", "nano_cpus": "NanoCpus"}
        sizes = {"mem_limit": "Memory", "mem_reservation": "MemoryReservation", "memswap_limit": "MemorySwap",
                 "kernel_memory": "KernelMemory"}
        body: Dict[str, Any] = {}
        for key, value in kwargs.items():
            if key in names:
                if value is not None:
                    body[names[key]] = dict(value) if key == "restart_policy" else value
            elif key in sizes:
                if value is not None:
                    body[sizes[key]] = parse_bytes(value, key)
            else:
                raise TypeError(f"update() got an unexpected keyword argument '{key}'")
        return cast(Dict[str, Any], self._group.update(self.id, body))

    # Delegations to the streaming / archive / image engineers' functions.
    def logs(self, **kwargs: Any) -> Any:
        """Its logs (docker-py's arguments): see ``dind.models.streams.container_logs``."""
        from .streams import container_logs

        return container_logs(self, **kwargs)

    def attach(self, **kwargs: Any) -> Any:
        """Attach to its output (docker-py's arguments): see ``dind.models.streams.container_attach``."""
        from .streams import container_attach

        return container_attach(self, **kwargs)

    def attach_socket(self, **kwargs: Any) -> Any:
        """A hijacked attach with stdin: see ``dind.models.streams.container_attach_socket``."""
        from .streams import container_attach_socket

        return container_attach_socket(self, **kwargs)

    def exec_run(self, cmd: Any, **kwargs: Any) -> Any:
        """Run a command in it: see ``dind.models.streams.container_exec_run``."""
        from .streams import container_exec_run

        return container_exec_run(self, cmd, **kwargs)

    def put_archive(self, path: str, data: Any) -> Any:
        """Extract a tar into ``path`` in it: see ``dind.models.archive.container_put_archive``."""
        from .archive import container_put_archive

        return container_put_archive(self, path, data)

    def get_archive(self, path: str, **kwargs: Any) -> Any:
        """A tar of ``path`` in it and its stat: see ``dind.models.archive.container_get_archive``."""
        from .archive import container_get_archive

        return container_get_archive(self, path, **kwargs)

    def export(self, **kwargs: Any) -> Any:
        """Its file system as a tar stream: see ``dind.models.archive.container_export``."""
        from .archive import container_export

        return container_export(self, **kwargs)

    def commit(self, **kwargs: Any) -> Any:
        """An image from it: see ``dind.models.images.container_commit``."""
        from .images import container_commit

        return container_commit(self, **kwargs)


def _remove_quietly(container: "Container") -> None:
    try:
        container.remove(force=True, v=True)
    except errors.NotFound:
        pass


def _wait_of(kwargs: Dict[str, Any], detach: bool) -> Optional[Mapping[str, Any]]:
    """run()'s ``wait=`` (dind's own: a dict of ``Container.wait_for``'s keywords), checked before anything is made."""
    wait = kwargs.pop("wait", None)
    if wait is not None and not detach:
        raise errors.InvalidArgument("run(wait=...) needs detach=True: without it run() waits for the exit")
    if wait is not None and not isinstance(wait, Mapping):
        raise errors.InvalidArgument(f"run(wait=...) takes a dict of wait_for()'s keywords, not {wait!r}")
    return wait


def _start_waiting(container: "Container", wait: Optional[Mapping[str, Any]]) -> "Container":
    """Starts it and, with ``wait``, waits for it; if either fails it is removed: nothing left that was not asked for."""
    try:
        container.start()
        if wait is not None:
            container.wait_for(**wait)
    except BaseException:
        _remove_quietly(container)
        raise
    return container


class _RemoveWhenDone:
    """run(stream=True, remove=True): the log stream, removing the container once it is read to its end or closed."""

    def __init__(self, stream: Any, container: "Container") -> None:
        self._stream = stream
        self._it = iter(stream)
        self._container: Optional[Container] = container

    def __iter__(self) -> "_RemoveWhenDone":
        return self

    def __next__(self) -> Any:
        try:
            return next(self._it)
        except BaseException:
            self._finish()
            raise

    def close(self) -> None:
        try:
            if hasattr(self._stream, "close"):
                self._stream.close()
        finally:
            self._finish()

    def __enter__(self) -> "_RemoveWhenDone":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _finish(self) -> None:
        container, self._container = self._container, None
        if container is not None:
            _remove_quietly(container)


# --- the collection ------------------------------------------------------------------------------------------------


class ContainerCollection(Collection[Container]):
    """``client.containers``."""

    model = Container
    group_type = _core.Containers
    _group: _core.Containers

    def get(self, container_id: str) -> Container:
        """A container by id, unique id prefix or name; ``NotFound`` if absent."""
        return self.prepare_model(self._group.inspect(container_id))

    def create(self, image: Any, command: Union[str, Sequence[str], None] = None, **kwargs: Any) -> Container:
        """Create (not start) a container; takes docker-py's run() kwargs. ``ImageNotFound`` if the image is absent."""
        image = self._image_ref(image)
        body, params = build_create_body(image, command, dict(kwargs), "create")
        created = self._group.create(body, params["name"], params["platform"])  # ImageNotFound from the core
        return self.get(created["Id"])

    def run(self, image: Any, command: Union[str, Sequence[str], None] = None, stdout: bool = True,
            stderr: bool = False, remove: bool = False, **kwargs: Any) -> Any:
        """Create and start a container; with ``detach=True`` return it, else wait and return its output (bytes).

        A non-zero exit raises ``ContainerError`` carrying stderr. ``remove=True`` removes it afterwards, also on
        error. A missing image is pulled once; if that fails, ``ImageNotFound``.
        """
        image = self._image_ref(image)
        stream = kwargs.pop("stream", False)
        detach = kwargs.get("detach", False)
        platform = kwargs.get("platform")
        if detach and remove:
            kwargs["auto_remove"] = True
        wait = _wait_of(kwargs, detach)
        container = self._create_pulling(image, command, platform, kwargs)
        if detach:
            return _start_waiting(container, wait)

        auto_remove = bool(kwargs.get("auto_remove"))
        remove_after = remove and not auto_remove
        handed_off = False  # a returned log stream removes the container itself when it ends
        log_type = (container.attrs.get("HostConfig", {}).get("LogConfig") or {}).get("Type", "json-file")
        has_logs = log_type in ("json-file", "journald", "local")
        try:
            # Registered before start so a quick exit (or an auto-remove) can't slip past the wait.
            pending = self._group.begin_wait(str(container.id), "removed" if auto_remove else "next-exit")
            try:
                container.start()
            except BaseException:
                pending.close()
                raise
            out: Any = None
            if stream and has_logs:
                out = container.logs(stdout=stdout, stderr=stderr, stream=True, follow=True)
            elif auto_remove and has_logs:
                # The container is gone after it exits: collect the output while it runs.
                out = self._group.logs_all(str(container.id), stdout=stdout, stderr=stderr, follow=True, demux=False,
                                          tty=container.attrs.get("Config", {}).get("Tty", False))[0]
            exit_status = _wait_result(pending, None, f"waiting for container {container.short_id} on "
                                       f"{self.client.base_url}")["StatusCode"]
            if not stream and not auto_remove and has_logs:
                out = self._group.logs_all(str(container.id), stdout=stdout, stderr=stderr, demux=False,
                                          tty=container.attrs.get("Config", {}).get("Tty", False))[0]
            if exit_status != 0:
                if stream and hasattr(out, "close"):
                    out.close()
                err = None
                if not auto_remove and has_logs:
                    err = self._group.logs_all(str(container.id), stdout=False, stderr=True,
                                              tty=container.attrs.get("Config", {}).get("Tty", False))[1]
                raise errors.ContainerError(container, exit_status, command, image, err)
            if stream and remove_after and out is not None:
                handed_off = True
                return _RemoveWhenDone(out, container)
            return out
        finally:
            if remove_after and not handed_off:
                _remove_quietly(container)

    def list(self, all: bool = False, before: Optional[str] = None, filters: Optional[Mapping[str, Any]] = None,
             limit: int = -1, since: Optional[str] = None, sparse: bool = False,
             ignore_removed: bool = False) -> List[Container]:
        """Containers (running only unless ``all``). ``sparse``: the list entries as they are, without an inspect
        each; ``ignore_removed``: skip containers removed between the list and their inspect."""
        f = dict(filters or {})
        if before is not None:
            f["before"] = before
        if since is not None:
            f["since"] = since
        entries = self._group.list(all, f or None, limit if limit else -1, False)
        if sparse:
            return [self.prepare_model(e) for e in entries]
        out = []
        for e in entries:
            try:
                out.append(self.get(e["Id"]))
            except errors.NotFound as gone:
                if ignore_removed:
                    continue
                # docker-py's default, in words: the list named it, the inspect right after found it gone.
                name = (e.get("Names") or [e["Id"][:12]])[0].lstrip("/")
                raise type(gone)(
                    f"container {name} ({e['Id'][:12]}) was removed while the containers were listed (it was in "
                    f"GET /containers/json, then gone for its inspect); containers.list(ignore_removed=True) skips "
                    f"such containers: {gone}", status_code=gone.status_code, explanation=gone.explanation,
                    method=gone.method, path=gone.path) from None
        return out

    def prune(self, filters: Optional[Mapping[str, Any]] = None) -> Dict[str, Any]:
        """Remove stopped containers: {'ContainersDeleted': [...], 'SpaceReclaimed': n}."""
        return self._group.prune(dict(filters) if filters else None)

    # --- helpers ---

    @staticmethod
    def _image_ref(image: Any) -> str:
        if isinstance(image, str):
            return image
        ident = getattr(image, "id", None)
        if not ident:
            raise TypeError(f"image must be a name or an Image, got {image!r}")
        return cast(str, ident)

    def _create_pulling(self, image: str, command: Any, platform: Optional[str], kwargs: Dict[str, Any]) -> Container:
        """create(), and for an image the engine lacks, one pull and a second create."""
        try:
            return self.create(image, command, **kwargs)
        except errors.ImageNotFound as first:
            self._pull_once(image, platform, first)
            return self.create(image, command, **kwargs)

    def _pull_once(self, image: str, platform: Optional[str], first: errors.ImageNotFound) -> None:
        """One pull (no registry retries); ImageNotFound naming the image and why the pull failed."""
        try:
            self.client.images.pull(image, platform=platform)
        except errors.DockerException as e:
            reason = getattr(e, "explanation", None) or str(e)
            raise errors.ImageNotFound(
                f"image {image!r} is not on the engine at {self.client.base_url} and pulling it failed: {reason}",
                status_code=first.status_code, explanation=f"No such image: {image} (pull failed: {reason})",
                method=first.method, path=first.path) from None
