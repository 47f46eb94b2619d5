"""Streams of a container — logs, attach, exec, stats — and the engine's events, with docker-py's semantics.

The ``Container`` model delegates to the ``container_*`` functions here (the container is the first argument);
``Client.events`` delegates to :func:`client_events`. Every stream is an iterator that reads with the GIL
released, has no total timeout, ends when ``close()`` is called from any thread, and raises ``KeyboardInterrupt``
on Ctrl-C while blocked. Output is always ``bytes``; TTY output is passed through raw, never demultiplexed.

Differences from docker-py, all additions:

* ``exec_run(..., stream=True)`` returns a :class:`StreamingExecResult`: its ``output`` iterator (an
  :class:`ExecOutput`) has an ``exit_code`` that becomes known once the iterator is exhausted, and the result's own
  ``exit_code`` reads it from there (docker-py always gives ``None``).
* ``exec_run(..., stdin=b"...")`` (bytes, str or a binary file object) feeds the command's stdin and half-closes it.
* ``logs(..., demux=True)`` splits stdout and stderr like ``exec_run``.
"""

from __future__ import annotations

import datetime as _dt
import shlex
from collections import namedtuple
from typing import Any, Dict, Iterator, List, Mapping, Optional, Tuple, Union, cast

from .. import _core, errors
from .resource import core_client

ExecResult = namedtuple("ExecResult", "exit_code,output")
ExecResult.__doc__ = "(exit_code, output) of exec_run, as in docker-py."

_CHUNK = 64 * 1024


# ---- helpers ----------------------------------------------------------------------------------------------------
def _api(client: Any) -> "_core.Streams":
    """The core stream endpoints of a high-level ``dind.Client`` (or of a ``_core.Client``)."""
    return _core.Streams(core_client(client))


def _known_tty(container: Any) -> Optional[bool]:
    """Config.Tty if the container's attrs already hold it (saves the engine an inspect), else None."""
    config = (getattr(container, "attrs", None) or {}).get("Config")
    if isinstance(config, dict) and isinstance(config.get("Tty"), bool):
        return cast(bool, config["Tty"])
    return None


def _time_arg(value: Any, name: str) -> Union[None, int, float, str]:
    """since/until: a datetime (naive = local time, as docker-py), seconds since the epoch, or an engine string."""
    if value is None:
        return None
    if isinstance(value, _dt.datetime):
        return int(value.timestamp())
    if isinstance(value, bool):
        raise errors.InvalidArgument(f"{name} must be a datetime, a number of seconds or a string, not a bool")
    if isinstance(value, (int, float, str)):
        return value
    raise errors.InvalidArgument(
        f"{name} must be a datetime, a number of seconds or a string, not {type(value).__name__}")


def _environment(environment: Any) -> List[str]:
    if not environment:
        return []
    if isinstance(environment, Mapping):
        return [k if v is None else f"{k}={v}" for k, v in environment.items()]
    return [str(e) for e in environment]


# ---- logs -------------------------------------------------------------------------------------------------------
def container_logs(container: Any, stdout: bool = True, stderr: bool = True, stream: bool = False,
                   timestamps: bool = False, tail: Union[str, int] = "all", since: Any = None,
                   follow: Optional[bool] = None, until: Any = None, demux: bool = False) -> Any:
    """``GET /containers/{id}/logs``.

    stream=False: ``bytes`` (``(stdout, stderr)`` with demux, None for an empty side); stream=True: an iterator of
    ``bytes`` chunks (``(stdout, None)``/``(None, stderr)`` with demux) with ``close()``. ``follow`` defaults to
    ``stream``; a followed stream ends when the container stops.
    """
    if follow is None:
        follow = stream
    if tail != "all" and (not isinstance(tail, int) or isinstance(tail, bool) or tail < 0):
        tail = "all"
    out = _api(container.client).logs(
        container.id, stdout=stdout, stderr=stderr, follow=bool(follow), timestamps=timestamps, tail=str(tail),
        since=_time_arg(since, "since"), until=_time_arg(until, "until"), tty=_known_tty(container),
        mode="demux" if demux else "bytes")
    if stream:
        return out
    with out:
        return out.read_all(demux)


# ---- attach -----------------------------------------------------------------------------------------------------
class AttachSocket:
    """A hijacked attach/exec connection: ``write()``/``send()`` stdin, ``close_write()`` to send EOF (output
    keeps coming), ``read()``/iteration for the output (demultiplexed, stdout and stderr together; raw with a
    TTY), ``close()``. Use it from one thread at a time; ``close()`` and ``close_write()`` work from any thread.
    """

    def __init__(self, stream: "_core.OutputStream") -> None:
        self._stream = stream

    @property
    def _sock(self) -> "AttachSocket":
        """docker-py code writes through ``sock._sock.sendall(...)``: that works here too."""
        return self

    @property
    def tty(self) -> bool:
        """True when the output is a TTY's (raw, not multiplexed)."""
        return self._stream.tty

    def write(self, data: Union[bytes, bytearray, memoryview, str]) -> int:
        """Writes ``data`` (str as UTF-8) to the process's stdin; returns its length."""
        if isinstance(data, str):
            data = data.encode()
        data = bytes(data)
        self._stream.write(data)
        return len(data)

    send = write

    def sendall(self, data: Union[bytes, bytearray, memoryview, str]) -> None:
        """Writes all of ``data`` to the process's stdin (socket-like)."""
        self.write(data)

    def close_write(self) -> None:
        """Half-close: the process sees EOF on stdin."""
        self._stream.close_write()

    shutdown_write = close_write

    def read(self, n: int = -1) -> bytes:
        """Up to ``n`` bytes of output (the next chunk if n < 0); ``b""`` at the end."""
        return self._stream.read(n)

    def recv(self, n: int = _CHUNK) -> bytes:
        """Up to ``n`` bytes of output (socket-like); ``b""`` at the end."""
        return self._stream.read(n)

    def read_all(self, demux: bool = False) -> Any:
        """All output up to the end: bytes, or (stdout, stderr) with demux."""
        return self._stream.read_all(demux)

    def frames(self) -> Iterator[Tuple[int, bytes]]:
        """(stream id, bytes) pairs: 1 stdout, 2 stderr."""
        self._stream.set_mode("frames")
        return self._stream

    def __iter__(self) -> Iterator[bytes]:
        return self._stream

    def close(self) -> None:
        """Closes the connection (any thread)."""
        self._stream.close()

    def __enter__(self) -> "AttachSocket":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _attach(container: Any, stdin: bool, stdout: bool, stderr: bool, stream: bool, logs: bool,
            detach_keys: Optional[str] = None, mode: str = "bytes") -> "_core.OutputStream":
    return _api(container.client).attach(container.id, stdin=stdin, stdout=stdout, stderr=stderr, logs=logs,
                                         stream=stream, detach_keys=detach_keys, tty=_known_tty(container),
                                         mode=mode)


def container_attach(container: Any, stdout: bool = True, stderr: bool = True, stream: bool = False,
                     logs: bool = False, demux: bool = False) -> Any:
    """``POST /containers/{id}/attach`` (docker-py): stream=False waits for the end of the output and returns it;
    stream=True returns an iterator of chunks (``(stdout, stderr)`` tuples with demux) with ``close()``."""
    out = _attach(container, False, stdout, stderr, True, logs, mode="demux" if demux else "bytes")
    if stream:
        return out
    with out:
        return out.read_all(demux)


def container_attach_socket(container: Any, params: Optional[Mapping[str, Any]] = None) -> AttachSocket:
    """A hijacked attach with stdin: an :class:`AttachSocket`. ``params`` as docker-py (stdin, stdout, stderr,
    stream, logs, detachKeys); by default stdin, stdout, stderr and stream are on."""
    p: Dict[str, Any] = {"stdin": True, "stdout": True, "stderr": True, "stream": True, "logs": False}
    if params:
        p.update(params)
    out = _attach(container, bool(p["stdin"]), bool(p["stdout"]), bool(p["stderr"]), bool(p["stream"]),
                  bool(p["logs"]), p.get("detachKeys") or p.get("detach_keys"))
    return AttachSocket(out)


# ---- exec -------------------------------------------------------------------------------------------------------
class ExecOutput:
    """The output of a streamed exec: iterate for chunks (``(stdout, stderr)`` tuples with demux). ``exit_code``
    is None until the iteration ended, then the command's exit status (read from the exec's inspect)."""

    def __init__(self, streams: "_core.Streams", exec_id: str, stream: "_core.OutputStream") -> None:
        self._streams = streams
        self._stream = stream
        self.exec_id = exec_id
        self._exit_code: Optional[int] = None
        self._done = False

    def __iter__(self) -> "ExecOutput":
        return self

    def __next__(self) -> Any:
        try:
            return next(self._stream)
        except StopIteration:
            self._finish()
            raise

    def _finish(self) -> None:
        if not self._done:
            self._done = True
            if not self._stream.closed:
                self._exit_code = self._streams.exec_exit_code(self.exec_id)

    @property
    def exit_code(self) -> Optional[int]:
        """The command's exit status once the output was read to its end, else None."""
        return self._exit_code

    def close(self) -> None:
        """Ends the stream (any thread)."""
        self._stream.close()

    def __enter__(self) -> "ExecOutput":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class StreamingExecResult(ExecResult):
    """ExecResult of ``exec_run(stream=True)``: ``output`` is an :class:`ExecOutput`; ``exit_code`` is read from
    it, so it is None until the output was iterated to its end and the exit status after that."""

    __slots__ = ()

    def __new__(cls, output: ExecOutput) -> "StreamingExecResult":
        return super().__new__(cls, None, output)

    @property
    def exit_code(self) -> Optional[int]:
        """The command's exit status once ``output`` was read to its end, else None."""
        return cast(Optional[int], self.output.exit_code)

    def __getitem__(self, i: Any) -> Any:
        return tuple(self)[i]

    def __iter__(self) -> Iterator[Any]:
        yield self.exit_code
        yield self.output

    def __repr__(self) -> str:
        return f"StreamingExecResult(exit_code={self.exit_code!r}, output={self.output!r})"


def _feed_stdin(out: "_core.OutputStream", data: Any) -> None:
    """Writes bytes / str / a file object to the exec's stdin, then half-closes it."""
    if isinstance(data, str):
        data = data.encode()
    if isinstance(data, (bytes, bytearray, memoryview)):
        if len(data):
            out.write(bytes(data))
    else:
        read = getattr(data, "read", None)
        if read is None:
            raise errors.InvalidArgument("stdin must be a bool, bytes, str or a binary file object")
        while True:
            chunk = read(_CHUNK)
            if not chunk:
                break
            out.write(chunk.encode() if isinstance(chunk, str) else bytes(chunk))
    out.close_write()


def container_exec_run(container: Any, cmd: Union[str, List[str]], stdout: bool = True, stderr: bool = True,
                       stdin: Any = False, tty: bool = False, privileged: bool = False, user: str = "",
                       detach: bool = False, stream: bool = False, socket: bool = False,
                       environment: Any = None, workdir: Optional[str] = None, demux: bool = False) -> ExecResult:
    """Run a command in the container (docker-py's ``exec_run``): ``ExecResult(exit_code, output)``.

    ``stdin``: True attaches it (use with ``socket=True``); bytes, str or a file object are written and then
    stdin is half-closed. With ``stream=True`` the result is a :class:`StreamingExecResult` whose exit code is
    known once its output was iterated to the end. Feeding a large stdin to a command that also writes a large
    output before reading it all could fill both socket buffers: stream such input through ``socket=True``.
    """
    if isinstance(cmd, str):
        cmd = shlex.split(cmd)
    feed = stdin if stdin is not False and stdin is not True and stdin is not None else None
    api = _api(container.client)
    exec_id = api.exec_create(container.id, list(cmd), stdout=stdout, stderr=stderr,
                              stdin=bool(stdin is True or feed is not None), tty=tty, privileged=privileged,
                              user=user or "", environment=_environment(environment), workdir=workdir or "")
    if detach:
        api.exec_start_detached(exec_id, tty=tty)
        return ExecResult(None, b"")
    out = api.exec_start(exec_id, tty=tty, mode="demux" if demux else "bytes")
    if socket:
        return ExecResult(None, AttachSocket(out))
    if feed is not None:
        _feed_stdin(out, feed)
    if stream:
        return StreamingExecResult(ExecOutput(api, exec_id, out))
    with out:
        output = out.read_all(demux)
    return ExecResult(api.exec_exit_code(exec_id), output)


# ---- stats ------------------------------------------------------------------------------------------------------
def container_stats(container: Any, decode: Optional[bool] = None, stream: bool = True,
                    one_shot: Optional[bool] = None) -> Any:
    """``GET /containers/{id}/stats`` (docker-py): stream=True → an iterator of dicts (decode) or JSON lines as
    bytes, one per second, with ``close()``; stream=False → one dict (one_shot: without the second sample)."""
    api = _api(container.client)
    if not stream:
        if decode:
            raise errors.InvalidArgument("decode is only available in conjunction with stream=True")
        return api.stats_once(container.id, one_shot=bool(one_shot))
    if one_shot:
        raise errors.InvalidArgument("one_shot is only available in conjunction with stream=False")
    return api.stats(container.id, decode=bool(decode))


# ---- events -----------------------------------------------------------------------------------------------------
def client_events(client: Any, since: Any = None, until: Any = None, filters: Optional[Mapping[str, Any]] = None,
                  decode: Optional[bool] = None) -> "_core.JsonLines":
    """``GET /events``: an iterator of dicts (decode=True) or of JSON lines as bytes. Without ``until`` it runs
    until ``close()`` (from any thread) or Ctrl-C. since/until: datetime, seconds since the epoch, or a string."""
    return _api(client).events(since=_time_arg(since, "since"), until=_time_arg(until, "until"),
                               filters=dict(filters) if filters else None, decode=bool(decode))


__all__ = [
    "AttachSocket",
    "ExecOutput",
    "ExecResult",
    "StreamingExecResult",
    "client_events",
    "container_attach",
    "container_attach_socket",
    "container_exec_run",
    "container_logs",
    "container_stats",
]
