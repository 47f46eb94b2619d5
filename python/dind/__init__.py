"""dind: throwaway Docker-in-Docker daemons for CI and tests, and a fast Docker Engine API client."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

from . import errors

if TYPE_CHECKING:  # pragma: no cover
    from .client import Client
    from .daemon import Dind, list_daemons, reap
    from .job import Job

__all__ = ["Client", "Dind", "Job", "errors", "from_env", "list_daemons", "reap"]
__version__ = "0.1.0"


def from_env(version: Optional[str] = None, timeout: Optional[float] = 60) -> "Client":
    """A client for the engine the docker CLI would use: DOCKER_HOST (with DOCKER_TLS_VERIFY, DOCKER_CERT_PATH), else
    the current docker context (DOCKER_CONTEXT, else currentContext in $DOCKER_CONFIG/config.json); see
    ``dind.Client.from_env``."""
    from .client import Client

    return Client.from_env(version=version, timeout=timeout)


def __getattr__(name: str) -> Any:
    # `import dind` stays cheap: the extension loads on first use of the client.
    if name == "Client":
        from .client import Client

        return Client
    if name in ("Dind", "reap", "list_daemons"):
        from . import daemon

        return getattr(daemon, name)
    if name == "Job":
        from .job import Job

        return Job
    raise AttributeError(f"module 'dind' has no attribute {name!r}")
