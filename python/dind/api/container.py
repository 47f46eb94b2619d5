"""The container calls of ``APIClient``, in docker-py's argument and return shapes. The keyword conversions are
those of ``containers.run``/``create`` (``models/container_config.py``); streams are those of the models
(``models/streams.py``)."""
from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Sequence, Union

from .. import errors
from ..models import container_config
from ..models.archive import DEFAULT_DATA_CHUNK_SIZE, container_get_archive, container_put_archive
from ..models.streams import container_logs, container_stats
from ..types import EndpointConfig, NetworkingConfig


def resource_id(resource: Any, kind: str = "container") -> str:
    """docker-py's ways to name a resource: an id or name, a dict with ``Id``/``ID`` (what ``create_container``
    returns), or a model; None raises ``errors.NullResource``."""
    if isinstance(resource, Mapping):
        resource = resource.get("Id", resource.get("ID"))
    elif resource is not None and not isinstance(resource, str):
        resource = getattr(resource, "id", resource)
    if not resource:
        raise errors.NullResource(f"Resource ID was not provided (a {kind} id or name is needed)")
    return str(resource)


class _ContainerRef:
    """What the model-level stream helpers need of a container: its id and its client."""

    def __init__(self, client: Any, container_id: str) -> None:
        self.client = client
        self.id = container_id
        self.attrs: Dict[str, Any] = {}


class ContainerApiMixin:
    """``create_container``, ``start``, ``wait``, ``logs``, ``remove_container``, ``inspect_container``, ..."""

    _core: Any
    _containers: Any

    def containers(self, quiet: bool = False, all: bool = False, trunc: bool = False,  # noqa: A002
                   latest: bool = False, since: Optional[str] = None, before: Optional[str] = None,
                   limit: int = -1, size: bool = False,
                   filters: Optional[Mapping[str, Any]] = None) -> List[Dict[str, Any]]:
        """``GET /containers/json``: the list entries (``[{'Id': ...}]`` only with ``quiet``; ids cut to 12 with
        ``trunc``); ``latest``: the newest one."""
        f = dict(filters or {})
        for key, value in (("since", since), ("before", before)):
            if value is not None:
                f[key] = value
        entries: List[Dict[str, Any]] = self._containers.list(all, f or None, 1 if latest else limit, size)
        if trunc:
            for e in entries:
                e["Id"] = e["Id"][:12]
        return [{"Id": e["Id"]} for e in entries] if quiet else entries

    def create_container(self, image: str, command: Union[str, Sequence[str], None] = None,
                         hostname: Optional[str] = None, user: Union[str, int, None] = None, detach: bool = False,
                         stdin_open: bool = False, tty: bool = False, ports: Optional[Sequence[Any]] = None,
                         environment: Any = None, volumes: Union[str, Sequence[str], None] = None,
                         network_disabled: bool = False, name: Optional[str] = None, entrypoint: Any = None,
                         working_dir: Optional[str] = None, domainname: Optional[str] = None,
                         host_config: Optional[Mapping[str, Any]] = None, mac_address: Optional[str] = None,
                         labels: Any = None, stop_signal: Optional[str] = None,
                         networking_config: Optional[Mapping[str, Any]] = None, healthcheck: Any = None,
                         stop_timeout: Optional[int] = None, runtime: Optional[str] = None,
                         use_config_proxy: bool = True, platform: Optional[str] = None) -> Dict[str, Any]:
        """``POST /containers/create``: ``{'Id': ..., 'Warnings': [...]}``. ``ports`` lists the ports to expose and
        ``volumes`` the container paths of volumes (their host sides go in ``host_config``, from
        ``create_host_config(port_bindings=..., binds=...)``); ``networking_config`` is
        ``create_networking_config(...)``. A missing image raises ``errors.ImageNotFound`` (nothing is pulled)."""
        given = dict(hostname=hostname, user=user, detach=detach, stdin_open=stdin_open, tty=tty,
                     environment=environment, network_disabled=network_disabled or None, name=name,
                     entrypoint=entrypoint, working_dir=working_dir, domainname=domainname, host_config=host_config,
                     mac_address=mac_address, labels=labels, stop_signal=stop_signal, healthcheck=healthcheck,
                     runtime=runtime, use_config_proxy=use_config_proxy, platform=platform)
        kwargs = {k: v for k, v in given.items() if v is not None}
        body, params = container_config.build_create_body(image, command, kwargs, "create_container")
        if ports:
            body["ExposedPorts"] = container_config.exposed_ports(ports)
        if volumes:
            body["Volumes"] = container_config.volume_targets(volumes)
        if networking_config:
            body["NetworkingConfig"] = dict(networking_config)
        if stop_timeout is not None:
            body["StopTimeout"] = int(stop_timeout)
        created: Dict[str, Any] = self._containers.create(body, params["name"], params["platform"])
        return {"Id": created["Id"], "Warnings": created.get("Warnings") or []}

    def create_host_config(self, **kwargs: Any) -> Dict[str, Any]:
        """The ``host_config`` of ``create_container``, from docker-py's HostConfig keywords (``binds``,
        ``port_bindings``, ``mounts``, ``restart_policy``, ``mem_limit``, ...); an unknown one raises TypeError."""
        if "version" in kwargs:
            raise TypeError("create_host_config() got an unexpected keyword argument 'version'")
        return container_config.host_config(kwargs)

    def create_networking_config(self, endpoints_config: Optional[Dict[str, Any]] = None) -> NetworkingConfig:
        """The ``networking_config`` of ``create_container``: ``{'EndpointsConfig': {network: endpoint config}}``."""
        return NetworkingConfig(endpoints_config)

    def create_endpoint_config(self, aliases: Optional[List[str]] = None, links: Any = None,
                               ipv4_address: Optional[str] = None, ipv6_address: Optional[str] = None,
                               link_local_ips: Optional[List[str]] = None,
                               driver_opt: Optional[Dict[str, str]] = None,
                               mac_address: Optional[str] = None) -> EndpointConfig:
        """One network's entry of ``create_networking_config`` (aliases, links, addresses, driver options)."""
        return EndpointConfig(str(self._core.api_version), aliases=aliases, links=links, ipv4_address=ipv4_address,
                              ipv6_address=ipv6_address, link_local_ips=link_local_ips, driver_opt=driver_opt,
                              mac_address=mac_address)

    def inspect_container(self, container: Any) -> Dict[str, Any]:
        """``GET /containers/{id}/json``; ``errors.NotFound`` if there is none."""
        out: Dict[str, Any] = self._containers.inspect(resource_id(container))
        return out

    def start(self, container: Any, *args: Any, **kwargs: Any) -> None:
        """Start a container (already running is fine). Configuration belongs in ``create_container``."""
        if args or kwargs:
            raise errors.DeprecatedMethod("Providing configuration in the start() method is no longer supported. "
                                          "Use the host_config param in create_container instead.")
        self._containers.start(resource_id(container))

    def stop(self, container: Any, timeout: Optional[int] = None) -> None:
        """SIGTERM, then SIGKILL after ``timeout`` seconds (default: the container's StopTimeout, else 10)."""
        self._containers.stop(resource_id(container), timeout)

    def kill(self, container: Any, signal: Union[str, int, None] = None) -> None:
        """Send a signal (default SIGKILL)."""
        self._containers.kill(resource_id(container), None if signal is None else str(signal))

    def restart(self, container: Any, timeout: int = 10) -> None:
        """Stop (as ``stop``) and start again."""
        self._containers.restart(resource_id(container), timeout)

    def wait(self, container: Any, timeout: Optional[float] = None,
             condition: Optional[str] = None) -> Dict[str, Any]:
        """Block until the container stops: ``{'StatusCode': n, 'Error': ...}``. ``timeout`` seconds, then
        ``errors.TimeoutError``; ``condition``: not-running, next-exit, removed."""
        cid = resource_id(container)
        pending = self._containers.begin_wait(cid, condition)
        out: Dict[str, Any] = pending.result(timeout, f"waiting for container {cid[:12]} on {self._core.base_url}")
        return out

    def logs(self, container: Any, stdout: bool = True, stderr: bool = True, stream: bool = False,
             timestamps: bool = False, tail: Union[str, int] = "all", since: Any = None,
             follow: Optional[bool] = None, until: Any = None) -> Any:
        """The container's output: bytes, or with ``stream=True`` an iterator of bytes chunks (``follow``, which
        defaults to ``stream``, keeps it open until the container stops)."""
        return container_logs(_ContainerRef(self._core, resource_id(container)), stdout=stdout, stderr=stderr,
                              stream=stream, timestamps=timestamps, tail=tail, since=since, follow=follow,
                              until=until)

    def remove_container(self, container: Any, v: bool = False, link: bool = False, force: bool = False) -> None:
        """``DELETE /containers/{id}`` (``v``: with its anonymous volumes; ``force``: even if running)."""
        self._containers.remove(resource_id(container), force=force, v=v, link=link)

    def top(self, container: Any, ps_args: Optional[str] = None) -> Dict[str, Any]:
        """The container's processes: ``{'Titles': [...], 'Processes': [[...], ...]}``."""
        out: Dict[str, Any] = self._containers.top(resource_id(container), ps_args)
        return out

    def pause(self, container: Any) -> None:
        """Freeze every process of the container."""
        self._containers.pause(resource_id(container))

    def unpause(self, container: Any) -> None:
        """Thaw a paused container."""
        self._containers.unpause(resource_id(container))

    def diff(self, container: Any) -> List[Dict[str, Any]]:
        """Changes to the container's filesystem: ``[{'Path': ..., 'Kind': 0|1|2}]``."""
        out: List[Dict[str, Any]] = self._containers.changes(resource_id(container))
        return out

    def stats(self, container: Any, decode: Optional[bool] = None, stream: bool = True,
              one_shot: Optional[bool] = None) -> Any:
        """Resource usage: a stream of samples (dicts with ``decode``), or one dict with ``stream=False``."""
        return container_stats(_ContainerRef(self._core, resource_id(container)), decode=decode, stream=stream,
                               one_shot=one_shot)

    def put_archive(self, container: Any, path: str, data: Any) -> bool:
        """Extract the tar ``data`` (bytes, a binary file, an iterable of bytes) into directory ``path``."""
        return container_put_archive(resource_id(container), path, data, client=self._core)

    def get_archive(self, container: Any, path: str, chunk_size: Optional[int] = DEFAULT_DATA_CHUNK_SIZE,
                    encode_stream: bool = False) -> Any:
        """A tar of ``path`` in the container: ``(iterator of bytes chunks, stat dict)``."""
        return container_get_archive(resource_id(container), path, chunk_size, encode_stream, client=self._core)
