"""dind: throwaway Docker-in-Docker daemons for CI and tests, and a fast Docker Engine API client.

docker-py's names are here too, so that scripts port with ``import dind as docker``: ``DockerClient``,
``APIClient``, ``from_env``, ``TLSConfig``, and the modules ``errors``, ``types``, ``utils``, ``tls``.
"""
from __future__ import annotations

import importlib
# typing is imported only by the type checker: at run time it alone would cost `import dind` ~1.7 MB of RSS
# (bench/client_bench.py's import row), and the annotations are strings here (from __future__ import annotations).
TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Any, Mapping, Optional

from . import errors

if TYPE_CHECKING:  # pragma: no cover
    from .api import APIClient
    from .client import Client, DockerClient
    from .daemon import Dind, list_caches, list_daemons, reap, remove_cache
    from .job import Job
    from .tls import TLSConfig

__all__ = ["APIClient", "Client", "Dind", "DockerClient", "Job", "TLSConfig", "errors", "from_env", "list_caches",
           "list_daemons", "reap", "remove_cache", "tls", "types", "utils"]
__version__ = "0.1.0"

# Loaded on first use, so that `import dind` stays cheap (the extension loads with the client).
_LAZY = {"Client": ("client", "Client"), "DockerClient": ("client", "DockerClient"), "APIClient": ("api", "APIClient"),
         "TLSConfig": ("tls", "TLSConfig"), "Dind": ("daemon", "Dind"), "reap": ("daemon", "reap"),
         "list_daemons": ("daemon", "list_daemons"), "list_caches": ("daemon", "list_caches"),
         "remove_cache": ("daemon", "remove_cache"), "Job": ("job", "Job")}
_SUBMODULES = ("api", "tls", "types", "utils")


def from_env(version: Optional[str] = None, timeout: Optional[float] = 60, max_pool_size: Optional[int] = None,
             environment: Optional[Mapping[str, str]] = None, use_ssh_client: bool = False,
             use_context: bool = True) -> "DockerClient":
    """A client for the engine the docker CLI would use: DOCKER_HOST (with DOCKER_TLS_VERIFY, DOCKER_CERT_PATH), else
    the current docker context (DOCKER_CONTEXT, else currentContext in $DOCKER_CONFIG/config.json); see
    ``dind.Client.from_env``. docker-py's keywords are taken; ``environment`` stands in for ``os.environ``."""
    from .client import DockerClient

    return DockerClient.from_env(version=version, timeout=timeout, max_pool_size=max_pool_size,
                                 environment=environment, use_ssh_client=use_ssh_client, use_context=use_context)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module, attr = _LAZY[name]
        return getattr(importlib.import_module(f".{module}", __name__), attr)
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'dind' has no attribute {name!r}")
