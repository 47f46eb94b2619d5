"""Container files in and out, with docker-py's shapes: ``put_archive``, ``get_archive``, ``export``.

Archives are streamed both ways: ``data`` is sent in pieces as the socket takes it (bytes, a binary file object read
by the core without the GIL, or an iterable of bytes), and downloads are iterators of ``bytes`` chunks read with the
GIL released. Nothing is ever held whole in memory.
"""
from __future__ import annotations

import os
from typing import Any, Dict, Iterator, Optional, Tuple, Union

from .. import _core
from .resource import core_client

DEFAULT_DATA_CHUNK_SIZE = 2 * 1024 * 1024  # docker-py's default

Data = Union[bytes, bytearray, memoryview, Any]


def _core_client(container: Any, client: Any = None) -> Any:
    """The ``_core.Client`` behind a Container model (or the given client)."""
    c = client if client is not None else getattr(container, "client", None)
    if c is None:
        raise TypeError("pass a Container model, or client= with a container id")
    return core_client(c)


def _container_id(container: Any) -> str:
    cid = getattr(container, "id", container)
    if not isinstance(cid, str) or not cid:
        raise TypeError(f"not a container or a container id: {container!r}")
    return cid


def _chunk(chunk_size: Optional[int]) -> int:
    return 64 * 1024 if chunk_size is None else max(1, int(chunk_size))


def container_put_archive(container: Any, path: str, data: Data, client: Any = None) -> bool:
    """Extract the tar ``data`` into directory ``path`` of the container; True on success.

    ``data``: bytes, a binary file object (read in pieces from its current position; a real file is read by the
    core straight from its descriptor), an iterable of bytes, or a path to a tar file (``os.PathLike``).
    Raises ``errors.NotFound`` when the container or ``path`` does not exist.
    """
    archive = _core.Archive(_core_client(container, client))
    if isinstance(data, os.PathLike):
        return archive.put_file(_container_id(container), path, os.fspath(data))
    return archive.put(_container_id(container), path, data)


def container_get_archive(container: Any, path: str, chunk_size: Optional[int] = DEFAULT_DATA_CHUNK_SIZE,
                          encode_stream: bool = False, client: Any = None) -> Tuple[Iterator[bytes], Dict[str, Any]]:
    """A tar of ``path`` in the container: ``(iterator of bytes chunks, stat dict)`` like docker-py.

    The stat dict has ``name``, ``size``, ``mode``, ``mtime`` and ``linkTarget``. The iterator also offers
    ``read(n)`` and ``close()``. ``encode_stream`` is accepted for docker-py compatibility (the engine sends the tar
    uncompressed either way). Raises ``errors.NotFound`` naming the container and path.
    """
    del encode_stream
    stream, stat = _core.Archive(_core_client(container, client)).get(_container_id(container), path,
                                                                       _chunk(chunk_size))
    return stream, stat


def container_archive_stat(container: Any, path: str, client: Any = None) -> Dict[str, Any]:
    """The stat dict of ``path`` in the container (``HEAD /containers/{id}/archive``), without its content."""
    return _core.Archive(_core_client(container, client)).stat(_container_id(container), path)


def container_export(container: Any, chunk_size: Optional[int] = DEFAULT_DATA_CHUNK_SIZE,
                     client: Any = None) -> Iterator[bytes]:
    """The container's file system as a tar: an iterator of bytes chunks (streamed)."""
    return _core.Archive(_core_client(container, client)).export(_container_id(container), _chunk(chunk_size))
