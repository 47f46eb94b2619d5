"""Images, with docker-py's names: ``client.images.list/get/pull/push/load/build/remove/prune`` and ``Image``.

Tars are streamed both ways (``load``/``import_image`` send bytes, a binary file or an iterable of bytes in
pieces; ``Image.save``/``get_images_tar`` yield chunks as they arrive). Progress streams are read with the GIL
released; registry credentials go only into the ``X-Registry-Auth`` header.
"""
from __future__ import annotations

import errno
import io
import json
import os
import re
import tarfile
from typing import Any, Dict, Iterator, List, Optional, Tuple, Union, cast

from .. import _core
from ..errors import (APIError, BuildError, DockerException, ImageFileNotFound, ImageLoadError, ImageNotFound,
                      InvalidArgument, StreamError)
from .resource import Collection, Model

DEFAULT_DATA_CHUNK_SIZE = 2 * 1024 * 1024  # docker-py's default

_BUILT = re.compile(r"(^Successfully built |sha256:)([0-9a-f]+)$")
_LOADED = re.compile(r"(^Loaded image ID: |^Loaded image: )(.+)$")
_REMOTE_PREFIXES = ("http://", "https://", "git://", "github.com/", "git@")


def _error_of(chunk: Any) -> Optional[str]:
    """The failure message of a progress line, if it reports one (the core's rule)."""
    if not isinstance(chunk, dict):
        return None
    return _core.progress_error(chunk) or None


class Image(Model):
    """An image on the engine."""

    def __repr__(self) -> str:
        return "<{}: '{}'>".format(type(self).__name__, "', '".join(self.tags))

    @property
    def labels(self) -> Dict[str, str]:
        """The image's labels."""
        return (self.attrs.get("Config") or {}).get("Labels") or {}

    @property
    def short_id(self) -> str:
        """The id with its ``sha256:`` prefix and 12 hex digits, as docker-py gives it."""
        i = self.id or ""
        return i[:19] if i.startswith("sha256:") else i[:12]

    @property
    def tags(self) -> List[str]:
        """The image's ``repo:tag`` names."""
        return [t for t in (self.attrs.get("RepoTags") or []) if t != "<none>:<none>"]

    def history(self) -> List[Dict[str, Any]]:
        """The image's layers, newest first."""
        return cast(List[Dict[str, Any]], self._group.history(self.id))

    def remove(self, force: bool = False, noprune: bool = False) -> List[Dict[str, Any]]:
        """Remove this image (``Untagged``/``Deleted`` entries)."""
        return cast(List[Dict[str, Any]], self._group.remove(self.id, force, noprune))

    def save(self, chunk_size: Optional[int] = DEFAULT_DATA_CHUNK_SIZE,
             named: Union[bool, str] = False) -> Iterator[bytes]:
        """The image as a tar: an iterator of bytes chunks, streamed. ``named`` keeps a tag in the tar (True: the
        first tag, or the given one)."""
        img = self.id
        if named:
            img = self.tags[0] if self.tags else img
            if isinstance(named, str):
                if named not in self.tags:
                    raise InvalidArgument(f"{named} is not a valid tag for this image")
                img = named
        return cast(Iterator[bytes], self._group.save([img], 64 * 1024 if chunk_size is None else int(chunk_size)))

    def tag(self, repository: str, tag: Optional[str] = None, **kwargs: Any) -> bool:
        """Tag this image as ``repository[:tag]``; True on success."""
        return cast(bool, self._group.tag(self.id, repository, tag, bool(kwargs.get("force", False))))


class ImageCollection(Collection[Image]):
    """The images of an engine: ``client.images``."""

    model = Image

    group_type = _core.Images
    _group: _core.Images

    # --- reading ----------------------------------------------------------------------------------------------------
    def get(self, name: str) -> Image:
        """An image by name or id; ``errors.ImageNotFound`` if there is none."""
        return self.prepare_model(self._group.inspect(name))

    def list(self, name: Optional[str] = None, all: bool = False,  # noqa: A002 - docker-py's name
             filters: Optional[Dict[str, Any]] = None) -> List[Image]:
        """Images, optionally only those of ``name`` (a reference filter) or matching ``filters``."""
        f = dict(filters or {})
        if name:
            f["reference"] = name
        return [self.get(r["Id"]) for r in self._group.list(all, f or None)]

    # --- registry ---------------------------------------------------------------------------------------------------
    def pull(self, repository: str, tag: Optional[str] = None, all_tags: bool = False,
             auth_config: Optional[Dict[str, Any]] = None, platform: Optional[str] = None,
             **kwargs: Any) -> Union[Image, List[Image]]:
        """Pull an image and return it (a list with ``all_tags``). With no tag, ``latest``.

        Failures raise ``errors.ImageNotFound`` (unknown image or no access) or ``errors.APIError`` (registry not
        reachable), naming the image.
        """
        kwargs.pop("stream", None)
        repository, image_tag = _core.parse_repository_tag(repository)
        tag = tag or image_tag or ("" if all_tags else "latest")
        sep = "@" if tag.startswith("sha256:") else ":"
        ref = f"{repository}{sep}{tag}" if tag else repository
        try:
            self._group.pull(repository, tag or None, auth_config, platform, all_tags, True).read_all()
        except StreamError as e:
            text = str(e)
            lowered = text.lower()
            if any(s in lowered for s in ("not found", "manifest unknown", "pull access denied", "does not exist")):
                raise ImageNotFound(text, status_code=404, explanation=text) from None
            raise APIError(text, status_code=500, explanation=text) from None
        if not all_tags:
            return self.get(ref)
        return self.list(repository)

    def push(self, repository: str, tag: Optional[str] = None, stream: bool = False, decode: bool = False,
             auth_config: Optional[Dict[str, Any]] = None) -> Union[str, Iterator[Any]]:
        """Push an image. ``stream=True``: an iterator of progress (dicts with ``decode``, else bytes lines);
        otherwise the whole progress text. An error line raises ``errors.StreamError`` naming the image."""
        progress = self._group.push(repository, tag, auth_config, bool(decode) or not stream)
        if stream:
            return progress
        return "".join(json.dumps(line) + "\r\n" for line in progress.read_all())

    # --- local changes ----------------------------------------------------------------------------------------------
    def remove(self, image: str, force: bool = False, noprune: bool = False) -> None:
        """Remove an image by name or id."""
        self._group.remove(image, force, noprune)

    def prune(self, filters: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
        """Remove unused images (only dangling ones unless ``{"dangling": False}``); ``ImagesDeleted`` and
        ``SpaceReclaimed``."""
        return self._group.prune(filters)

    # --- tars -------------------------------------------------------------------------------------------------------
    def load(self, data: Any) -> List[Image]:
        """Load images from a tar (as ``docker save`` makes): bytes, a binary file object, an iterable of bytes, or a
        path. Streamed in pieces, never joined whole; a stream from ``get_images_tar``/``Image.save`` (of this or
        another engine) is piped by the core without passing through Python. Returns the loaded images."""
        try:
            if isinstance(data, (str, os.PathLike)):
                path = os.fspath(data)
                if not os.path.isfile(path):
                    raise ImageFileNotFound(errno.ENOENT, f"images.load: no image tar at {path} (not a file)", path)
                messages = self._group.load_file(path).read_all()
            else:
                messages = self._group.load(data).read_all()
        except StreamError as e:
            raise ImageLoadError(str(e)) from None
        names: List[str] = []
        for chunk in messages:
            err = _error_of(chunk)
            if err:
                raise ImageLoadError(err)
            m = _LOADED.search(str(chunk.get("stream", "")))
            if m:
                names.append(m.group(2))
        return [self.get(n) for n in names]

    def get_images_tar(self, names: Union[str, List[str]],
                       chunk_size: Optional[int] = DEFAULT_DATA_CHUNK_SIZE) -> Iterator[bytes]:
        """``GET /images/get?names=...``: one tar of several images with their tags, as a stream of bytes chunks
        (e.g. to feed another engine's ``load``)."""
        return self._group.save([names] if isinstance(names, str) else list(names),
                                 64 * 1024 if chunk_size is None else int(chunk_size))

    def import_image(self, src: Any, repository: Optional[str] = None, tag: Optional[str] = None,
                     changes: Optional[Union[str, List[str]]] = None, message: Optional[str] = None,
                     platform: Optional[str] = None) -> Image:
        """Make an image from a root file system tar (bytes, a binary file, an iterable of bytes or a path),
        streamed; ``changes`` are Dockerfile instructions (``CMD``, ``ENV``, ``LABEL``...). Returns the image."""
        if isinstance(src, (str, os.PathLike)):
            with open(os.fspath(src), "rb") as f:
                return self.import_image(f, repository, tag, changes, message, platform)
        messages = self._group.import_image(src, repository, tag, changes, message, platform).read_all()
        image_id = next((m["status"] for m in reversed(messages) if isinstance(m, dict) and "status" in m), None)
        if not image_id:
            raise DockerException(f"image import answered without an image id: {messages!r}")
        return self.get(image_id)

    # --- build ------------------------------------------------------------------------------------------------------
    def build(self, path: Optional[str] = None, fileobj: Any = None, tag: Optional[str] = None,
              quiet: bool = False, nocache: bool = False, rm: bool = True, timeout: Optional[float] = None,
              custom_context: bool = False, encoding: Optional[str] = None, pull: bool = False,
              forcerm: bool = False, dockerfile: Optional[str] = None, container_limits: Optional[Dict[str, Any]] = None,
              buildargs: Optional[Dict[str, str]] = None, gzip: bool = False, shmsize: Optional[int] = None,
              labels: Optional[Dict[str, str]] = None, cache_from: Optional[List[str]] = None,
              target: Optional[str] = None, network_mode: Optional[str] = None, squash: Optional[bool] = None,
              extra_hosts: Optional[Union[Dict[str, str], List[str]]] = None, platform: Optional[str] = None,
              isolation: Optional[str] = None, use_config_proxy: bool = True,
              **kwargs: Any) -> Tuple[Image, Iterator[Dict[str, Any]]]:
        """Build an image: ``(Image, iterator of the build's log dicts)`` like docker-py.

        The context is ``path`` (a directory, sent as a tar with its ``.dockerignore`` applied, streamed; or a remote
        URL), or ``fileobj``: a tar when ``custom_context=True`` (streamed), else a Dockerfile. Unlike docker-py,
        ``rm`` defaults to True (the engine's and the CLI's default), so intermediate containers are not left behind.
        A failing build raises ``BuildError`` with the engine's reason and the log up to it.
        """
        del timeout, encoding, gzip, use_config_proxy  # no total timeout on streams; the engine detects compression
        stream = self.build_stream(
            path=path, fileobj=fileobj, tag=tag, quiet=quiet, nocache=nocache, rm=rm, custom_context=custom_context,
            pull=pull, forcerm=forcerm, dockerfile=dockerfile, container_limits=container_limits, buildargs=buildargs,
            shmsize=shmsize, labels=labels, cache_from=cache_from, target=target, network_mode=network_mode,
            squash=squash, extra_hosts=extra_hosts, platform=platform, isolation=isolation, **kwargs)
        what = f"build of {tag}" if tag else "build"
        image_id, log = _built_image(stream, what)
        return self.get(image_id), iter(log)

    def build_stream(self, path: Optional[str] = None, fileobj: Any = None, tag: Optional[str] = None,
                     quiet: bool = False, nocache: bool = False, rm: bool = True, custom_context: bool = False,
                     pull: bool = False, forcerm: bool = False, dockerfile: Optional[str] = None,
                     container_limits: Optional[Dict[str, Any]] = None, buildargs: Optional[Dict[str, str]] = None,
                     shmsize: Optional[int] = None, labels: Optional[Dict[str, str]] = None,
                     cache_from: Optional[List[str]] = None, target: Optional[str] = None,
                     network_mode: Optional[str] = None, squash: Optional[bool] = None,
                     extra_hosts: Optional[Union[Dict[str, str], List[str]]] = None, platform: Optional[str] = None,
                     isolation: Optional[str] = None, **kwargs: Any) -> Any:
        """The build's log as the engine sends it (dicts, error lines included): the context and options of
        ``build``, shared with the low-level ``client.api.build``."""
        if kwargs:
            raise TypeError(f"build() got unexpected keyword arguments: {', '.join(sorted(kwargs))}")
        if path is None and fileobj is None:
            raise TypeError("Either path or fileobj needs to be provided.")
        remote, context, dir_path, dockerfile = _build_context(path, fileobj, custom_context, dockerfile)
        return self._group.build(
            context=context, path=dir_path, tag=tag, dockerfile=dockerfile, buildargs=buildargs, labels=labels,
            nocache=nocache, rm=rm, forcerm=forcerm, pull=pull, quiet=quiet, target=target,
            network_mode=network_mode, platform=platform, cache_from=cache_from, extra_hosts=extra_hosts,
            shmsize=shmsize, container_limits=container_limits, squash=bool(squash), isolation=isolation,
            remote=remote, raise_on_error=False)


def _dockerfile_tar(fileobj: Any) -> bytes:
    """A context of one ``Dockerfile`` from a file object holding it (small: read whole, as docker-py does)."""
    data = fileobj.read()
    if isinstance(data, str):
        data = data.encode("utf-8")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        info = tarfile.TarInfo("Dockerfile")
        info.size = len(data)
        t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def container_commit(container: Any, repository: Optional[str] = None, tag: Optional[str] = None,
                     client: Any = None, **kwargs: Any) -> Image:
    """Make an image from a container (``POST /commit``) and return it. ``kwargs``: ``message``, ``author``,
    ``pause`` (default True), ``changes`` (str or list of Dockerfile instructions), ``conf`` (a container config
    merged into the image's, e.g. ``{"Labels": {...}}``)."""
    c = client if client is not None else getattr(container, "client", None)
    if c is None:
        raise TypeError("pass a Container model, or client= with a container id")
    cid = getattr(container, "id", container)
    allowed = {"message", "author", "pause", "changes", "conf"}
    unknown = set(kwargs) - allowed
    if unknown:
        raise TypeError(f"commit() got unexpected keyword arguments: {', '.join(sorted(unknown))}")
    images = ImageCollection(c)
    image_id = images._group.commit(cid, repository, tag, kwargs.get("message"), kwargs.get("author"),
                                   bool(kwargs.get("pause", True)), kwargs.get("changes"), kwargs.get("conf"))
    return images.get(image_id)


Image.collection_type = ImageCollection


def _build_context(path: Optional[str], fileobj: Any, custom_context: bool,
                   dockerfile: Optional[str]) -> Tuple[Optional[str], Any, Optional[str], Optional[str]]:
    """build()'s context → (remote URL, tar or Dockerfile object, directory, Dockerfile relative to it)."""
    if path is not None and str(path).startswith(_REMOTE_PREFIXES):
        return str(path), None, None, dockerfile
    if fileobj is not None:
        return None, fileobj if custom_context else _dockerfile_tar(fileobj), None, dockerfile
    assert path is not None  # build() checked that one of path, fileobj is given
    dir_path = os.fspath(path)
    if dockerfile and os.path.isabs(dockerfile):
        rel = os.path.relpath(dockerfile, dir_path)
        if rel.startswith(".."):
            raise DockerException(f"build: the Dockerfile {dockerfile} is outside the context {dir_path}")
        dockerfile = rel
    return None, None, dir_path, dockerfile


def _built_image(stream: Iterator[Dict[str, Any]], what: str) -> Tuple[str, List[Dict[str, Any]]]:
    """Reads a build's log to its end → (the built image's id, the log); BuildError on a failure the log reports."""
    log: List[Dict[str, Any]] = []
    image_id = None
    last_event: Any = None
    for chunk in stream:
        log.append(chunk)
        err = _error_of(chunk)
        if err:
            raise BuildError(err, iter(log), f"{what} failed: {err}")
        aux = chunk.get("aux") if isinstance(chunk, dict) else None
        if isinstance(aux, dict) and aux.get("ID"):
            image_id = aux["ID"]
        if "stream" in chunk:
            m = _BUILT.search(chunk["stream"])
            if m:
                image_id = m.group(2)
        last_event = chunk
    if image_id:
        return image_id, log
    reason = str(last_event or "Unknown")
    raise BuildError(reason, iter(log), f"{what} failed: the engine reported no image ({reason})")
