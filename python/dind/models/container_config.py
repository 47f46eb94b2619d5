"""docker-py's ``containers.run()``/``create()`` keyword arguments → the body of ``POST /containers/create``: the one
place that knows both shapes (``ContainerCollection.create`` and ``Container.update`` use it)."""

from __future__ import annotations

import re
import shlex
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

from .. import errors

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
    "init_path": "InitPath",
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

# What the low-level ``create_host_config`` takes: the run() names of the HostConfig fields, with docker-py's
# low-level spellings of two of them (binds for volumes, port_bindings for ports).
_HOST_CONFIG_KWARGS = (set(_HOST_PLAIN) | set(_HOST_BYTES) | (_HOST_SPECIAL - {
    "ports", "volumes", "network", "networking_config", "host_config", "version"}) | {"binds", "port_bindings"})

_UNITS = {"b": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}


def parse_bytes(value: Union[int, float, str], what: str) -> int:
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


def _ports(ports: Mapping[Union[int, str], Any]) -> Tuple[Dict[str, List[Dict[str, str]]], Dict[str, Dict[str, Any]]]:
    """{'80/tcp': 8080, '81': ('127.0.0.1', 9000), '82': None, '83': [1, 2]} → (PortBindings, ExposedPorts)."""
    bindings: Dict[str, List[Dict[str, str]]] = {}
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


def _volumes(volumes: Union[Mapping[str, Any], Sequence[str]]) -> Tuple[List[str], Dict[str, Dict[str, Any]]]:
    """docker-py's volumes kwarg → (Binds, Volumes)."""
    binds: List[str]
    if not isinstance(volumes, Mapping):
        binds = [str(v) for v in volumes]
        return binds, {_container_path_of_bind(b): {} for b in binds}
    binds = []
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
        out: Dict[str, Any] = {"Source": src, "Target": target, "Type": "bind" if src.startswith("/") else "volume"}
        if len(parts) > 2:
            out["ReadOnly"] = parts[2] == "ro"
        return out
    fields: Dict[str, Any] = dict(m)
    if "Target" in fields:
        return fields
    renames = {"target": "Target", "source": "Source", "type": "Type", "read_only": "ReadOnly",
               "consistency": "Consistency"}
    return {renames.get(k, k): v for k, v in fields.items()}


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


def _config_fields(image: str, command: Any, k: Dict[str, Any]) -> Dict[str, Any]:
    """The container-config part of the create body (everything but HostConfig); consumes its kwargs from ``k``."""
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
    return body


def _host_fields(k: Dict[str, Any]) -> Dict[str, Any]:
    """The HostConfig fields that run() and create_host_config() name alike; consumes them from ``k``."""
    host: Dict[str, Any] = {}
    for kw, field in _HOST_PLAIN.items():
        value = k.pop(kw, None)
        if value is not None:
            host[field] = value
    for kw, field in _HOST_BYTES.items():
        value = k.pop(kw, None)
        if value is not None:
            host[field] = parse_bytes(value, kw)
    if k.get("mem_swappiness") is not None:
        host["MemorySwappiness"] = int(k.pop("mem_swappiness"))
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
    _links_and_hosts(k, host)
    log_config = k.pop("log_config", None)
    if log_config:
        lc = dict(log_config)
        host["LogConfig"] = {"Type": lc.get("Type", lc.get("type")), "Config": lc.get("Config", lc.get("config")) or {}}
    k.pop("lxc_conf", None)  # ignored by every engine since 1.10
    return host


def _links_and_hosts(k: Dict[str, Any], host: Dict[str, Any]) -> None:
    extra_hosts = k.pop("extra_hosts", None)
    if extra_hosts:
        if isinstance(extra_hosts, Mapping):
            extra_hosts = [f"{h}:{ip}" for h, ip in sorted(extra_hosts.items())]
        host["ExtraHosts"] = list(extra_hosts)
    links = k.pop("links", None)
    if links:
        items = links.items() if isinstance(links, Mapping) else links
        host["Links"] = [f"{name}:{alias}" if alias else str(name) for name, alias in items]


def _endpoints(networking_config: Any) -> Dict[str, Any]:
    """run()'s networking_config: {network: EndpointConfig}, or a NetworkingConfig ({'EndpointsConfig': ...})."""
    config = dict(networking_config)
    if set(config) == {"EndpointsConfig"}:
        config = dict(config["EndpointsConfig"] or {})
    return config


def build_create_body(image: str, command: Any, kwargs: Dict[str, Any],
                      caller: str) -> Tuple[Dict[str, Any], Dict[str, Any]]:
    """docker-py's run()/create() kwargs → (create body, {'name':..., 'platform':...}). Consumes ``kwargs``."""
    unknown = sorted(set(kwargs) - _KNOWN_KWARGS)
    if unknown:
        raise TypeError(f"{caller}() got an unexpected keyword argument '{unknown[0]}'")
    if kwargs.get("network") and kwargs.get("network_mode"):
        raise RuntimeError('The options "network" and "network_mode" can not be used together.')
    if kwargs.get("networking_config") and not kwargs.get("network"):
        raise RuntimeError('The option "networking_config" can not be used without "network".')
    k = kwargs
    body = _config_fields(image, command, k)
    params = {"name": k.pop("name", None), "platform": k.pop("platform", None)}
    host = _host_fields(k)
    ports = k.pop("ports", None)
    if ports:
        host["PortBindings"], body["ExposedPorts"] = _ports(ports)
    volumes = k.pop("volumes", None)
    if volumes:
        host["Binds"], body["Volumes"] = _volumes(volumes)
    network = k.pop("network", None)
    networking_config = k.pop("networking_config", None)
    if network:
        host["NetworkMode"] = network
        endpoints = _endpoints(networking_config) if networking_config else {}
        body["NetworkingConfig"] = {"EndpointsConfig": endpoints if network in endpoints else {network: {}}}
    k.pop("version", None)
    raw_host = k.pop("host_config", None)
    if raw_host:
        host.update(dict(raw_host))  # pass-through, merged last
    body["HostConfig"] = host
    return body, params


def host_config(kwargs: Dict[str, Any], caller: str = "create_host_config") -> Dict[str, Any]:
    """The low-level ``create_host_config(**kwargs)``: docker-py's HostConfig keywords → the API's HostConfig.

    Takes run()'s names, with ``binds`` (run()'s ``volumes``) and ``port_bindings`` (run()'s ``ports``); an unknown
    keyword raises TypeError as a Python call would."""
    unknown = sorted(set(kwargs) - _HOST_CONFIG_KWARGS)
    if unknown:
        raise TypeError(f"{caller}() got an unexpected keyword argument '{unknown[0]}'")
    k = dict(kwargs)
    binds, port_bindings = k.pop("binds", None), k.pop("port_bindings", None)
    host = _host_fields(k)
    if binds:
        host["Binds"] = _volumes(binds)[0]
    if port_bindings:
        host["PortBindings"] = _ports(port_bindings)[0]
    return host


def exposed_ports(ports: Iterable[Any]) -> Dict[str, Dict[str, Any]]:
    """The low-level ``create_container(ports=[80, '53/udp', (53, 'udp')])``: the ExposedPorts field."""
    out: Dict[str, Dict[str, Any]] = {}
    for port in ports:
        if isinstance(port, tuple):
            out[f"{port[0]}/{port[1] if len(port) > 1 else 'tcp'}"] = {}
        else:
            out[_port_key(port)] = {}
    return out


def volume_targets(volumes: Union[str, Iterable[str]]) -> Dict[str, Dict[str, Any]]:
    """The low-level ``create_container(volumes=['/data'])``: the Volumes field (paths in the container)."""
    paths = [volumes] if isinstance(volumes, str) else list(volumes)
    return {str(p): {} for p in paths}
