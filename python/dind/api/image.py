"""The image calls of ``APIClient`` in docker-py's shapes (``pull``, ``push``, ``build``, ``tag``, ``images``,
``inspect_image``, ``remove_image``), on the core's image group; pushes and builds go through the model's code
(``models/images.py``), so the build context and its options have one owner."""
from __future__ import annotations

import json
from typing import Any, Dict, Iterator, List, Mapping, Optional, Union

from .. import _core
from ..models.images import ImageCollection
from .container import resource_id


def _as_lines(stream: Any) -> Iterator[bytes]:
    """A stream of decoded JSON lines given back as the engine's lines (bytes), as docker-py does without decode."""
    with stream:
        for chunk in stream:
            yield (json.dumps(chunk) + "\r\n").encode()


def _progress(progress: Any, stream: bool) -> Any:
    """docker-py's two shapes of a progress answer: the stream itself, or its lines joined as one string."""
    progress.raise_on_error(False)
    if stream:
        return progress
    with progress:
        return "".join(json.dumps(line) + "\r\n" for line in progress.read_all())


class ImageApiMixin:
    """``pull``, ``push``, ``build``, ``tag``, ``images``, ``inspect_image``, ``remove_image``."""

    _core: Any
    _images: Any

    def images(self, name: Optional[str] = None, quiet: bool = False, all: bool = False,  # noqa: A002
               filters: Optional[Mapping[str, Any]] = None) -> Union[List[Dict[str, Any]], List[str]]:
        """``GET /images/json``: the list entries (only their ids with ``quiet``); ``name`` filters by reference."""
        f = dict(filters or {})
        if name:
            f["reference"] = name
        entries: List[Dict[str, Any]] = self._images.list(all, f or None)
        return [str(e["Id"]) for e in entries] if quiet else entries

    def inspect_image(self, image: Any) -> Dict[str, Any]:
        """``GET /images/{name}/json``; ``errors.ImageNotFound`` if there is none."""
        out: Dict[str, Any] = self._images.inspect(resource_id(image, "image"))
        return out

    def remove_image(self, image: Any, force: bool = False, noprune: bool = False) -> List[Dict[str, Any]]:
        """``DELETE /images/{name}``: the ``Untagged``/``Deleted`` entries."""
        out: List[Dict[str, Any]] = self._images.remove(resource_id(image, "image"), force, noprune)
        return out

    def tag(self, image: Any, repository: str, tag: Optional[str] = None, force: bool = False) -> bool:
        """Tag an image as ``repository[:tag]``; True on success."""
        return bool(self._images.tag(resource_id(image, "image"), repository, tag, force))

    def pull(self, repository: str, tag: Optional[str] = None, stream: bool = False,
             auth_config: Optional[Dict[str, Any]] = None, decode: bool = False, platform: Optional[str] = None,
             all_tags: bool = False) -> Any:
        """``POST /images/create``: the progress as one string, or with ``stream=True`` an iterator of lines
        (dicts with ``decode=True``, else bytes). With no tag, ``latest`` (all tags with ``all_tags``). The engine's
        refusal raises ``errors.APIError`` (``NotFound``/``ImageNotFound``); error lines in the progress are
        handed back like the others, as docker-py does."""
        repo, image_tag = _core.parse_repository_tag(repository)
        tag = tag or image_tag or ("" if all_tags else "latest")
        progress = self._images.pull(repo, tag or None, auth_config, platform, all_tags, bool(decode) or not stream)
        return _progress(progress, stream)

    def push(self, repository: str, tag: Optional[str] = None, stream: bool = False,
             auth_config: Optional[Dict[str, Any]] = None, decode: bool = False) -> Any:
        """``POST /images/{name}/push``: the progress as one string, or with ``stream=True`` an iterator (dicts with
        ``decode=True``); error lines are handed back like the others, as docker-py does."""
        progress = self._images.push(repository, tag, auth_config, bool(decode) or not stream)
        return _progress(progress, stream)

    def build(self, path: Optional[str] = None, tag: Optional[str] = None, quiet: bool = False,
              fileobj: Any = None, nocache: bool = False, rm: bool = True, timeout: Optional[float] = None,
              custom_context: bool = False, encoding: Optional[str] = None, pull: bool = False,
              forcerm: bool = False, dockerfile: Optional[str] = None,
              container_limits: Optional[Dict[str, Any]] = None, decode: bool = False, buildargs: Optional[Dict[str, str]] = None, gzip: bool = False,
              shmsize: Optional[int] = None, labels: Optional[Dict[str, str]] = None,
              cache_from: Optional[List[str]] = None, target: Optional[str] = None, network_mode: Optional[str] = None,
              squash: Optional[bool] = None, extra_hosts: Any = None, platform: Optional[str] = None,
              isolation: Optional[str] = None, use_config_proxy: bool = True) -> Iterator[Any]:
        """``POST /build``: an iterator of the build's log (dicts with ``decode=True``, else bytes lines), error
        lines included as docker-py gives them. The context is that of ``client.images.build``; unlike docker-py,
        ``rm`` defaults to True."""
        del timeout, encoding, gzip, use_config_proxy
        stream = ImageCollection(self._core).build_stream(
            path=path, fileobj=fileobj, tag=tag, quiet=quiet, nocache=nocache, rm=rm, custom_context=custom_context,
            pull=pull, forcerm=forcerm, dockerfile=dockerfile, container_limits=container_limits,
            buildargs=buildargs, shmsize=shmsize, labels=labels, cache_from=cache_from, target=target,
            network_mode=network_mode, squash=squash, extra_hosts=extra_hosts, platform=platform,
            isolation=isolation)
        return iter(stream) if decode else _as_lines(stream)
