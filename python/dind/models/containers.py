"""Containers, docker-py style: ``client.containers.run/create/get/list/prune`` and the ``Container`` model."""

from __future__ import annotations

import re
import shlex
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

from .. import _core, errors
from .resource import Collection, Model

# --- docker-py run()/create() kwargs → the body of POST /containers/create ------------------------------------------

# Container config fields that are copied (after conversion) into the create body.
_CONFIG_KWARGS = {
    "command",
    "detach",
    "domainname",
    "entrypoint",
    "environment",
    "healthcheck",
    "hostname",
    "labels",
    "mac_address",
    "name",
    "network_disabled",
    "platform",
    "stdin_open",
    "stop_signal",
    "tty",
    "use_config_proxy",
    "user",
    "working_dir",
}

# HostConfig fields that need no conversion: docker-py kwarg → API field.
_HOST_PLAIN = {
    "auto_remove": "AutoRemove",
    "blkio_weight": "BlkioWeight",
    "blkio_weight_device": "BlkioWeightDevice",
    "cap_add": "CapAdd",
    "cap_drop": "CapDrop",
    "cgroup_parent": "CgroupParent",
    "cgroupns": "CgroupnsMode",
    "cpu_count": "CpuCount",
    "cpu_percent": "CpuPercent",
    "cpu_period": "CpuPeriod",
    "cpu_quota": "CpuQuota",
    "cpu_rt_period": "CPURealtimePeriod",
    "cpu_rt_runtime": "CPURealtimeRuntime",
    "cpu_shares": "CpuShares",
    "cpuset_cpus": "CpusetCpus",
    "cpuset_mems": "CpusetMems",
    "device_cgroup_rules": "DeviceCgroupRules",
    "device_read_bps": "BlkioDeviceReadBps",
    "device_read_iops": "BlkioDeviceReadIOps",
    "device_requests": "DeviceRequests",
    "device_write_bps": "BlkioDeviceWriteBps",
    "device_write_iops": "BlkioDeviceWriteIOps",
    "dns": "Dns",
    "dns_opt": "DnsOptions",
    "dns_search": "DnsSearch",
    "group_add": "GroupAdd",
    "init": "Init",
    "ipc_mode": "IpcMode",
    "isolation": "Isolation",
    "nano_cpus": "NanoCpus",
    "network_mode": "NetworkMode",
    "oom_kill_disable": "OomKillDisable",
    "oom_score_adj": "OomScoreAdj",
    "pid_mode": "PidMode",
    "pids_limit": "PidsLimit",
    "privileged": "Privileged",
    "publish_all_ports": "PublishAllPorts",
    "read_only": "ReadonlyRootfs",
    "runtime": "Runtime",
    "security_opt": "SecurityOpt",
    "storage_opt": "StorageOpt",
    "sysctls": "Sysctls",
    "userns_mode": "UsernsMode",
    "uts_mode": "UTSMode",
    "volume_driver": "VolumeDriver",
    "volumes_from": "VolumesFrom",
}

# Sizes given as 128m / "1g" / int.
_HOST_BYTES = {
    "kernel_memory": "KernelMemory",
    "mem_limit": "Memory",
    "mem_reservation": "MemoryReservation",
    "memswap_limit": "MemorySwap",
    "shm_size": "ShmSize",
}

# Converted below; listed so that the unknown-kwarg check knows them.
_HOST_SPECIAL = {
    "devices",
    "extra_hosts",
    "links",
    "log_config",
    "mem_swappiness",
    "mounts",
    "ports",
    "restart_policy",
    "tmpfs",
    "ulimits",
    "volumes",
    "network",
    "networking_config",
    "host_config",
    "version",  # docker-py's HostConfig takes the API version; nothing to do here
    "lxc_conf",  # ignored by every engine since 1.10
}

_KNOWN_KWARGS = _CONFIG_KWARGS | set(_HOST_PLAIN) | set(_HOST_BYTES) | _HOST_SPECIAL

_UNITS = {"b": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}


def _parse_bytes(value: Union[int, float, str], what: str) -> int:
    """docker-py's parse_bytes: 1024, "512k", "128m", "1g" (binary units)."""
    if isinstance(value, (int, float)):
        return int(value)
    text = str(value).strip().lower()
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([bkmgt]?)b?", text)
    if not m:
        raise errors.DockerException(f"{what}: cannot read {value!r} as a size (examples: 1024, '512k', '128m', '1g')")
    return int(float(m.group(1)) * _UNITS[m.group(2) or "b"])


def _split_command(command: Union[str, Sequence[str], None]) -> Optional[List[str]]:
    if command is None:
        return None
    if isinstance(command, str):
        return shlex.split(command)
    return [str(c) for c in command]


def _environment(env: Union[Mapping[str, Any], Sequence[str]]) -> List[str]:
    if isinstance(env, Mapping):
        out = []
        for key, value in env.items():
            if isinstance(value, bytes):
                value = value.decode("utf-8")
            out.append(key if value is None else f"{key}={value}")
        return out
    return list(env)


def _labels(labels: Union[Mapping[str, str], Sequence[str]]) -> Dict[str, str]:
    if isinstance(labels, Mapping):
        return {str(k): str(v) for k, v in labels.items()}
    return {str(k): "" for k in labels}


def _port_key(port: Union[int, str]) -> str:
    key = str(port)
    return key if "/" in key else key + "/tcp"


def _one_binding(value: Any) -> Dict[str, str]:
    """docker-py's forms of one host binding: 8080, "8080", ("127.0.0.1", 8080), ("127.0.0.1",), None."""
    if value is None:
        return {"HostIp": "", "HostPort": ""}
    if isinstance(value, tuple):
        if len(value) == 2:
            ip, port = value
            return {"HostIp": str(ip), "HostPort": "" if port is None else str(port)}
        if len(value) == 1:
            return {"HostIp": str(value[0]), "HostPort": ""}
        raise ValueError(f"ports: a tuple binding must be (host_ip,) or (host_ip, host_port), got {value!r}")
    if isinstance(value, dict):  # already in the API's shape
        return {"HostIp": str(value.get("HostIp", "")), "HostPort": str(value.get("HostPort", ""))}
    return {"HostIp": "", "HostPort": str(value)}


def _ports(ports: Mapping[Union[int, str], Any]) -> Tuple[Dict[str, list], Dict[str, dict]]:
    """{'80/tcp': 8080, '81': ('127.0.0.1', 9000), '82': None, '83': [1, 2]} → (PortBindings, ExposedPorts)."""
    bindings: Dict[str, list] = {}
    for port, value in ports.items():
        key = _port_key(port)
        values = value if isinstance(value, list) else [value]
        bindings.setdefault(key, []).extend(_one_binding(v) for v in values)
    return bindings, {key: {} for key in sorted(bindings)}


def _container_path_of_bind(bind: str) -> str:
    parts = bind.split(":")
    if len(parts) == 1:
        return parts[0]
    if len(parts) == 2 and parts[1] in ("ro", "rw"):
        return parts[0]
    return parts[1]


def _volumes(volumes: Union[Mapping[str, Any], Sequence[str]]) -> Tuple[List[str], Dict[str, dict]]:
    """docker-py's volumes kwarg → (Binds, Volumes)."""
    if not isinstance(volumes, Mapping):
        binds = [str(v) for v in volumes]
        return binds, {_container_path_of_bind(b): {} for b in binds}
    binds: List[str] = []
    for host, spec in volumes.items():
        host = host.decode("utf-8") if isinstance(host, bytes) else str(host)
        if isinstance(spec, Mapping):
            if "ro" in spec and "mode" in spec:
                raise ValueError(f"volumes: binding for {host!r} has both 'ro' and 'mode'")
            bind = spec["bind"]
            if "ro" in spec:
                mode = "ro" if spec["ro"] else "rw"
            else:
                mode = spec.get("mode", "rw")
            if spec.get("propagation"):
                mode = f"{mode},{spec['propagation']}" if mode else spec["propagation"]
        else:
            bind, mode = spec, "rw"
        binds.append(f"{host}:{bind}:{mode}")
    return binds, {_container_path_of_bind(b): {} for b in binds}


def _mount(m: Any) -> Dict[str, Any]:
    """A docker.types.Mount-like dict (API keys), a lowercase dict, or "source:target[:ro]"."""
    if isinstance(m, str):
        parts = m.split(":")
        if len(parts) < 2:
            raise ValueError(f"mounts: {m!r} is not 'source:target[:ro|rw]'")
        src, target = parts[0], parts[1]
        out = {"Source": src, "Target": target, "Type": "bind" if src.startswith("/") else "volume"}
        if len(parts) > 2:
            out["ReadOnly"] = parts[2] == "ro"
        return out
    m = dict(m)
    if "Target" in m:
        return m
    renames = {"target": "Target", "source": "Source", "type": "Type", "read_only": "ReadOnly",
               "consistency": "Consistency"}
    return {renames.get(k, k): v for k, v in m.items()}


def _devices(devices: Iterable[Any]) -> List[Dict[str, str]]:
    out = []
    for d in devices:
        if isinstance(d, Mapping):
            out.append(dict(d))
            continue
        parts = str(d).split(":")
        host = parts[0]
        target = parts[1] if len(parts) > 1 else host
        perms = parts[2] if len(parts) > 2 else "rwm"
        out.append({"PathOnHost": host, "PathInContainer": target, "CgroupPermissions": perms})
    return out


def _ulimits(ulimits: Iterable[Mapping[str, Any]]) -> List[Dict[str, Any]]:
    out = []
    for u in ulimits:
        u = dict(u)
        out.append({"Name": u.get("Name", u.get("name")), "Soft": u.get("Soft", u.get("soft")),
                    "Hard": u.get("Hard", u.get("hard", u.get("Soft", u.get("soft"))))})
    return out


def _healthcheck(hc: Mapping[str, Any]) -> Dict[str, Any]:
    names = {"test": "Test", "interval": "Interval", "timeout": "Timeout", "retries": "Retries",
             "start_period": "StartPeriod"}
    out = {names.get(k, k): v for k, v in dict(hc).items()}
    if isinstance(out.get("Test"), str):
        out["Test"] = ["CMD-SHELL", out["Test"]]
    return out


def _build_create_body(image: str, command: Any, kwargs: Dict[str, Any], caller: str) -> Tuple[Dict[str, Any], Dict[str, Any]]:
    """docker-py's run()/create() kwargs → (create body, {'name':..., 'platform':...}). Consumes ``kwargs``."""
    unknown = sorted(set(kwargs) - _KNOWN_KWARGS)
    if unknown:
        raise TypeError(f"{caller}() got an unexpected keyword argument '{unknown[0]}'")
    if kwargs.get("network") and kwargs.get("network_mode"):
        raise RuntimeError('The options "network" and "network_mode" can not be used together.')
    if kwargs.get("networking_config") and not kwargs.get("network"):
        raise RuntimeError('The option "networking_config" can not be used without "network".')

    k = kwargs
    detach = bool(k.pop("detach", False))
    stdin_open = bool(k.pop("stdin_open", False))
    body: Dict[str, Any] = {
        "Image": image,
        "Tty": bool(k.pop("tty", False)),
        "OpenStdin": stdin_open,
        "StdinOnce": stdin_open and not detach,
        "AttachStdin": stdin_open and not detach,
        "AttachStdout": not detach,
        "AttachStderr": not detach,
    }
    cmd = _split_command(command if command is not None else k.pop("command", None))
    k.pop("command", None)
    if cmd is not None:
        body["Cmd"] = cmd
    if k.get("entrypoint") is not None:
        body["Entrypoint"] = _split_command(k.pop("entrypoint"))
    simple = {"hostname": "Hostname", "domainname": "Domainname", "user": "User", "working_dir": "WorkingDir",
              "mac_address": "MacAddress", "stop_signal": "StopSignal", "network_disabled": "NetworkDisabled"}
    for kw, field in simple.items():
        value = k.pop(kw, None)
        if value is not None:
            body[field] = str(value) if kw == "user" and isinstance(value, int) else value
    if k.get("environment") is not None:
        body["Env"] = _environment(k.pop("environment"))
    if k.get("labels") is not None:
        body["Labels"] = _labels(k.pop("labels"))
    if k.get("healthcheck") is not None:
        body["Healthcheck"] = _healthcheck(k.pop("healthcheck"))
    k.pop("use_config_proxy", None)  # docker-py injects proxies from ~/.docker/config.json; not done here
    params = {"name": k.pop("name", None), "platform": k.pop("platform", None)}

    host: Dict[str, Any] = {}
    for kw, field in _HOST_PLAIN.items():
        value = k.pop(kw, None)
        if value is not None:
            host[field] = value
    for kw, field in _HOST_BYTES.items():
        value = k.pop(kw, None)
        if value is not None:
            host[field] = _parse_bytes(value, kw)
    if k.get("mem_swappiness") is not None:
        host["MemorySwappiness"] = int(k.pop("mem_swappiness"))
    ports = k.pop("ports", None)
    if ports:
        host["PortBindings"], body["ExposedPorts"] = _ports(ports)
    volumes = k.pop("volumes", None)
    if volumes:
        host["Binds"], body["Volumes"] = _volumes(volumes)
    if k.get("mounts"):
        host["Mounts"] = [_mount(m) for m in k.pop("mounts")]
    if k.get("devices"):
        host["Devices"] = _devices(k.pop("devices"))
    if k.get("ulimits"):
        host["Ulimits"] = _ulimits(k.pop("ulimits"))
    if k.get("restart_policy"):
        host["RestartPolicy"] = dict(k.pop("restart_policy"))
    tmpfs = k.pop("tmpfs", None)
    if tmpfs:
        if isinstance(tmpfs, Mapping):
            host["Tmpfs"] = dict(tmpfs)
        else:
            host["Tmpfs"] = dict((t.split(":", 1) + [""])[:2] for t in tmpfs)
    extra_hosts = k.pop("extra_hosts", None)
    if extra_hosts:
        if isinstance(extra_hosts, Mapping):
            extra_hosts = [f"{h}:{ip}" for h, ip in sorted(extra_hosts.items())]
        host["ExtraHosts"] = list(extra_hosts)
    links = k.pop("links", None)
    if links:
        items = links.items() if isinstance(links, Mapping) else links
        host["Links"] = [f"{name}:{alias}" if alias else str(name) for name, alias in items]
    log_config = k.pop("log_config", None)
    if log_config:
        lc = dict(log_config)
        host["LogConfig"] = {"Type": lc.get("Type", lc.get("type")), "Config": lc.get("Config", lc.get("config")) or {}}
    network = k.pop("network", None)
    networking_config = k.pop("networking_config", None)
    if network:
        host["NetworkMode"] = network
        if networking_config and network in networking_config:
            body["NetworkingConfig"] = {"EndpointsConfig": dict(networking_config)}
        else:
            body["NetworkingConfig"] = {"EndpointsConfig": {network: {}}}
    k.pop("version", None)
    k.pop("lxc_conf", None)
    raw_host = k.pop("host_config", None)
    if raw_host:
        host.update(dict(raw_host))  # pass-through, merged last
    body["HostConfig"] = host
    return body, params


def _wait_result(pending: Any, timeout: Optional[float], what: str) -> Dict[str, Any]:
    """The result of a registered wait; ``timeout`` (seconds) → TimeoutError; Ctrl-C ends it (the core's one
    interruptible-call helper, cpp/bindings/common.hpp)."""
    return pending.result(timeout, what)


# --- the model -----------------------------------------------------------------------------------------------------


class Container(Model):
    """One container on the engine (``attrs`` is its inspect JSON)."""

    @property
    def name(self) -> Optional[str]:
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
        cfg = self.attrs.get("Config")
        if isinstance(cfg, dict):
            return cfg.get("Labels") or {}
        return self.attrs.get("Labels") or {}

    @property
    def status(self) -> str:
        state = self.attrs.get("State")
        if isinstance(state, dict):
            return state.get("Status", "")
        return state or ""

    @property
    def health(self) -> str:
        state = self.attrs.get("State")
        if isinstance(state, dict) and isinstance(state.get("Health"), dict):
            return state["Health"].get("Status", "unknown")
        return "unknown"

    @property
    def ports(self) -> Dict[str, Any]:
        return (self.attrs.get("NetworkSettings") or {}).get("Ports") or {}

    def start(self) -> None:
        """Start the container (already running is fine)."""
        self._group.start(self.id)

    def stop(self, timeout: Optional[int] = None) -> None:
        """Stop it: SIGTERM, then SIGKILL after ``timeout`` seconds (default: its StopTimeout, else 10)."""
        self._group.stop(self.id, timeout)

    def kill(self, signal: Union[str, int, None] = None) -> None:
        self._group.kill(self.id, None if signal is None else str(signal))

    def restart(self, timeout: Optional[int] = None) -> None:
        self._group.restart(self.id, timeout)

    def pause(self) -> None:
        self._group.pause(self.id)

    def unpause(self) -> None:
        self._group.unpause(self.id)

    def remove(self, v: bool = False, link: bool = False, force: bool = False) -> None:
        self._group.remove(self.id, force=force, v=v, link=link)

    def wait(self, timeout: Optional[float] = None, condition: Optional[str] = None) -> Dict[str, Any]:
        """Block until the container stops (or ``condition``: not-running, next-exit, removed).

        No time limit unless ``timeout`` (seconds) is given; then ``dind.errors.TimeoutError`` when it passes.
        """
        pending = self._group.begin_wait(self.id, condition)
        return _wait_result(pending, timeout, f"waiting for container {self.short_id} on {self.client.base_url}")

    def top(self, ps_args: Optional[str] = None) -> Dict[str, Any]:
        return self._group.top(self.id, ps_args)

    def stats(self, decode: Optional[bool] = None, stream: bool = True, one_shot: Optional[bool] = None) -> Any:
        """One sample as a dict with ``stream=False``; otherwise a stream (docker-py's default)."""
        if stream:
            if one_shot:
                raise errors.DockerException("stats: one_shot=True needs stream=False")
            from .streams import container_stats

            return container_stats(self, decode=decode, stream=True, one_shot=one_shot)
        return self._group.stats(self.id, bool(one_shot))

    def diff(self) -> List[Dict[str, Any]]:
        """Changes to the container's filesystem: [{'Path': ..., 'Kind': 0 modified | 1 added | 2 deleted}]."""
        return self._group.changes(self.id)

    def resize(self, height: int, width: int) -> None:
        """Resize the container's TTY."""
        self._group.resize(self.id, int(height), int(width))

    def rename(self, name: str) -> None:
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
                    body[sizes[key]] = _parse_bytes(value, key)
            else:
                raise TypeError(f"update() got an unexpected keyword argument '{key}'")
        return self._group.update(self.id, body)

    # Delegations to the streaming / archive / image engineers' functions.
    def logs(self, **kwargs: Any) -> Any:
        from .streams import container_logs

        return container_logs(self, **kwargs)

    def attach(self, **kwargs: Any) -> Any:
        from .streams import container_attach

        return container_attach(self, **kwargs)

    def attach_socket(self, **kwargs: Any) -> Any:
        from .streams import container_attach_socket

        return container_attach_socket(self, **kwargs)

    def exec_run(self, cmd: Any, **kwargs: Any) -> Any:
        from .streams import container_exec_run

        return container_exec_run(self, cmd, **kwargs)

    def put_archive(self, path: str, data: Any) -> Any:
        from .archive import container_put_archive

        return container_put_archive(self, path, data)

    def get_archive(self, path: str, **kwargs: Any) -> Any:
        from .archive import container_get_archive

        return container_get_archive(self, path, **kwargs)

    def export(self, **kwargs: Any) -> Any:
        from .archive import container_export

        return container_export(self, **kwargs)

    def commit(self, **kwargs: Any) -> Any:
        from .images import container_commit

        return container_commit(self, **kwargs)


def _remove_quietly(container: "Container") -> None:
    try:
        container.remove(force=True, v=True)
    except errors.NotFound:
        pass


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


class ContainerCollection(Collection):
    """``client.containers``."""

    model = Container
    group_type = _core.Containers

    def get(self, container_id: str) -> Container:
        """A container by id, unique id prefix or name; ``NotFound`` if absent."""
        return self.prepare_model(self._group.inspect(container_id))

    def create(self, image: Any, command: Union[str, Sequence[str], None] = None, **kwargs: Any) -> Container:
        """Create (not start) a container; takes docker-py's run() kwargs. ``ImageNotFound`` if the image is absent."""
        image = self._image_ref(image)
        body, params = _build_create_body(image, command, dict(kwargs), "create")
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
        try:
            container = self.create(image, command, **kwargs)
        except errors.ImageNotFound as first:
            self._pull_once(image, platform, first)
            container = self.create(image, command, **kwargs)
        if detach:
            container.start()
            return container

        auto_remove = bool(kwargs.get("auto_remove"))
        remove_after = remove and not auto_remove
        handed_off = False  # a returned log stream removes the container itself when it ends
        log_type = (container.attrs.get("HostConfig", {}).get("LogConfig") or {}).get("Type", "json-file")
        has_logs = log_type in ("json-file", "journald", "local")
        try:
            # Registered before start so a quick exit (or an auto-remove) can't slip past the wait.
            pending = self._group.begin_wait(container.id, "removed" if auto_remove else "next-exit")
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
                out = self._group.logs_all(container.id, stdout=stdout, stderr=stderr, follow=True, demux=False,
                                          tty=container.attrs.get("Config", {}).get("Tty", False))[0]
            exit_status = _wait_result(pending, None, f"waiting for container {container.short_id} on "
                                       f"{self.client.base_url}")["StatusCode"]
            if not stream and not auto_remove and has_logs:
                out = self._group.logs_all(container.id, stdout=stdout, stderr=stderr, demux=False,
                                          tty=container.attrs.get("Config", {}).get("Tty", False))[0]
            if exit_status != 0:
                if stream and hasattr(out, "close"):
                    out.close()
                err = None
                if not auto_remove and has_logs:
                    err = self._group.logs_all(container.id, stdout=False, stderr=True,
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
        return ident

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
