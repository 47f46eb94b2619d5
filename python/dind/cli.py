"""The dind command: start, inspect and remove throwaway Docker-in-Docker daemons from a shell or CI script.

  eval "$(dind up --name ci)"        # start one; prints `export DOCKER_HOST=...` lines
  dind env ci                        # the same lines again, for another shell
  dind ls                            # what is running
  dind down ci                       # remove it (container, volumes, certs)
  dind prune --older-than 2h         # remove what dead or old sessions left behind
  dind run --load busybox -- make test   # up, run the command with the env, down; exits with its status
  dind job --workspace "$PWD" -- docker build .   # a job container beside a dind sidecar reached as `docker`

Long steps show progress on stderr when it is a terminal and stay quiet in logs. Errors are one line on stderr and
exit status 1 (2 for usage errors).
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
import warnings
from typing import Any, Callable, Dict, Iterator, List, Mapping, NoReturn, Optional, Sequence

PROG = "dind"
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)([smhdw]?)")


class CliError(Exception):
    """A failure to report as one line on stderr (exit status 1)."""


# -- small helpers ------------------------------------------------------------------------------------------------
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


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid port {text!r}: not a number") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"invalid port {text!r}: must be 0 (any free port) to 65535")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid timeout {text!r}: not a number of seconds") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"invalid timeout {text!r}: must be greater than zero")
    return value


def _key_value(text: str) -> str:
    if "=" not in text or text.startswith("="):
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return text


def _tty() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def _progress(line: str) -> None:
    """A progress line on stderr, only on a terminal."""
    if _tty():
        sys.stderr.write(f"{PROG}: {line}\n")
        sys.stderr.flush()


def _engine_client() -> Any:
    """A client of the engine this shell names (DOCKER_HOST, contexts, the default socket)."""
    from .client import Client

    return Client.from_env()


def _locate(name: str) -> "tuple[Any, str]":
    """The engine daemon ``name`` (a name or an id) lives on, and how to name it there: the engine its private
    directory records (so `dind down ci` works after `eval "$(dind up --name ci)"` pointed DOCKER_HOST at ci itself,
    and for a daemon inside another), else this shell's engine."""
    from . import _core, errors
    from .client import Client

    for r in _core.local_daemons():
        if name in (r.name, r.id) or (len(name) >= 12 and r.id.startswith(name)):
            try:
                return Client(_core_client=r.engine_client()), r.id
            except errors.DockerException:
                break  # its engine cannot be made from the record: try this shell's
    return _engine_client(), name


def _recorded_engines() -> List[Any]:
    """Clients of the engines this user's daemons on this machine live on, besides this shell's (one each)."""
    from . import _core, errors
    from .client import Client

    seen, out = {_engine_client().base_url}, []
    for r in _core.local_daemons():
        if r.engine and r.engine not in seen:
            seen.add(r.engine)
            try:
                out.append(Client(_core_client=r.engine_client()))
            except errors.DockerException:
                pass
    return out


def _engine() -> str:
    """That engine, for messages."""
    try:
        return _engine_client().base_url
    except Exception:  # noqa: BLE001 - a message must not fail for want of an engine
        return os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"


def export_lines(env: Mapping[str, str]) -> List[str]:
    """``export K=V`` lines for ``eval``; a daemon without TLS also unsets the TLS variables a shell may hold."""
    lines = [f"export {k}={shlex.quote(v)}" for k, v in env.items()]
    stale = [k for k in ("DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH") if k not in env]
    if stale:
        lines.append("unset " + " ".join(stale))
    return lines


def _age(created: int) -> str:
    if not created:
        return "?"
    secs = max(0, int(time.time()) - int(created))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if secs >= size:
            return f"{secs // size}{unit} ago"
    return f"{secs}s ago"


def _owner_alive(pid: int) -> bool:
    if pid <= 0:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _proc_stat(pid: int) -> List[str]:
    """/proc/PID/stat fields from field 3 (state) on; the name before them may hold spaces."""
    with open(f"/proc/{pid}/stat") as f:
        stat = f.read()
    return stat[stat.rindex(")") + 2:].split()


def _proc_start_time(pid: int) -> str:
    """Field 22 of /proc/PID/stat (start time in ticks since boot), as dind's owner labels record it."""
    return _proc_stat(pid)[22 - 3]


def _session_leader() -> int:
    """The pid of this process's session leader, or 0 when there is none to name.

    In a container whose session began outside its pid namespace (a CI agent's `docker exec`, `unshare -p`), getsid
    answers 0: the leader is invisible. Then the topmost visible ancestor still in that session stands in for it
    (pid 1 excepted: it never exits, so it would keep a daemon for ever)."""
    sid = os.getsid(0)
    if sid != 0:
        return sid if sid > 1 and sid != os.getpid() else 0
    leader, pid = 0, os.getppid()
    while pid > 1:
        fields = _proc_stat(pid)  # [state, ppid, pgrp, session, ...]
        if int(fields[3]) != 0:
            break
        leader, pid = pid, int(fields[1])
    return leader


def session_leader_labels() -> Dict[str, str]:
    """Owner labels naming this process's session leader: the terminal's shell, or the CI job's.

    A daemon that must outlive the command that started it (``dind up``, ``pytest --dind-keep``) belongs to that
    session: its direct parent may be a short-lived wrapper (``$(...)``, make, tox, an xdist controller, one CI
    step's shell) whose exit would let the next reap remove it. Empty when there is no such leader (then the
    parent owns it)."""
    try:
        leader = _session_leader()
        if not leader:
            return {}
        return {"dind.owner-pid": str(leader), "dind.owner-start": _proc_start_time(leader)}
    except (OSError, ValueError, IndexError):
        return {}


# -- options shared by `up` and `run` -----------------------------------------------------------------------------
def _daemon_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("daemon options")
    g.add_argument("--name", help="container name (default: dind-<random>)")
    g.add_argument("--image", default=os.environ.get("DIND_IMAGE") or "docker:dind",
                   help="dind image (default: $DIND_IMAGE or docker:dind)")
    g.add_argument("--no-tls", action="store_true",
                   help="plain TCP on 2375 (started with --tls=false) instead of mutual TLS on 2376: no "
                        "authentication, any local process can control the daemon (warns on stderr)")
    g.add_argument("--port", type=_port, default=0, help="host port to publish (default: 0, a free one)")
    g.add_argument("--reach", choices=("auto", "loopback", "network", "published", "tunnel"), default="auto",
                   help="how to dial the daemon (default: auto, decided from the engine and where this runs; "
                        "tunnel: through the engine's API, no port)")
    g.add_argument("--host", default=None, metavar="HOST",
                   help="dial the published port at HOST (default: $DIND_HOST, if set)")
    g.add_argument("--insecure-publish", action="store_true",
                   help="with --no-tls, allow the plain TCP port to be published beyond loopback")
    g.add_argument("--dockerd-arg", action="append", default=[], metavar="ARG",
                   help="extra dockerd flag, repeatable; write it as --dockerd-arg=--mtu=1400")
    g.add_argument("--runtime", help="OCI runtime such as sysbox-runc (then not privileged)")
    g.add_argument("--network", help="user network to join; the client then dials the container address")
    g.add_argument("--env", action="append", default=[], type=_key_value, metavar="KEY=VALUE",
                   help="environment of the dind container, repeatable")
    g.add_argument("--mount", action="append", default=[], metavar="SRC:DST[:ro]",
                   help="a host path (which must exist) or volume mounted into the dind container, repeatable")
    g.add_argument("--label", action="append", default=[], type=_key_value, metavar="KEY=VALUE",
                   help="extra container label, repeatable")
    g.add_argument("--pull", choices=("missing", "always", "never"), default="missing",
                   help="when to pull the image (default: missing)")
    g.add_argument("--load", action="append", default=[], metavar="IMAGE",
                   help="image of the outer engine to load into the daemon, repeatable")
    g.add_argument("--timeout", type=_seconds, default=60.0, help="start timeout in seconds (default: 60)")


def _start(args: argparse.Namespace, owner: str, owner_labels: Optional[Mapping[str, str]] = None) -> Any:
    """Starts a daemon from the parsed options (progress on a terminal) and loads the requested images."""
    from .daemon import PLAIN_TCP_RISK, Dind, InsecureWarning

    kwargs: Dict[str, Any] = {
        "tls": not args.no_tls, "host_port": args.port, "dockerd_args": tuple(args.dockerd_arg),
        "name": args.name, "pull": args.pull, "start_timeout": args.timeout, "owner": owner,
        "reach": args.reach, "host": args.host, "insecure_publish": args.insecure_publish,
    }
    if args.runtime:
        kwargs.update(runtime=args.runtime, privileged=False)
    if args.network:
        kwargs["network"] = args.network
    if args.env:
        kwargs["environment"] = dict(kv.split("=", 1) for kv in args.env)
    if args.mount:
        kwargs["mounts"] = tuple(args.mount)
    labels = dict(kv.split("=", 1) for kv in args.label)
    labels.update(owner_labels or {})
    if labels:
        kwargs["labels"] = labels
    _progress(f"starting a daemon ({args.image}) ...")
    with warnings.catch_warnings():
        if args.no_tls:
            # Always said, terminal or CI log, as one line of ours rather than in Python's warning format.
            sys.stderr.write(f"{PROG} {args.command}: warning: --no-tls: {PLAIN_TCP_RISK}\n")
            sys.stderr.flush()
            warnings.simplefilter("ignore", InsecureWarning)
        d = Dind(args.image, **kwargs)
    total = d.timings.get("total", 0.0)
    _progress(f"{d.name} ready on {d.host} in {total:.2f} s ({d.reach})")
    if args.load:
        from . import errors

        t0 = time.monotonic()
        try:
            loaded = d.load_images(args.load)  # shows its own progress on a terminal
        except errors.DockerException as e:
            d.close()
            raise CliError(f"loading {', '.join(args.load)} into {d.name} failed: {' '.join(str(e).split())}") from None
        _progress(f"loaded {', '.join(loaded) or ', '.join(args.load)} in {time.monotonic() - t0:.2f} s")
    return d


def _attach(name: str) -> Any:
    from . import errors
    from .daemon import Dind

    engine, ident = _locate(name)
    try:
        return Dind.attach(ident, client=engine)
    except errors.NotFound:
        raise CliError(f"no dind daemon named {name!r} on {engine.base_url} (see `dind ls`)") from None


# -- commands -----------------------------------------------------------------------------------------------------
def cmd_up(args: argparse.Namespace) -> int:
    # It outlives this command: the terminal session (or CI job) owns it, and `dind prune` removes it once that is
    # gone; without a session leader, the calling process does.
    d = _start(args, owner="parent", owner_labels=session_leader_labels())
    try:
        d.keep()
    except BaseException:
        d.close()
        raise
    for line in export_lines(d.env):
        print(line)
    sys.stdout.flush()
    _progress(f"remove it with: dind down {d.name}")
    return 0


def cmd_env(args: argparse.Namespace) -> int:
    d = _attach(args.name)
    for line in export_lines(d.env):
        print(line)
    return 0


def cmd_ls(args: argparse.Namespace) -> int:
    from .daemon import list_daemons

    from . import errors

    daemons, ids = [], set()
    for i, engine in enumerate([_engine_client()] + _recorded_engines()):
        try:
            found = list_daemons(engine)
        except errors.DockerException:
            if i == 0:
                raise
            continue  # a recorded engine that is gone (a daemon that held another)
        for x in found:
            if x["id"] not in ids:
                ids.add(x["id"])
                daemons.append({**x, "engine": engine.base_url})
    daemons.sort(key=lambda x: (x.get("created", 0), x.get("name", "")))
    if args.json:
        print(json.dumps(daemons, indent=2))
        return 0
    if args.quiet:
        for x in daemons:
            print(x["name"])
        return 0
    rows = [("NAME", "STATUS", "REACH", "HOST", "OWNER", "CREATED", "ENGINE")]
    for x in daemons:
        pid = int(x.get("owner_pid") or 0)
        owner = f"{pid}" if _owner_alive(pid) else f"{pid} (gone)"
        rows.append((x["name"], x.get("status", ""), x.get("reach") or "-", x.get("host") or "-", owner,
                     _age(x.get("created", 0)), x["engine"]))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
    return 0


def cmd_down(args: argparse.Namespace) -> int:
    if args.all:
        if args.names:
            raise CliError("give names or --all, not both")
        from .daemon import reap

        names = _daemon_names()
        return _print_removed(reap(everything=True, client=_engine_client()), names)
    if not args.names:
        raise CliError("name a daemon to remove (see `dind ls`), or use --all")
    from . import _core, errors

    failed = 0
    for name in args.names:
        try:
            _progress(f"removing {name} ...")
            engine, ident = _locate(name)
            if not _core.remove_daemon(engine.api, ident):
                raise CliError(f"no dind daemon named {name!r} on {engine.base_url} (see `dind ls`)")
            print(f"removed {name}")
        except (CliError, errors.DockerException) as e:
            _error("down", str(e))
            failed += 1
    return 1 if failed else 0


def cmd_forward(args: argparse.Namespace) -> int:
    """Serves a tunnelled daemon's docker CLI socket until the daemon is gone (what ``Dind.keep()`` leaves behind)."""
    from .daemon import Dind

    d = Dind.attach(args.id)
    d._d.serve_cli()
    return 0


def _daemon_names() -> Dict[str, str]:
    """Container id → daemon name, to report removals by name (reap() reports ids)."""
    from .daemon import list_daemons

    try:
        return {x["id"]: x["name"] for x in list_daemons(_engine_client())}
    except Exception:  # noqa: BLE001 - names are a nicety; reap() itself reports what fails
        return {}


def _print_removed(removed: Mapping[str, Sequence[str]], names: Optional[Mapping[str, str]] = None) -> int:
    n = 0
    for kind in ("containers", "volumes", "networks", "dirs"):
        for item in removed.get(kind, ()):
            label = item
            if kind == "containers" and names and item in names:
                label = f"{names[item]} ({item[:12]})"
            print(f"removed {'private directory' if kind == 'dirs' else kind[:-1]} {label}")
            n += 1
    if not n:
        print("nothing to remove")
    return 0


def cmd_prune(args: argparse.Namespace) -> int:
    from .daemon import reap

    names = _daemon_names()
    return _print_removed(reap(older_than=args.older_than, client=_engine_client()), names)


class _Signalled(BaseException):
    """A termination signal arrived before the command ran."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _command_after_dashes(args: argparse.Namespace, missing: str) -> List[str]:
    """The command given after ``--``; a usage error saying ``missing`` when there is none."""
    cmd = list(args.cmd)
    if cmd and cmd[0] == "--":
        cmd = cmd[1:]
    if not cmd:
        _usage(args.parser, missing)
    return cmd


@contextlib.contextmanager
def _handling_termination(handler: Callable[[int, Any], None]) -> Iterator[None]:
    """``handler`` for SIGINT, SIGTERM and SIGHUP inside the block; the previous handlers afterwards."""
    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


def cmd_run(args: argparse.Namespace) -> int:
    cmd = _command_after_dashes(args, "give the command to run after --, e.g. dind run -- docker version")
    state: Dict[str, Any] = {"child": None}
    forward_int = not sys.stdin.isatty() if sys.stdin else True  # on a terminal Ctrl-C reaches the child itself

    def on_signal(signum: int, frame: Any) -> None:
        child = state["child"]
        if child is None:
            raise _Signalled(signum)  # still starting: unwind, the finally below removes what exists
        if signum != signal.SIGINT or forward_int:
            try:
                child.send_signal(signum)
            except ProcessLookupError:
                pass

    d = None
    with _handling_termination(on_signal):
        try:
            d = _start(args, owner="self")  # this process owns it: if it is killed, `dind prune` removes it
            env = {**os.environ, **d.env}
            if args.no_tls:
                for k in ("DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH"):
                    env.pop(k, None)
            try:
                state["child"] = subprocess.Popen(cmd, env=env)
            except FileNotFoundError:
                _error("run", f"command not found: {cmd[0]}")
                return 127  # the shell's status for a missing command
            except PermissionError:
                _error("run", f"command not executable: {cmd[0]}")
                return 126
            while True:
                try:
                    code = state["child"].wait()
                    break
                except _Signalled:  # pragma: no cover - handlers do not raise once the child runs
                    continue
            return 128 - code if code < 0 else code
        except _Signalled as s:
            return 128 + s.signum
        finally:
            if d is not None:
                _progress(f"removing {d.name} ...")
                d.close()


def _job_env(text: str) -> str:
    """``KEY=VALUE``, or a bare ``KEY`` taken from this environment (as ``docker run -e KEY`` does)."""
    if text.startswith("="):
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE or KEY, got {text!r}")
    return text


def cmd_job(args: argparse.Namespace) -> int:
    cmd = _command_after_dashes(args, "give the job's command after --, e.g. dind job -- docker version")
    env: List[str] = []
    for item in args.env:
        if "=" in item:
            env.append(item)
        elif item in os.environ:
            env.append(f"{item}={os.environ[item]}")
    if args.host_socket and args.load:
        _usage(args.parser, "--load loads images into the dind sidecar; with --host-socket there is none")

    def on_signal(signum: int, frame: Any) -> None:
        raise _Signalled(signum)  # unwinds Job.run, which kills the job and removes what it made

    with _handling_termination(on_signal):
        try:
            from . import errors
            from .job import Job

            job = Job(cmd, image=args.image, environment=env, workdir=args.workdir, workspace=args.workspace,
                      mode="socket" if args.host_socket else "dind", dind_image=args.dind_image,
                      start_timeout=args.timeout, load_images=tuple(args.load),
                      allow_host_socket=args.host_socket, name=args.name)
            wiring = "the host's Docker socket" if args.host_socket else f"a dind sidecar ({args.dind_image})"
            _progress(f"running job {job.name} ({args.image}) with {wiring} ...")
            try:
                return job.run(stream=True)
            except errors.DockerException as e:
                first, _, rest = str(e).partition("\n")
                _error("job", first)
                if rest.strip():
                    sys.stderr.write(rest.rstrip("\n") + "\n")
                return 1
        except _Signalled as s:
            return 128 + s.signum


# -- parser and entry point ---------------------------------------------------------------------------------------
def _version() -> str:
    from . import __version__

    return __version__


def build_parser() -> argparse.ArgumentParser:
    fmt = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0], formatter_class=fmt,
                                     epilog="Run `dind COMMAND --help` for the options of a command.")
    parser.add_argument("--version", action="version", version=f"{PROG} {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser("up", help="start a daemon and print its environment",
                       description="Start a throwaway dind daemon that stays up after this command, owned by the "
                                   "calling shell, and print `export` lines for it: eval \"$(dind up)\". Through "
                                   "the tunnel (--reach tunnel, or where no address reaches it) DOCKER_HOST is a "
                                   "unix socket that a forwarder process serves until `dind down`.")
    _daemon_options(p)
    p.set_defaults(func=cmd_up)

    p = sub.add_parser("env", help="print a daemon's environment as export lines",
                       description="Print DOCKER_HOST, DOCKER_TLS_VERIFY and DOCKER_CERT_PATH of a running daemon "
                                   "as `export` lines: eval \"$(dind env NAME)\".")
    p.add_argument("name", help="daemon name or container id")
    p.set_defaults(func=cmd_env)

    p = sub.add_parser("ls", help="list the daemons on the engine",
                       description="List the dind daemons on the engine (all sessions, any state).")
    p.add_argument("-q", "--quiet", action="store_true", help="only names")
    p.add_argument("--json", action="store_true", help="JSON output")
    p.set_defaults(func=cmd_ls)

    p = sub.add_parser("down", help="remove daemons",
                       description="Remove daemons: container (killed), its volumes and its client certificates.")
    p.add_argument("names", nargs="*", metavar="NAME", help="daemon name or container id")
    p.add_argument("--all", action="store_true",
                   help="remove everything dind made on the engine, of every session (live ones too)")
    p.set_defaults(func=cmd_down)

    p = sub.add_parser("prune", help="remove what dead or old sessions left behind",
                       description="Remove dind containers (with volumes), volumes and networks whose owner process "
                                   "is gone, and with --older-than also those older than that.")
    p.add_argument("--older-than", type=parse_duration, metavar="D",
                   help="also remove objects older than D (e.g. 30m, 2h, 1d), even of live owners")
    p.set_defaults(func=cmd_prune)

    # Started by `dind up` (Dind.keep()) for a daemon reached through the tunnel; not for people.
    p = sub.add_parser("_forward")
    p.add_argument("id")
    p.set_defaults(func=cmd_forward)

    p = sub.add_parser("run", help="up, run a command with the environment, down",
                       usage="dind run [daemon options] -- CMD [ARG ...]",
                       description="Start a daemon, run CMD with its environment, remove the daemon, and exit with "
                                   "CMD's status. Ctrl-C and SIGTERM are passed to CMD and still tear down.")
    _daemon_options(p)
    p.add_argument("cmd", nargs=argparse.REMAINDER, metavar="-- CMD", help="the command and its arguments")
    p.set_defaults(func=cmd_run, parser=p)

    p = sub.add_parser("job", help="run a CI job container wired to a dind sidecar (or the host socket)",
                       usage="dind job [options] -- CMD [ARG ...]",
                       description="Run CMD in a job container (its image needs a docker CLI) that reaches a "
                                   "throwaway dind sidecar as `docker` (DOCKER_HOST=tcp://docker:2376, TLS), or with "
                                   "--host-socket the host's Docker socket. The workspace is mounted at the same path "
                                   "in the job and the sidecar and is the job's working directory, so `docker run -v "
                                   "$PWD:...` and `docker build .` see its files. Output is streamed; everything is "
                                   "removed afterwards; the exit status is the job's.")
    p.add_argument("--image", default=os.environ.get("DIND_JOB_IMAGE") or "docker:cli",
                   help="job image, with a docker CLI (default: $DIND_JOB_IMAGE or docker:cli)")
    p.add_argument("--dind-image", default=os.environ.get("DIND_IMAGE") or "docker:dind",
                   help="sidecar image (default: $DIND_IMAGE or docker:dind)")
    p.add_argument("--host-socket", action="store_true",
                   help="give the job the host's Docker socket instead of a sidecar (it then controls the host's "
                        "daemon and can remove everything on it)")
    p.add_argument("--workspace", metavar="DIR",
                   help="host directory shared by the job and the sidecar at the same path")
    p.add_argument("--workdir", metavar="DIR", help="working directory in the job (default: the workspace)")
    p.add_argument("-e", "--env", action="append", default=[], type=_job_env, metavar="KEY[=VALUE]",
                   help="job environment, repeatable; a bare KEY takes this environment's value")
    p.add_argument("--load", action="append", default=[], metavar="IMAGE",
                   help="image of the outer engine to load into the sidecar, repeatable")
    p.add_argument("--name", help="job container name (default: dind-job-<random>)")
    p.add_argument("--timeout", type=_seconds, default=60.0, help="sidecar start timeout in seconds (default: 60)")
    p.add_argument("cmd", nargs=argparse.REMAINDER, metavar="-- CMD", help="the command and its arguments")
    p.set_defaults(func=cmd_job, parser=p)
    return parser


def _usage(parser: argparse.ArgumentParser, message: str) -> NoReturn:
    parser.error(message)  # exits 2
    raise AssertionError("unreachable")


def _error(command: Optional[str], message: str) -> None:
    where = f"{PROG} {command}" if command else PROG
    sys.stderr.write(f"{where}: error: {message}\n")
    sys.stderr.flush()


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of the ``dind`` console script and ``python -m dind``; returns the exit status."""
    args = build_parser().parse_args(argv)
    from . import errors

    try:
        return int(args.func(args) or 0)
    except CliError as e:
        _error(args.command, str(e))
        return 1
    except errors.DaemonStartError as e:
        _error(args.command, str(e).splitlines()[0] if str(e) else "the daemon did not start")
        if e.log_tail.strip():
            sys.stderr.write("--- last lines of the daemon's log ---\n" + e.log_tail.rstrip("\n") + "\n")
        return 1
    except errors.DockerException as e:
        _error(args.command, " ".join(str(e).split()) or type(e).__name__)
        return 1
    except KeyboardInterrupt:
        sys.stderr.write("\n")
        return 130
    except BrokenPipeError:  # e.g. `dind ls | head`
        return 0
    except ImportError as e:  # the extension is missing or broken: say so in one line
        _error(args.command, f"cannot load dind's extension: {e}")
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
