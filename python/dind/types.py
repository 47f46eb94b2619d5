"""docker-py's option classes (``docker.types``): dicts in the Engine API's shape, built from docker-py's keywords
and checked the way docker-py checks them (same error classes), so that scripts pass them unchanged to
``containers.run``/``create``, ``networks.create`` and the low-level ``client.api`` calls.

The conversions that need the engine's view (sizes, ports, binds) stay in ``models/container_config.py``; these
classes only hold values.
"""
from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

from . import errors
from .models.container_config import parse_bytes

__all__ = ["DeviceRequest", "DriverConfig", "EndpointConfig", "Healthcheck", "IPAMConfig", "IPAMPool", "LogConfig",
           "Mount", "NetworkingConfig", "RestartPolicy", "Ulimit"]


def _field(key: str, doc: str) -> Any:
    """A read/write property over one key of the dict (docker-py exposes the API keys as lowercase attributes)."""

    def get(self: Dict[str, Any]) -> Any:
        return self.get(key)

    def put(self: Dict[str, Any], value: Any) -> None:
        self[key] = value

    return property(get, put, doc=doc)


def _either(kwargs: Mapping[str, Any], name: str, key: str) -> Any:
    """docker-py's option classes take each field by its keyword or by its API key."""
    return kwargs.get(name, kwargs.get(key))


def _version_tuple(version: Optional[str]) -> Tuple[int, ...]:
    if version in (None, "", "auto"):
        return (99, 99)  # the engine negotiates: treat as current
    assert version is not None
    return tuple(int(p) for p in version.lstrip("v").split("."))


def normalize_links(links: Union[Mapping[str, Optional[str]], Sequence[Any]]) -> List[str]:
    """``{'db': 'alias', 'cache': None}`` or ``[('db', 'alias'), 'cache']`` → ``['cache', 'db:alias']``."""
    items = sorted(links.items()) if isinstance(links, Mapping) else links
    out = []
    for item in items:
        name, alias = (item, None) if isinstance(item, str) else item
        out.append(f"{name}:{alias}" if alias else str(name))
    return out


class LogConfigTypesEnum:
    """The log drivers every engine knows (others may exist as plugins)."""

    _values = ("json-file", "syslog", "journald", "gelf", "fluentd", "none")
    JSON, SYSLOG, JOURNALD, GELF, FLUENTD, NONE = _values


class LogConfig(dict):  # type: ignore[type-arg]
    """A container's log driver: ``LogConfig(type=LogConfig.types.JSON, config={'max-size': '1m'})``."""

    types = LogConfigTypesEnum
    type = _field("Type", "The log driver's name.")
    config = _field("Config", "The driver's options (a dict of strings).")

    def __init__(self, **kwargs: Any) -> None:
        config = _either(kwargs, "config", "Config") or {}
        if config and not isinstance(config, dict):
            raise ValueError("LogConfig.config must be a dictionary")
        super().__init__(Type=_either(kwargs, "type", "Type"), Config=config)

    def set_config_value(self, key: str, value: str) -> None:
        """Set one option of the driver."""
        self["Config"][key] = value

    def unset_config(self, key: str) -> None:
        """Drop one option of the driver, if set."""
        self["Config"].pop(key, None)


class Ulimit(dict):  # type: ignore[type-arg]
    """One resource limit: ``Ulimit(name='nofile', soft=1024, hard=2048)``."""

    name = _field("Name", "The limit's name (nofile, nproc, ...).")
    soft = _field("Soft", "The soft limit.")
    hard = _field("Hard", "The hard limit.")

    def __init__(self, **kwargs: Any) -> None:
        name, soft, hard = (_either(kwargs, n, n.capitalize()) for n in ("name", "soft", "hard"))
        if not isinstance(name, str):
            raise ValueError("Ulimit.name must be a string")
        if soft and not isinstance(soft, int):
            raise ValueError("Ulimit.soft must be an integer")
        if hard and not isinstance(hard, int):
            raise ValueError("Ulimit.hard must be an integer")
        super().__init__(Name=name, Soft=soft, Hard=hard)


class DeviceRequest(dict):  # type: ignore[type-arg]
    """A request for devices of a driver (GPUs): ``DeviceRequest(count=-1, capabilities=[['gpu']])``."""

    driver = _field("Driver", "The device driver ('' for any).")
    count = _field("Count", "How many devices (-1: all).")
    device_ids = _field("DeviceIDs", "Devices by id, instead of a count.")
    capabilities = _field("Capabilities", "Lists of capabilities (OR of ANDs).")
    options = _field("Options", "Driver options.")

    def __init__(self, **kwargs: Any) -> None:
        checks = (("driver", "Driver", str, "a string", ""), ("count", "Count", int, "an integer", 0),
                  ("device_ids", "DeviceIDs", list, "a list", None), ("capabilities", "Capabilities", list, "a list",
                                                                    None), ("options", "Options", dict, "a dict", None))
        values: Dict[str, Any] = {}
        for name, key, kind, said, default in checks:
            value = _either(kwargs, name, key)
            if value is None:
                value = default if default is not None else kind()
            elif not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
                raise ValueError(f"DeviceRequest.{name} must be {said}")
            values[key] = value
        super().__init__(values)


class Mount(dict):  # type: ignore[type-arg]
    """A mount of a container (``mounts=[...]``): a volume, a bind of a host path, a tmpfs, or a named pipe."""

    _types = ("bind", "volume", "tmpfs", "npipe")

    def __init__(self, target: str, source: Optional[str], type: str = "volume", read_only: bool = False,
                 consistency: Optional[str] = None, propagation: Optional[str] = None, no_copy: bool = False,
                 labels: Optional[Dict[str, str]] = None, driver_config: Optional[Dict[str, Any]] = None,
                 tmpfs_size: Union[int, str, None] = None, tmpfs_mode: Optional[int] = None,
                 subpath: Optional[str] = None) -> None:
        if type not in self._types:
            raise errors.InvalidArgument(f'Unsupported mount type: "{type}" (one of {", ".join(self._types)})')
        super().__init__(Target=target, Source=source, Type=type, ReadOnly=read_only)
        if consistency:
            self["Consistency"] = consistency
        bind = {"Propagation": propagation} if propagation is not None else {}
        volume = {k: v for k, v in (("NoCopy", True if no_copy else None), ("Labels", labels or None),
                                    ("DriverConfig", driver_config), ("Subpath", subpath)) if v is not None}
        if tmpfs_mode and (not isinstance(tmpfs_mode, int) or isinstance(tmpfs_mode, bool)):
            raise errors.InvalidArgument("tmpfs_mode must be an integer")
        tmpfs = {k: v for k, v in (("Mode", tmpfs_mode or None),
                                   ("SizeBytes", parse_bytes(tmpfs_size, "tmpfs_size") if tmpfs_size else None))
                 if v is not None}
        options = {"bind": ("BindOptions", bind), "volume": ("VolumeOptions", volume),
                   "tmpfs": ("TmpfsOptions", tmpfs), "npipe": ("", {})}
        for kind, (key, value) in options.items():
            if not value:
                continue
            if kind != type:
                raise errors.InvalidArgument(f"Incompatible options have been provided for the {type} type mount "
                                             f"(options of a {kind} mount given)")
            self[key] = value

    @classmethod
    def parse_mount_string(cls, string: str) -> "Mount":
        """``'/host:/ctr:ro'`` (a bind), ``'vol:/ctr'`` (a volume) or ``'/ctr'`` (an anonymous volume)."""
        parts = string.split(":")
        if len(parts) > 3:
            raise errors.InvalidArgument(f'Invalid mount format "{string}"')
        if len(parts) == 1:
            return cls(target=parts[0], source=None)
        source, target = parts[0], parts[1]
        read_only = not (len(parts) == 2 or parts[2] == "rw")
        return cls(target, source, read_only=read_only, type="bind" if source.startswith("/") else "volume")


class RestartConditionTypesEnum:
    """The conditions of a swarm task's RestartPolicy."""

    _values = ("none", "on-failure", "any")
    NONE, ON_FAILURE, ANY = _values


class RestartPolicy(dict):  # type: ignore[type-arg]
    """docker-py's RestartPolicy (the swarm task shape: Condition, Delay, MaxAttempts, Window).

    A container's restart policy is a plain dict: ``restart_policy={'Name': 'on-failure', 'MaximumRetryCount': 3}``.
    """

    condition_types = RestartConditionTypesEnum

    def __init__(self, condition: str = RestartConditionTypesEnum.NONE, delay: int = 0, max_attempts: int = 0,
                 window: int = 0) -> None:
        if condition not in self.condition_types._values:
            raise TypeError(f"Invalid RestartPolicy condition {condition} (one of "
                            f"{', '.join(self.condition_types._values)})")
        super().__init__(Condition=condition, Delay=delay, MaxAttempts=max_attempts, Window=window)


class DriverConfig(dict):  # type: ignore[type-arg]
    """A driver and its options (a volume Mount's ``driver_config``)."""

    def __init__(self, name: str, options: Optional[Dict[str, str]] = None) -> None:
        super().__init__(Name=name)
        if options:
            self["Options"] = options


class Healthcheck(dict):  # type: ignore[type-arg]
    """A health check (``healthcheck=...``): test (a string is run by the shell), interval, timeout and
    start_period in nanoseconds, retries."""

    interval = _field("Interval", "Nanoseconds between checks.")
    timeout = _field("Timeout", "Nanoseconds before a check counts as hung.")
    retries = _field("Retries", "Failures in a row before unhealthy.")
    start_period = _field("StartPeriod", "Nanoseconds of start-up before failures count.")

    def __init__(self, **kwargs: Any) -> None:
        test = _either(kwargs, "test", "Test")
        super().__init__(Test=["CMD-SHELL", test] if isinstance(test, str) else test,
                         Interval=_either(kwargs, "interval", "Interval"),
                         Timeout=_either(kwargs, "timeout", "Timeout"),
                         Retries=_either(kwargs, "retries", "Retries"),
                         StartPeriod=_either(kwargs, "start_period", "StartPeriod"))

    @property
    def test(self) -> Any:
        """The check: ``[]``, ``['NONE']``, ``['CMD', ...]`` or ``['CMD-SHELL', command]``."""
        return self["Test"]

    @test.setter
    def test(self, value: Any) -> None:
        self["Test"] = ["CMD-SHELL", value] if isinstance(value, str) else value


class EndpointConfig(dict):  # type: ignore[type-arg]
    """A container's settings on one network (aliases, links, fixed addresses, driver options); ``version`` is the
    API version the call will use (``client.api.create_endpoint_config`` fills it in)."""

    def __init__(self, version: Optional[str], aliases: Optional[List[str]] = None, links: Any = None,
                 ipv4_address: Optional[str] = None, ipv6_address: Optional[str] = None,
                 link_local_ips: Optional[List[str]] = None, driver_opt: Optional[Dict[str, str]] = None,
                 mac_address: Optional[str] = None) -> None:
        super().__init__()
        v = _version_tuple(version)
        needs = (("Endpoint config", (1, 22), True), ("mac_address", (1, 25), mac_address),
                 ("link_local_ips", (1, 24), link_local_ips), ("DriverOpts", (1, 32), driver_opt))
        for what, least, given in needs:
            if given and v < least:
                raise errors.InvalidVersion(f"{what} is not supported for API version < {'.'.join(map(str, least))} "
                                            f"(this client uses {version})")
        if aliases:
            self["Aliases"] = aliases
        if links:
            self["Links"] = normalize_links(links)
        ipam = {k: val for k, val in (("IPv4Address", ipv4_address), ("IPv6Address", ipv6_address),
                                      ("LinkLocalIPs", link_local_ips)) if val}
        if ipam:
            self["IPAMConfig"] = ipam
        if mac_address:
            self["MacAddress"] = mac_address
        if driver_opt:
            if not isinstance(driver_opt, dict):
                raise TypeError("driver_opt must be a dictionary")
            self["DriverOpts"] = driver_opt


class NetworkingConfig(dict):  # type: ignore[type-arg]
    """The networks a container joins when created: ``NetworkingConfig({'net': EndpointConfig(...)})``."""

    def __init__(self, endpoints_config: Optional[Dict[str, Any]] = None) -> None:
        super().__init__()
        if endpoints_config:
            self["EndpointsConfig"] = endpoints_config


class IPAMPool(dict):  # type: ignore[type-arg]
    """One address pool of a network: subnet, iprange, gateway (CIDR / addresses), aux_addresses."""

    def __init__(self, subnet: Optional[str] = None, iprange: Optional[str] = None, gateway: Optional[str] = None,
                 aux_addresses: Optional[Dict[str, str]] = None) -> None:
        super().__init__(Subnet=subnet, IPRange=iprange, Gateway=gateway, AuxiliaryAddresses=aux_addresses)


class IPAMConfig(dict):  # type: ignore[type-arg]
    """A network's address management (``networks.create(ipam=...)``): driver, pools, driver options."""

    def __init__(self, driver: str = "default", pool_configs: Optional[List[IPAMPool]] = None,
                 options: Optional[Dict[str, str]] = None) -> None:
        super().__init__(Driver=driver, Config=pool_configs or [])
        if options:
            if not isinstance(options, dict):
                raise TypeError("IPAMConfig options must be a dictionary")
            self["Options"] = options
