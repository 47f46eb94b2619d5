"""The few ``docker.utils`` helpers CI scripts call, with docker-py's names and shapes.

``kwargs_from_env`` binds the core's rule for the docker CLI's environment (``transport/client_config.cpp``:
DOCKER_HOST, DOCKER_TLS_VERIFY, DOCKER_CERT_PATH, and the current docker context when DOCKER_HOST is empty);
``parse_repository_tag`` is the core's (``api/images.cpp``); ``parse_bytes`` is the one of
``models/container_config.py``.
"""
from __future__ import annotations

import os
import shlex
from typing import Any, Dict, List, Mapping, Optional, Tuple, Union

from . import _core
from .client import DEFAULT_BASE_URL, environ_of
from .models import container_config
from .tls import TLSConfig

__all__ = ["kwargs_from_env", "parse_bytes", "parse_repository_tag", "split_command", "version_gte", "version_lt"]


def kwargs_from_env(environment: Optional[Mapping[str, str]] = None) -> Dict[str, Any]:
    """``{'base_url': ..., 'tls': TLSConfig(...)}`` for ``DockerClient(**kwargs_from_env())``, as the docker CLI
    would find the engine. Keys are left out when they say nothing: no ``base_url`` for the default socket, no
    ``tls`` without TLS. ``environment`` (default ``os.environ``) stands in for the process environment; HOME, if
    it lacks one, is this user's home (for ``~/.docker``). Unreadable cert files raise ``errors.TLSError``.
    """
    env = environ_of(environment or None)
    found = _core.endpoint_from_env(env)
    params: Dict[str, Any] = {}
    # docker-py names base_url whenever DOCKER_HOST is set; a docker context names it too (docker-py would ignore it)
    if (env if env is not None else os.environ).get("DOCKER_HOST") or found["base_url"] != DEFAULT_BASE_URL:
        params["base_url"] = found["base_url"]
    tls = found["tls"]
    if tls is not None:
        params["tls"] = TLSConfig(client_cert=tls["client_cert"], ca_cert=tls["ca_cert"], verify=tls["verify"])
    return params


def parse_repository_tag(repo_name: str) -> Tuple[str, Optional[str]]:
    """``'busybox:1.36'`` → ``('busybox', '1.36')``; ``'reg:5000/x'`` → ``('reg:5000/x', None)``; a digest is
    returned as the tag (``'x@sha256:...'`` → ``('x', 'sha256:...')``)."""
    repository, tag = _core.parse_repository_tag(repo_name)
    return repository, tag or None


def parse_bytes(s: Union[int, float, str]) -> int:
    """``'128m'`` → 134217728 (binary units b, k, m, g, t; a number is bytes); ``errors.DockerException`` for a
    value that is not a size."""
    return container_config.parse_bytes(s, "parse_bytes")


def split_command(command: str) -> List[str]:
    """A command line split as a POSIX shell would (``shlex``)."""
    return shlex.split(command)


def _version(v: str) -> Tuple[int, ...]:
    return tuple(int(p) for p in v.lstrip("v").split("."))


def version_lt(v1: str, v2: str) -> bool:
    """True if API version ``v1`` is older than ``v2`` ('1.40' < '1.41')."""
    return _version(v1) < _version(v2)


def version_gte(v1: str, v2: str) -> bool:
    """True if API version ``v1`` is ``v2`` or newer."""
    return not version_lt(v1, v2)
