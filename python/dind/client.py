"""The Engine API client: a thin Pythonic shell over ``dind._core.Client`` (names follow docker-py)."""
from __future__ import annotations

# typing is imported only by the type checker: at run time it alone would cost `import dind` ~1.7 MB of RSS
# (bench/client_bench.py's import row), and the annotations are strings here (from __future__ import annotations).
TYPE_CHECKING = False

from . import _core

if TYPE_CHECKING:  # pragma: no cover
    from typing import Any, Dict, Mapping, Optional, Tuple, Type, TypeVar, Union

    from .api import APIClient
    from .models.containers import ContainerCollection
    from .models.images import ImageCollection
    from .models.networks import NetworkCollection
    from .models.volumes import VolumeCollection

DEFAULT_BASE_URL = "unix:///var/run/docker.sock"
DEFAULT_TIMEOUT = 60

if TYPE_CHECKING:  # pragma: no cover
    TLSArg = Union[bool, None, Mapping[str, Any], Any]
    _C = TypeVar("_C", bound="Client")


def _tls_dict(tls: TLSArg) -> Optional[Dict[str, Any]]:
    """Turns ``tls`` (False/None, True, a dict, or a docker-py ``TLSConfig``-like object) into the core's dict."""
    if tls is None or tls is False:
        return None
    if tls is True:
        return {"verify": False}  # docker-py: tls=True means TLS without verification
    if isinstance(tls, dict) or (hasattr(tls, "keys") and hasattr(tls, "__getitem__")):  # a mapping
        return dict(tls)
    from .tls import tls_options

    return tls_options(tls)


def _docker_py_url(base_url: Optional[str]) -> str:
    """docker-py's spellings of a socket that the docker CLI's syntax lacks: ``unix://var/run/docker.sock`` (its
    README's form: the path without its leading slash) and ``http+unix://``. Every other URL goes to the core as is."""
    url = base_url or DEFAULT_BASE_URL
    if url.startswith("http+unix://"):
        url = "unix://" + url[len("http+unix://"):]
    if url.startswith("unix://") and not url.startswith("unix:///") and len(url) > len("unix://"):
        url = "unix:///" + url[len("unix://"):]
    return url


def _pinned(version: Optional[str]) -> Optional[str]:
    """docker-py's ``version``: None or "auto" negotiates once; anything else pins it."""
    return None if version in (None, "auto") else version


def environ_of(environment: Optional[Mapping[str, str]]) -> Optional[Dict[str, str]]:
    """docker-py's ``environment=`` as the core takes it: str to str, with this user's HOME when it has none (for
    ``~/.docker``); None means the process environment."""
    if environment is None:
        return None
    import os

    environ = {str(k): str(v) for k, v in environment.items()}
    environ.setdefault("HOME", os.path.expanduser("~"))
    return environ


def make_core(base_url: Optional[str], version: Optional[str], timeout: Optional[float], tls: TLSArg) -> _core.Client:
    """The core client for docker-py's constructor arguments."""
    return _core.Client(_docker_py_url(base_url), _tls_dict(tls), _pinned(version), timeout)


def core_from_env(version: Optional[str], timeout: Optional[float],
                  environment: Optional[Mapping[str, str]]) -> _core.Client:
    """The core client the docker CLI's rules point at (``environment`` stands in for ``os.environ``)."""
    return _core.Client.from_env(_pinned(version), timeout, environ_of(environment))


class Client:
    """A Docker Engine API client; safe to share between threads (calls release the GIL).

    Takes docker-py's ``DockerClient``/``APIClient`` arguments: ``base_url`` (unix://, tcp://, http(s)://, ssh://),
    ``version`` (None or "auto" negotiates), ``timeout`` (seconds per unary call), ``tls`` (False, True, a dict or a
    ``dind.tls.TLSConfig``). docker-py's ``user_agent``, ``num_pools``, ``credstore_env``, ``use_ssh_client`` and
    ``max_pool_size`` are accepted and change nothing here: ssh:// always runs the ``ssh`` binary (docker-py's
    ``use_ssh_client=True``), the pool keeps up to 8 idle connections, and credentials are never read from a store.
    """

    def __init__(self, base_url: Optional[str] = None, version: Optional[str] = None,
                 timeout: Optional[float] = DEFAULT_TIMEOUT, tls: TLSArg = False, user_agent: Optional[str] = None,
                 num_pools: Optional[int] = None, credstore_env: Optional[Mapping[str, str]] = None,
                 use_ssh_client: bool = False, max_pool_size: Optional[int] = None,
                 *, _core_client: Optional[_core.Client] = None) -> None:
        del user_agent, num_pools, credstore_env, use_ssh_client, max_pool_size  # see the class docstring
        self._api = _core_client if _core_client is not None else make_core(base_url, version, timeout, tls)
        self._lowlevel: Optional["APIClient"] = None

    @classmethod
    def from_env(cls: Type[_C], version: Optional[str] = None, timeout: Optional[float] = DEFAULT_TIMEOUT,
                 max_pool_size: Optional[int] = None, environment: Optional[Mapping[str, str]] = None,
                 use_ssh_client: bool = False, use_context: bool = True) -> _C:
        """A client for the engine the docker CLI would use.

        A non-empty DOCKER_HOST wins (with DOCKER_TLS_VERIFY and DOCKER_CERT_PATH); else the current docker context:
        DOCKER_CONTEXT, else ``currentContext`` in ``$DOCKER_CONFIG/config.json`` (DOCKER_CONFIG defaults to
        ``~/.docker``), read from the CLI's context store with that context's own TLS material (the TLS variables do
        not apply to it). The context ``default``, or none, means DOCKER_HOST rules (``unix:///var/run/docker.sock``).
        DOCKER_API_VERSION pins the API version in every case. A context that does not exist or a malformed store file
        raises ``dind.errors.DockerException`` naming it; unreadable TLS files raise ``dind.errors.TLSError``.
        ``environment`` (a dict) stands in for ``os.environ``; ``max_pool_size``, ``use_ssh_client`` and
        ``use_context`` are docker-py's and change nothing (contexts are always honoured, as by the docker CLI).
        """
        del max_pool_size, use_ssh_client, use_context
        return cls(_core_client=core_from_env(version, timeout, environment))

    @property
    def api(self) -> "APIClient":
        """The low-level client (docker-py's ``client.api``): ``create_container``, ``start``, ``logs``,
        ``exec_create``, ``pull``, ``build``, ... and ``request(method, path, ...)`` for any other endpoint."""
        if self._lowlevel is None:
            from .api import APIClient

            self._lowlevel = APIClient(_core_client=self._api)
        return self._lowlevel

    @property
    def api_version(self) -> str:
        """The API version in use (negotiated with the engine on first use unless pinned)."""
        return self._api.api_version

    @property
    def base_url(self) -> str:
        """The engine's URL (``unix:///var/run/docker.sock``, ``tcp://...``)."""
        return self._api.base_url

    # Resource groups, docker-py style; each is built on first use so `import dind` stays cheap.
    @property
    def containers(self) -> "ContainerCollection":
        """The containers of the engine (docker-py's ``client.containers``)."""
        from .models.containers import ContainerCollection

        return ContainerCollection(self)

    @property
    def images(self) -> "ImageCollection":
        """The images of the engine (docker-py's ``client.images``)."""
        from .models.images import ImageCollection

        return ImageCollection(self)

    @property
    def networks(self) -> "NetworkCollection":
        """The networks of the engine (docker-py's ``client.networks``)."""
        from .models.networks import NetworkCollection

        return NetworkCollection(self)

    @property
    def volumes(self) -> "VolumeCollection":
        """The volumes of the engine (docker-py's ``client.volumes``)."""
        from .models.volumes import VolumeCollection

        return VolumeCollection(self)

    def events(self, since: Any = None, until: Any = None, filters: Optional[Mapping[str, Any]] = None,
               decode: Optional[bool] = None) -> Any:
        """``GET /events`` as an iterator (dicts with ``decode=True``); ``close()`` it to stop."""
        from .models.streams import client_events

        return client_events(self, since=since, until=until, filters=filters, decode=decode)

    def df(self) -> Dict[str, Any]:
        """``GET /system/df``: disk usage of images, containers, volumes and the build cache."""
        from .models.system import client_df

        return client_df(self)

    def ping(self) -> bool:
        """True if the engine answers ``GET /_ping`` with OK; raises otherwise."""
        return self._api.ping() == "OK"

    def version(self) -> Dict[str, Any]:
        """``GET /version``."""
        return self._api.version()

    def info(self) -> Dict[str, Any]:
        """``GET /info``."""
        return self._api.info()

    def request(self, method: str, path: str, query: Any = None, body: Any = None,
                headers: Optional[Mapping[str, str]] = None,
                timeout: Optional[float] = None) -> Tuple[int, Dict[str, str], bytes]:
        """A unary Engine API call on ``/v{api_version}{path}``; error statuses raise ``errors.APIError``."""
        return self._api.request(method, path, query, body, dict(headers) if headers else None, timeout)

    def close(self) -> None:
        """Nothing to release eagerly; idle connections close with the client."""

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<dind.{type(self).__name__} {self._api.base_url}>"


class DockerClient(Client):
    """docker-py's name for the high-level client: ``dind.DockerClient(base_url=..., version=..., timeout=...,
    tls=...)`` and ``dind.DockerClient.from_env(...)``; the same as ``dind.Client``."""
