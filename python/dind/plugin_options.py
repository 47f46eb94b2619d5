"""The pytest plugin's command-line options (python/dind/pytest_plugin.py registers them) and how their values are
read: ``--dind-option KEY=VALUE`` takes any keyword of ``dind.Dind``'s signature, so new keywords need no change here."""
from __future__ import annotations

import argparse
import json
import os
from typing import Any, Dict, List

import pytest

from .cli.common import seconds


def _default_timeout() -> float:
    raw = os.environ.get("DIND_TIMEOUT", "")
    try:
        return float(raw) if raw else 60.0
    except ValueError:
        return 60.0


def _dind_keywords() -> List[str]:
    """The keywords ``dind.Dind`` takes (from its signature, so that new ones need no change here)."""
    import inspect

    from .daemon import Dind

    params = inspect.signature(Dind.__init__).parameters.values()
    return [p.name for p in params if p.name != "self" and not p.name.startswith("_")
            and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]


def _option_value(text: str) -> Any:
    """A command line's value: JSON lists/objects, true/false, null/none, ints, floats; anything else a str."""
    low = text.strip().lower()
    if text.strip()[:1] in ("[", "{"):
        try:
            return json.loads(text)
        except ValueError as e:
            raise argparse.ArgumentTypeError(f"not JSON: {text!r} ({e})") from None
    if low in ("true", "false"):
        return low == "true"
    if low in ("null", "none"):
        return None
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _dind_option(text: str) -> Any:
    """``KEY=VALUE`` -> (KEY, value) for ``dind.Dind(KEY=value)``; an unknown KEY is a usage error."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE (a dind.Dind keyword), not {text!r}")
    known = _dind_keywords()
    if key not in known:
        raise argparse.ArgumentTypeError(f"dind.Dind has no option {key!r} (known: {', '.join(known)})")
    try:
        return key, _option_value(raw)
    except argparse.ArgumentTypeError as e:
        raise argparse.ArgumentTypeError(f"{key}: {e}") from None


def add_options(parser: pytest.Parser) -> None:
    """--dind-image, --dind-keep, --dind-timeout, --dind-job-image, --dind-share, --dind-arg, --dind-option,
    --dind-backend, --dind-reuse, --dind-cache, --dind-lazy (and the ini option dind_lazy)."""
    group = parser.getgroup("dind", "throwaway Docker-in-Docker daemons")
    group.addoption("--dind-image", dest="dind_image", default=os.environ.get("DIND_IMAGE") or "docker:dind",
                    metavar="IMAGE", help="dind image for the fixtures (default: $DIND_IMAGE or docker:dind)")
    group.addoption("--dind-keep", dest="dind_keep", action="store_true", default=False,
                    help="leave the session daemon running after the run and print its environment; it belongs "
                         "to your terminal session (or CI job): remove it with `dind down NAME`, or `dind prune` "
                         "once that session is gone")
    group.addoption("--dind-job-image", dest="dind_job_image",
                    default=os.environ.get("DIND_JOB_IMAGE") or "docker:cli", metavar="IMAGE",
                    help="image of the dind_job fixture's jobs, with a docker CLI (default: $DIND_JOB_IMAGE or "
                         "docker:cli)")
    group.addoption("--dind-timeout", dest="dind_timeout", type=seconds, default=_default_timeout(),
                    metavar="SECONDS", help="start timeout of each daemon (default: $DIND_TIMEOUT or 60)")
    group.addoption("--dind-share", dest="dind_share", action="store_true", default=False,
                    help="with pytest-xdist: one session daemon for all workers (started by the controller) instead "
                         "of one per worker")
    group.addoption("--dind-arg", dest="dind_args", action="append", default=[], metavar="ARG",
                    help="a dockerd flag for the fixtures' daemons (repeatable), e.g. --dind-arg=--mtu=1400")
    group.addoption("--dind-option", dest="dind_options", action="append", default=[], type=_dind_option,
                    metavar="KEY=VALUE",
                    help="any dind.Dind keyword for the fixtures' daemons (repeatable); VALUE is read as JSON "
                         "list/object, true/false, null, a number, else a string, e.g. --dind-option tls_san='[\"a\"]'")
    group.addoption("--dind-backend", dest="dind_options", action="append", type=_backend, metavar="NAME",
                    help="where the fixtures' daemons run: docker (a container on the engine, the default) or "
                         "kubernetes (a pod; kubeconfig, context, namespace, node via --dind-option, else as kubectl "
                         "finds them)")
    group.addoption("--dind-reuse", dest="dind_reuse", nargs="?", const="", default=None, metavar="KEY",
                    help="the session daemon is kept for the next run and reused by it (same KEY and options; "
                         "default KEY: this project's directory); end it with `dind prune --reused`")
    group.addoption("--dind-cache", dest="dind_cache", default=None, metavar="NAME",
                    help="the session daemon keeps /var/lib/docker in volume NAME, kept for the next run "
                         "(`dind cache ls/rm`)")
    group.addoption("--dind-lazy", dest="dind_lazy", action="store_true", default=False,
                    help="start the session daemon when the first test needs it, instead of in the background "
                         "while tests are collected (also the ini option dind_lazy = true)")
    parser.addini("dind_lazy", type="bool", default=False,
                  help="dind: start the session daemon when the first test needs it (see --dind-lazy)")


def _backend(text: str) -> Any:
    """--dind-backend NAME as the (key, value) pair --dind-option gives: both land in the same list."""
    if text not in ("docker", "kubernetes"):
        raise argparse.ArgumentTypeError(f"the backend is docker or kubernetes, not {text!r}")
    return "backend", text


def reap_scope(defaults: Dict[str, Any]) -> Dict[str, Any]:
    """The keywords of dind.reap() that say where the fixtures' daemons live (the backend, the cluster's place)."""
    return {k: v for k, v in defaults.items() if k in ("backend", "kubeconfig", "context", "namespace")}


def background_start_wanted(config: pytest.Config) -> bool:
    """Before collection: whether this process will likely need a session daemon of its own."""
    if config.getoption("dind_lazy") or config.getini("dind_lazy") or config.getoption("collectonly"):
        return False
    if config.pluginmanager.has_plugin("dsession"):  # an xdist controller runs no tests (--dind-share: see below)
        return False
    return not (getattr(config, "workerinput", None) or {}).get("dind_shared")  # a worker attaching to the shared one


def session_reuse_and_cache(config: pytest.Config) -> Dict[str, str]:
    """``reuse``/``cache`` of the session daemon from --dind-reuse/--dind-cache. Per-worker daemons (pytest-xdist
    without --dind-share) get the worker's id appended: two daemons never share a cache, nor one reuse key."""
    import hashlib

    out: Dict[str, str] = {}
    worker = (getattr(config, "workerinput", None) or {}).get("workerid", "")
    suffix = f"-{worker}" if worker and not config.getoption("dind_share") else ""
    reuse = config.getoption("dind_reuse")
    if reuse is not None:
        root = str(config.rootpath)
        key = reuse or f"pytest-{os.path.basename(root) or 'root'}-{hashlib.sha256(root.encode()).hexdigest()[:8]}"
        out["reuse"] = key + suffix
    cache = config.getoption("dind_cache")
    if cache:
        out["cache"] = cache + suffix
    return out
