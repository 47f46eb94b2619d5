"""The dind command: start, inspect and remove throwaway Docker-in-Docker daemons from a shell or CI script.

  eval "$(dind up --name ci)"        # start one; prints `export DOCKER_HOST=...` lines
  dind env ci                        # the same lines again, for another shell
  dind ls                            # what is running
  dind down ci                       # remove it (container, volumes, certs)
  dind prune --older-than 2h         # remove what dead or old sessions left behind
  dind up --reuse ci --cache layers  # the same daemon across runs; images kept in a volume across daemons
  dind cache ls                      # the layer caches, and who uses them
  dind run --load busybox -- make test   # up, run the command with the env, down; exits with its status
  dind job --workspace "$PWD" -- docker build .   # a job container beside a dind sidecar reached as `docker`

Long steps show progress on stderr when it is a terminal and stay quiet in logs. Errors are one line on stderr and
exit status 1 (2 for usage errors).
"""
from __future__ import annotations

import argparse
import os
import sys
from typing import Optional, Sequence

from .common import PROG, CliError, error, export_lines, parse_duration, seconds, session_leader_labels, usage
from .caches import cmd_cache_ls, cmd_cache_rm
from .daemons import add_daemon_options, cmd_down, cmd_env, cmd_forward, cmd_ls, cmd_prune, cmd_up
from .running import cmd_job, cmd_run, job_env

__all__ = ["CliError", "build_parser", "export_lines", "main", "parse_duration", "session_leader_labels", "usage"]


def _version() -> str:
    from .. import __version__

    return __version__


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the dind command, with every subcommand."""
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
    add_daemon_options(p)
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
                   help="also remove objects older than D (e.g. 30m, 2h, 1d), even of live owners (reused too)")
    p.add_argument("--reused", action="store_true",
                   help="also remove the daemons kept for reuse (--reuse), which outlive their owners by design")
    p.set_defaults(func=cmd_prune)

    p = sub.add_parser("cache", help="list or remove layer caches (--cache volumes)",
                       description="Layer caches: volumes that hold a daemon's /var/lib/docker (--cache NAME) and "
                                   "outlive it. `dind prune` never removes them.")
    cache = p.add_subparsers(dest="cache_command", metavar="ACTION")
    cache.required = True
    c = cache.add_parser("ls", help="list the caches on the engine")
    c.add_argument("--json", action="store_true", help="JSON output")
    c.set_defaults(func=cmd_cache_ls)
    c = cache.add_parser("rm", help="remove caches (refused while a daemon uses one)")
    c.add_argument("names", nargs="+", metavar="NAME", help="cache name")
    c.set_defaults(func=cmd_cache_rm)

    # Started by `dind up` (Dind.keep()) for a daemon reached through the tunnel; not for people.
    p = sub.add_parser("_forward")
    p.add_argument("id")
    p.set_defaults(func=cmd_forward)

    p = sub.add_parser("run", help="up, run a command with the environment, down",
                       usage="dind run [daemon options] -- CMD [ARG ...]",
                       description="Start a daemon, run CMD with its environment, remove the daemon, and exit with "
                                   "CMD's status. Ctrl-C and SIGTERM are passed to CMD and still tear down.")
    add_daemon_options(p)
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
    p.add_argument("-e", "--env", action="append", default=[], type=job_env, metavar="KEY[=VALUE]",
                   help="job environment, repeatable; a bare KEY takes this environment's value")
    p.add_argument("--load", action="append", default=[], metavar="IMAGE",
                   help="image of the outer engine to load into the sidecar, repeatable")
    p.add_argument("--name", help="job container name (default: dind-job-<random>)")
    p.add_argument("--timeout", type=seconds, default=60.0, help="sidecar start timeout in seconds (default: 60)")
    p.add_argument("cmd", nargs=argparse.REMAINDER, metavar="-- CMD", help="the command and its arguments")
    p.set_defaults(func=cmd_job, parser=p)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of the ``dind`` console script and ``python -m dind``; returns the exit status."""
    args = build_parser().parse_args(argv)
    from .. import errors

    try:
        return int(args.func(args) or 0)
    except CliError as e:
        error(args.command, str(e))
        return 1
    except errors.DaemonStartError as e:
        error(args.command, str(e).splitlines()[0] if str(e) else "the daemon did not start")
        if e.log_tail.strip():
            sys.stderr.write("--- last lines of the daemon's log ---\n" + e.log_tail.rstrip("\n") + "\n")
        return 1
    except errors.DockerException as e:
        error(args.command, " ".join(str(e).split()) or type(e).__name__)
        return 1
    except KeyboardInterrupt:
        sys.stderr.write("\n")
        return 130
    except BrokenPipeError:  # e.g. `dind ls | head`
        return 0
    except ImportError as e:  # the extension is missing or broken: say so in one line
        error(args.command, f"cannot load dind's extension: {e}")
        return 1
