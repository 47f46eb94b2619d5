"""What the dind commands share: argument types, progress and error lines, export lines, and the engine a daemon
lives on."""
from __future__ import annotations

import argparse
import os
import re
import shlex
import sys
import time
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, NoReturn, Optional, Tuple

if TYPE_CHECKING:  # pragma: no cover
    from ..client import Client

PROG = "dind"
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)([smhdw]?)")


class CliError(Exception):
    """A failure to report as one line on stderr (exit status 1)."""


def parse_duration(text: str) -> float:
    """``30m``, ``2h``, ``1d``, ``1h30m``, ``90s`` or bare seconds → seconds (> 0)."""
    s = text.strip().lower()
    pos, total = 0, 0.0
    while pos < len(s):
        m = _DURATION.match(s, pos)
        if not m:
            break
        total += float(m.group(1)) * _UNITS[m.group(2) or "s"]
        pos = m.end()
    if not s or pos != len(s):
        raise argparse.ArgumentTypeError(f"invalid duration {text!r} (use e.g. 90s, 30m, 2h, 1d or 1h30m)")
    if total <= 0:
        raise argparse.ArgumentTypeError(f"invalid duration {text!r}: must be greater than zero")
    return total


def port_number(text: str) -> int:
    """argparse type: a TCP port, 0 (any free port) to 65535."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid port {text!r}: not a number") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"invalid port {text!r}: must be 0 (any free port) to 65535")
    return value


def seconds(text: str) -> float:
    """argparse type: a positive number of seconds."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid timeout {text!r}: not a number of seconds") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"invalid timeout {text!r}: must be greater than zero")
    return value


def key_value(text: str) -> str:
    """argparse type: a ``KEY=VALUE`` string."""
    if "=" not in text or text.startswith("="):
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return text


def on_terminal() -> bool:
    """True when stderr is a terminal (progress is shown there only)."""
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def progress(line: str) -> None:
    """A progress line on stderr, only on a terminal."""
    if on_terminal():
        sys.stderr.write(f"{PROG}: {line}\n")
        sys.stderr.flush()


def engine_client() -> "Client":
    """A client of the engine this shell names (DOCKER_HOST, contexts, the default socket)."""
    from ..client import Client

    return Client.from_env()


def locate(name: str) -> Tuple["Client", str]:
    """The engine daemon ``name`` (a name or an id) lives on, and how to name it there: the engine its private
    directory records (so `dind down ci` works after `eval "$(dind up --name ci)"` pointed DOCKER_HOST at ci itself,
    and for a daemon inside another), else this shell's engine."""
    from .. import _core, errors
    from ..client import Client

    for r in _core.local_daemons():
        if name in (r.name, r.id) or (len(name) >= 12 and r.id.startswith(name)):
            try:
                return Client(_core_client=r.engine_client()), r.id
            except errors.DockerException:
                break  # its engine cannot be made from the record: try this shell's
    return engine_client(), name


def recorded_engines() -> List["Client"]:
    """Clients of the engines this user's daemons on this machine live on, besides this shell's (one each)."""
    from .. import _core, errors
    from ..client import Client

    seen, out = {engine_client().base_url}, []
    for r in _core.local_daemons():
        if r.engine and r.engine not in seen:
            seen.add(r.engine)
            try:
                out.append(Client(_core_client=r.engine_client()))
            except errors.DockerException:
                pass
    return out


def engine_url() -> str:
    """That engine, for messages."""
    try:
        return engine_client().base_url
    except Exception:  # noqa: BLE001 - a message must not fail for want of an engine
        return os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"


def export_lines(env: Mapping[str, str]) -> List[str]:
    """``export K=V`` lines for ``eval``; a daemon without TLS also unsets the TLS variables a shell may hold."""
    lines = [f"export {k}={shlex.quote(v)}" for k, v in env.items()]
    stale = [k for k in ("DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH") if k not in env]
    if stale:
        lines.append("unset " + " ".join(stale))
    return lines


def age(created: int) -> str:
    """How long ago ``created`` (unix seconds) was, in the largest whole unit (``3m ago``)."""
    if not created:
        return "?"
    secs = max(0, int(time.time()) - int(created))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if secs >= size:
            return f"{secs // size}{unit} ago"
    return f"{secs}s ago"


def session_leader_labels() -> Dict[str, str]:
    """Owner labels naming this process's session leader, as ``Dind(owner="session")`` records it (the core's rule:
    ``dind::Owner::session_leader``); empty when there is none."""
    from .. import _core

    leader = _core.Owner.session_leader()
    return {_core.LABEL_OWNER_PID: str(leader.pid), _core.LABEL_OWNER_START: leader.start} if leader else {}


def usage(parser: argparse.ArgumentParser, message: str) -> NoReturn:
    """Exits with a usage error (status 2) naming ``message``."""
    parser.error(message)  # exits 2
    raise AssertionError("unreachable")


def error(command: Optional[str], message: str) -> None:
    """Writes ``dind COMMAND: error: message`` on stderr."""
    where = f"{PROG} {command}" if command else PROG
    sys.stderr.write(f"{where}: error: {message}\n")
    sys.stderr.flush()
