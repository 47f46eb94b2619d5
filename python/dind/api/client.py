"""``APIClient``: the constructor, the core's pass-throughs, and the system calls; the container, exec and image
calls are in the mixins beside this file."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, Mapping, Optional, Tuple

from .. import _core
from ..client import DEFAULT_TIMEOUT, core_from_env, make_core
from .container import ContainerApiMixin
from .exec_api import ExecApiMixin
from .image import ImageApiMixin
from .network import NetworkApiMixin, VolumeApiMixin

if TYPE_CHECKING:  # pragma: no cover
    from ..client import TLSArg


class APIClient(ContainerApiMixin, ExecApiMixin, ImageApiMixin, NetworkApiMixin, VolumeApiMixin):
    """docker-py's ``APIClient``: ``APIClient(base_url='unix://var/run/docker.sock', version='auto', timeout=60,
    tls=False)``. docker-py's ``user_agent``, ``num_pools``, ``credstore_env``, ``use_ssh_client`` and
    ``max_pool_size`` are accepted and change nothing (see ``dind.Client``). Safe to share between threads."""

    def __init__(self, base_url: Optional[str] = None, version: Optional[str] = None,
                 timeout: Optional[float] = DEFAULT_TIMEOUT, tls: TLSArg = False, user_agent: Optional[str] = None,
                 num_pools: Optional[int] = None, credstore_env: Optional[Mapping[str, str]] = None,
                 use_ssh_client: bool = False, max_pool_size: Optional[int] = None,
                 *, _core_client: Optional[Any] = None) -> None:
        del user_agent, num_pools, credstore_env, use_ssh_client, max_pool_size
        self._core: Any = _core_client if _core_client is not None else make_core(base_url, version, timeout, tls)
        self._containers = _core.Containers(self._core)
        self._images = _core.Images(self._core)
        self._streams = _core.Streams(self._core)

    @classmethod
    def from_env(cls, version: Optional[str] = None, timeout: Optional[float] = DEFAULT_TIMEOUT,
                 environment: Optional[Mapping[str, str]] = None, **kwargs: Any) -> "APIClient":
        """A low-level client for the engine the docker CLI would use (see ``dind.Client.from_env``)."""
        del kwargs  # docker-py's max_pool_size, use_ssh_client, use_context: nothing to do
        return cls(_core_client=core_from_env(version, timeout, environment))

    # --- the core's own -------------------------------------------------------------------------------------------
    @property
    def api_version(self) -> str:
        """The API version in use (negotiated with the engine on first use unless pinned)."""
        return str(self._core.api_version)

    @property
    def _version(self) -> str:
        """docker-py's private name for the version, which some scripts read."""
        return self.api_version

    @property
    def base_url(self) -> str:
        """The engine's address, as every message names it."""
        return str(self._core.base_url)

    @property
    def idle_connections(self) -> int:
        """Keep-alive connections in the pool now."""
        return int(self._core.idle_connections)

    def request(self, method: str, path: str, query: Any = None, body: Any = None,
                headers: Optional[Mapping[str, str]] = None,
                timeout: Optional[float] = None) -> Tuple[int, Dict[str, str], bytes]:
        """A unary Engine API call on ``/v{api_version}{path}``: ``(status, headers, body)``; error statuses raise
        ``errors.APIError`` subclasses; dict/list bodies go as JSON; query values may be lists (repeated keys)."""
        result: Tuple[int, Dict[str, str], bytes] = self._core.request(
            method, path, query, body, dict(headers) if headers else None, timeout)
        return result

    # --- system ---------------------------------------------------------------------------------------------------
    def ping(self) -> bool:
        """True if the engine answers ``GET /_ping`` with OK; raises otherwise."""
        return bool(self._core.ping() == "OK")

    def version(self, api_version: bool = True) -> Dict[str, Any]:
        """``GET /version``."""
        del api_version  # docker-py: whether the path carries the version; it always does here
        out: Dict[str, Any] = self._core.version()
        return out

    def info(self) -> Dict[str, Any]:
        """``GET /info``."""
        out: Dict[str, Any] = self._core.info()
        return out

    def close(self) -> None:
        """Nothing to release eagerly; idle connections close with the client."""

    def __enter__(self) -> "APIClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<dind.APIClient {self.base_url}>"
