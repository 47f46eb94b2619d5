"""The commands about daemons: up, env, ls, down, prune (and _forward, what a tunnelled `dind up` leaves serving)."""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from typing import Any, Dict, Mapping, Optional, Sequence

from .common import (PROG, CliError, age, engine_client, error, export_lines, key_value, locate, port_number,
                     progress, recorded_engines, seconds)

def add_daemon_options(p: argparse.ArgumentParser) -> None:
    """The options of ``dind up`` and ``dind run`` that shape the daemon (image, TLS, reach, ...)."""
    g = p.add_argument_group("daemon options")
    g.add_argument("--name", help="container name (default: dind-<random>)")
    g.add_argument("--image", default=os.environ.get("DIND_IMAGE") or "docker:dind",
                   help="dind image (default: $DIND_IMAGE or docker:dind)")
    g.add_argument("--no-tls", action="store_true",
                   help="plain TCP on 2375 (started with --tls=false) instead of mutual TLS on 2376: no "
                        "authentication, any local process can control the daemon (warns on stderr)")
    g.add_argument("--port", type=port_number, default=0, help="host port to publish (default: 0, a free one)")
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
    g.add_argument("--env", action="append", default=[], type=key_value, metavar="KEY=VALUE",
                   help="environment of the dind container, repeatable")
    g.add_argument("--mount", action="append", default=[], metavar="SRC:DST[:ro]",
                   help="a host path (which must exist) or volume mounted into the dind container, repeatable")
    g.add_argument("--label", action="append", default=[], type=key_value, metavar="KEY=VALUE",
                   help="extra container label, repeatable")
    g.add_argument("--pull", choices=("missing", "always", "never"), default="missing",
                   help="when to pull the image (default: missing)")
    g.add_argument("--load", action="append", default=[], metavar="IMAGE",
                   help="image of the outer engine to load into the daemon, repeatable")
    g.add_argument("--no-carry-registries", action="store_true",
                   help="do not carry the outer engine's registry mirrors and insecure registries")
    g.add_argument("--no-carry-mtu", action="store_true",
                   help="do not carry the MTU of the network the daemon joins (carried when below 1500)")
    g.add_argument("--no-carry-proxy", action="store_true", help="do not carry HTTP_PROXY/HTTPS_PROXY/NO_PROXY")
    g.add_argument("--no-credentials", action="store_true",
                   help="pull the dind image without $DOCKER_CONFIG/config.json's credentials")
    g.add_argument("--login", action="store_true",
                   help="pulls through the daemon use those credentials too (env's DOCKER_CONFIG)")
    g.add_argument("--timeout", type=seconds, default=60.0, help="start timeout in seconds (default: 60)")
    g.add_argument("--reuse", metavar="KEY",
                   help="attach to the daemon that an earlier run started with this key and the same options, or "
                        "start one that stays for the next run (ended by `dind prune --reused` or `dind down`)")
    g.add_argument("--cache", metavar="NAME",
                   help="keep /var/lib/docker in volume NAME after the daemon goes, for the next daemon (one daemon "
                        "at a time; see `dind cache ls`)")
    k = p.add_argument_group("on a Kubernetes cluster")
    k.add_argument("--kubernetes", action="store_true",
                   help="run the daemon as a pod on a cluster (kubeconfig found as kubectl finds it), reached "
                        "through the API server")
    k.add_argument("--kubeconfig", metavar="FILE", help="kubeconfig file (default: $KUBECONFIG, ~/.kube/config)")
    k.add_argument("--context", help="kubeconfig context (default: its current-context)")
    k.add_argument("--namespace", help="namespace (default: the context's)")
    k.add_argument("--node", help="spec.nodeName, for a cluster without a scheduler")
    k.add_argument("--runtime-class", metavar="NAME", help="runtimeClassName instead of a privileged pod")


def start_daemon(args: argparse.Namespace, owner: str) -> Any:
    """Starts a daemon from the parsed options (progress on a terminal) and loads the requested images."""
    from ..daemon import PLAIN_TCP_RISK, Dind
    from ..errors import InsecureWarning, ReuseWarning

    kwargs: Dict[str, Any] = {
        "tls": not args.no_tls, "host_port": args.port, "dockerd_args": tuple(args.dockerd_arg),
        "name": args.name, "pull": args.pull, "start_timeout": args.timeout, "owner": owner,
        "reach": args.reach, "host": args.host, "insecure_publish": args.insecure_publish,
        "reuse": args.reuse, "cache": args.cache,
        "carry_registries": not args.no_carry_registries, "carry_mtu": not args.no_carry_mtu,
        "carry_proxy": not args.no_carry_proxy, "credentials": not args.no_credentials, "login": args.login,
    }
    if args.runtime:
        kwargs.update(runtime=args.runtime, privileged=False)
    kube = {"kubeconfig": args.kubeconfig, "context": args.context, "namespace": args.namespace, "node": args.node,
            "runtime_class": args.runtime_class}
    if args.kubernetes:
        kwargs.update(backend="kubernetes", **{k: v for k, v in kube.items() if v})
    elif any(kube.values()):
        raise CliError("--kubeconfig, --context, --namespace, --node and --runtime-class need --kubernetes")
    if args.network:
        kwargs["network"] = args.network
    if args.env:
        kwargs["environment"] = dict(kv.split("=", 1) for kv in args.env)
    if args.mount:
        kwargs["mounts"] = tuple(args.mount)
    labels = dict(kv.split("=", 1) for kv in args.label)
    if labels:
        kwargs["labels"] = labels
    progress(f"starting a daemon ({args.image}) ...")
    with warnings.catch_warnings():
        if args.no_tls:
            # Always said, terminal or CI log, as one line of ours rather than in Python's warning format.
            sys.stderr.write(f"{PROG} {args.command}: warning: --no-tls: {PLAIN_TCP_RISK}\n")
            sys.stderr.flush()
            warnings.simplefilter("ignore", InsecureWarning)
        warnings.simplefilter("ignore", ReuseWarning)  # said below, as a line of ours
        d = Dind(args.image, **kwargs)
    if d._d.reuse_note:
        sys.stderr.write(f"{PROG} {args.command}: reuse key {args.reuse!r}: {d._d.reuse_note}\n")
    if d.reused:
        progress(f"{d.name} (reuse key {args.reuse!r}) answers on {d.host}: attached to it ({d.reach})")
    else:
        total = d.timings.get("total", 0.0)
        progress(f"{d.name} ready on {d.host} in {total:.2f} s ({d.reach})")
    if args.load:
        from .. import errors

        t0 = time.monotonic()
        try:
            loaded = d.load_images(args.load)  # shows its own progress on a terminal
        except errors.DockerException as e:
            d.close()
            raise CliError(f"loading {', '.join(args.load)} into {d.name} failed: {' '.join(str(e).split())}") from None
        progress(f"loaded {', '.join(loaded) or ', '.join(args.load)} in {time.monotonic() - t0:.2f} s")
    return d


def _attach(name: str) -> Any:
    from .. import errors
    from ..daemon import Dind

    engine, ident = locate(name)
    try:
        return Dind.attach(ident, client=engine)
    except errors.NotFound:
        raise CliError(f"no dind daemon named {name!r} on {engine.base_url} (see `dind ls`)") from None


def cmd_up(args: argparse.Namespace) -> int:
    # It outlives this command: the terminal session (or CI job) owns it, and `dind prune` removes it once that is
    # gone; without a session leader, the calling process does.
    """``dind up``: starts a daemon that outlives the command and prints its ``export`` lines."""
    if args.kubernetes:
        # Its CLI socket needs a forwarder that outlives this command, which finds the pod again by name: not yet.
        raise CliError("dind up --kubernetes is not supported yet: use `dind run --kubernetes -- COMMAND`, whose "
                       "command gets the daemon's environment")
    d = start_daemon(args, owner="session")
    try:
        d.keep()
    except BaseException:
        d.close()
        raise
    for line in export_lines(d.env):
        print(line)
    sys.stdout.flush()
    progress(f"remove it with: dind down {d.name}")
    return 0


def cmd_env(args: argparse.Namespace) -> int:
    """``dind env NAME``: the ``export`` lines of a running daemon."""
    d = _attach(args.name)
    for line in export_lines(d.env):
        print(line)
    return 0


def cmd_ls(args: argparse.Namespace) -> int:
    """``dind ls``: the dind daemons on the engine (and on the engines this user's daemons live on)."""
    from ..daemon import list_daemons

    from .. import errors

    daemons, ids = [], set()
    for i, engine in enumerate([engine_client()] + recorded_engines()):
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
    rows = [("NAME", "STATUS", "REACH", "HOST", "OWNER", "CREATED", "REUSE", "ENGINE")]
    for x in daemons:
        pid = int(x.get("owner_pid") or 0)
        owner = f"{pid}" if x.get("owner_alive", True) else f"{pid} (gone)"
        rows.append((x["name"], x.get("status", ""), x.get("reach") or "-", x.get("host") or "-", owner,
                     age(x.get("created", 0)), x.get("reuse") or "-", x["engine"]))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
    return 0


def cmd_down(args: argparse.Namespace) -> int:
    """``dind down NAME...``: removes daemons (container, volumes, private directory)."""
    if args.all:
        if args.names:
            raise CliError("give names or --all, not both")
        from ..daemon import reap

        names = _daemon_names()
        return _print_removed(reap(everything=True, client=engine_client()), names)
    if not args.names:
        raise CliError("name a daemon to remove (see `dind ls`), or use --all")
    from .. import _core, errors

    failed = 0
    for name in args.names:
        try:
            progress(f"removing {name} ...")
            engine, ident = locate(name)
            if not _core.remove_daemon(engine._api, ident):
                raise CliError(f"no dind daemon named {name!r} on {engine.base_url} (see `dind ls`)")
            print(f"removed {name}")
        except (CliError, errors.DockerException) as e:
            error("down", str(e))
            failed += 1
    return 1 if failed else 0


def cmd_forward(args: argparse.Namespace) -> int:
    """Serves a tunnelled daemon's docker CLI socket until the daemon is gone (what ``Dind.keep()`` leaves behind)."""
    from ..daemon import Dind

    d = Dind.attach(args.id)
    d._d.serve_cli()
    return 0


def _daemon_names() -> Dict[str, str]:
    """Container id → daemon name, to report removals by name (reap() reports ids)."""
    from ..daemon import list_daemons

    try:
        return {x["id"]: x["name"] for x in list_daemons(engine_client())}
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
    """``dind prune``: removes what dead (or old, or all) sessions left behind."""
    from ..daemon import reap

    names = _daemon_names()
    return _print_removed(reap(older_than=args.older_than, reused=args.reused, client=engine_client()), names)
