"""The exec calls of ``APIClient`` (docker-py's ``exec_create``/``exec_start``/``exec_inspect``), on the core's
exec endpoints that ``Container.exec_run`` uses too (``models/streams.py``)."""
from __future__ import annotations

import shlex
from typing import Any, Dict, List, Mapping, Optional, Union

from ..models.streams import AttachSocket, _environment
from .container import resource_id


class ExecApiMixin:
    """``exec_create``, ``exec_start``, ``exec_inspect``, ``exec_resize``."""

    _streams: Any

    def exec_create(self, container: Any, cmd: Union[str, List[str]], stdout: bool = True, stderr: bool = True,
                    stdin: bool = False, tty: bool = False, privileged: bool = False, user: str = "",
                    environment: Union[Mapping[str, Any], List[str], None] = None, workdir: Optional[str] = None,
                    detach_keys: Optional[str] = None) -> Dict[str, str]:
        """``POST /containers/{id}/exec``: ``{'Id': exec_id}`` (a string ``cmd`` is split as a shell would)."""
        argv = shlex.split(cmd) if isinstance(cmd, str) else [str(c) for c in cmd]
        exec_id = self._streams.exec_create(resource_id(container), argv, stdout=stdout, stderr=stderr,
                                            stdin=stdin, tty=tty, privileged=privileged, user=user or "",
                                            environment=_environment(environment), workdir=workdir or "",
                                            detach_keys=detach_keys)
        return {"Id": str(exec_id)}

    def exec_start(self, exec_id: Any, detach: bool = False, tty: bool = False, stream: bool = False,
                   socket: bool = False, demux: bool = False) -> Any:
        """Run an exec: its output as bytes (``(stdout, stderr)`` with ``demux``); ``stream=True``: an iterator of
        chunks; ``socket=True``: the attached socket; ``detach=True``: ``''`` at once."""
        eid = resource_id(exec_id, "exec")
        if detach:
            self._streams.exec_start_detached(eid, tty=tty)
            return ""
        out = self._streams.exec_start(eid, tty=tty, mode="demux" if demux else "bytes")
        if socket:
            return AttachSocket(out)
        if stream:
            return out
        with out:
            return out.read_all(demux)

    def exec_inspect(self, exec_id: Any) -> Dict[str, Any]:
        """``GET /exec/{id}/json``: ``Running``, ``ExitCode``, ``ProcessConfig``, ..."""
        out: Dict[str, Any] = self._streams.exec_inspect(resource_id(exec_id, "exec"))
        return out

    def exec_resize(self, exec_id: Any, height: int, width: int) -> None:
        """Resize an exec's TTY."""
        self._streams.exec_resize(resource_id(exec_id, "exec"), int(height), int(width))
