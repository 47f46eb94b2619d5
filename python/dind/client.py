"""The Engine API client: a thin Pythonic shell over ``dind._core.Client`` (names follow docker-py)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, Mapping, Optional, Tuple, Union

from . import _core

if TYPE_CHECKING:  # pragma: no cover
    from .models.containers import ContainerCollection
    from .models.images import ImageCollection
    from .models.networks import NetworkCollection
    from .models.volumes import VolumeCollection

DEFAULT_BASE_URL = "unix:///var/run/docker.sock"
DEFAULT_TIMEOUT = 60

TLSArg = Union[bool, None, Mapping[str, Any], Any]


def _tls_dict(tls: TLSArg) -> Optional[Dict[str, Any]]:
    """Turns ``tls`` (False/None, True, a dict, or a docker-py ``TLSConfig``-like object) into the core's dict."""
    if tls is None or tls is False:
        return None
    if tls is True:
        return {"verify": False}  # docker-py: tls=True means TLS without verification
    if isinstance(tls, Mapping):
        return dict(tls)
    out: Dict[str, Any] = {}
    for name in ("ca_cert", "client_cert", "verify"):
        value = getattr(tls, name, None)
        if value is not None:
            out[name] = value
    if isinstance(out.get("verify"), str):  # docker-py allows verify=<path to CA>
        out.setdefault("ca_cert", out["verify"])
        out["verify"] = True
    return out


class Client:
    """A Docker Engine API client; safe to share between threads (calls release the GIL)."""

    def __init__(self, base_url: Optional[str] = None, version: Optional[str] = None,
                 timeout: Optional[float] = DEFAULT_TIMEOUT, tls: TLSArg = False,
                 *, _core_client: Optional[_core.Client] = None) -> None:
        if _core_client is None:
            _core_client = _core.Client(base_url or DEFAULT_BASE_URL, _tls_dict(tls),
                                        None if version in (None, "auto") else version, timeout)
        self._api = _core_client

    @classmethod
    def from_env(cls, version: Optional[str] = None, timeout: Optional[float] = DEFAULT_TIMEOUT) -> "Client":
        """A client for the engine the docker CLI would use.

        A non-empty DOCKER_HOST wins (with DOCKER_TLS_VERIFY and DOCKER_CERT_PATH); else the current docker context:
        DOCKER_CONTEXT, else ``currentContext`` in ``$DOCKER_CONFIG/config.json`` (DOCKER_CONFIG defaults to
        ``~/.docker``), read from the CLI's context store with that context's own TLS material (the TLS variables do
        not apply to it). The context ``default``, or none, means DOCKER_HOST rules (``unix:///var/run/docker.sock``).
        DOCKER_API_VERSION pins the API version in every case. A context that does not exist or a malformed store file
        raises ``dind.errors.DockerException`` naming it; unreadable TLS files raise ``dind.errors.TLSError``.
        """
        return cls(_core_client=_core.Client.from_env(None if version in (None, "auto") else version, timeout))

    @property
    def api(self) -> _core.Client:
        """The low-level core client: ``request(method, path, query, body, headers, timeout)``."""
        return self._api

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
        return f"<dind.Client {self._api.base_url}>"
