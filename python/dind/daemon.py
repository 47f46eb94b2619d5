"""``dind.Dind``: a throwaway Docker daemon in a privileged docker:dind container, torn down with its volumes."""
from __future__ import annotations

import atexit
import os
import signal
import sys
import threading
import time
import warnings
import weakref
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Protocol, Sequence, Tuple

from . import _core, errors
from .client import Client
from .errors import InsecureWarning, ReuseWarning


# Why plain TCP is worth a warning even on loopback: nothing authenticates a caller, and the daemon is root in a
# privileged container.
PLAIN_TCP_RISK = ("its API is plain TCP without authentication on a 127.0.0.1 port: any local user or process can "
                  "control it (and, when it runs privileged, the host)")


def _outer_core(client: Optional[Client]) -> Optional[_core.Client]:
    return None if client is None else client._api


class Dind:
    """A private Docker daemon, ready when the constructor returns.

    ``Dind(image="docker:dind")`` makes TLS certificates in-process, starts a privileged dind container with them
    (the entrypoint only verifies them), and waits until the container runs and ``GET /_ping`` answers over mutual
    TLS, dialled the way ``reach`` says (``"auto"``: decided from the engine and from where this process stands, see
    ``d.reach``; or ``"loopback"``, ``"network"``, ``"published"``, ``"tunnel"``). ``host`` (or ``$DIND_HOST``) names
    where a published port is dialled instead. Leaving a ``with`` block, ``close()``, interpreter exit and SIGTERM all remove the
    container with its volumes and delete the client certs; ``dind.reap()`` removes what killed processes left.
    ``tls=False`` (plain TCP on 2375) must be asked for and warns with ``InsecureWarning``.

    ``reuse="KEY"``: attach to the daemon an earlier run started with the same key and the same options (after a
    verified ping), else start one that outlives this process; ``close()`` leaves it running (``dind prune
    --reused`` ends it). ``cache="NAME"``: ``/var/lib/docker`` lives in volume NAME, kept after teardown, used by
    one daemon at a time (``dind cache ls/rm``).

    What the outer engine and the caller know is carried in, each with its opt-out: the engine's registry mirrors
    and insecure registries (``carry_registries``), the joined network's MTU below 1500 (``carry_mtu``), this
    process's proxies (``carry_proxy``), and ``$DOCKER_CONFIG/config.json``'s credentials for the dind image's pull
    (``credentials``); ``login=True`` also makes pulls through the daemon (``d.client``, ``d.env``'s CLI)
    authenticated.

    ``backend="kubernetes"``: the daemon runs in a pod of a cluster instead (``kubeconfig``, ``context`` and
    ``namespace`` found as kubectl finds them; ``node`` for a cluster without a scheduler; ``runtime_class`` instead
    of a privileged pod; ``resources={"requests": {...}, "limits": {...}}``), its certs in a Secret, reached through
    the API server; ``close()`` deletes pod and Secret.
    """

    def __init__(self, image: str = "docker:dind", *, privileged: bool = True, runtime: Optional[str] = None,
                 tls: bool = True, tls_san: Optional[Sequence[str]] = None, network: Optional[str] = None,
                 aliases: Optional[Sequence[str]] = None, host_port: int = 0, dockerd_args: Sequence[str] = (),
                 environment: Optional[Mapping[str, str]] = None, mounts: Sequence[str] = (),
                 name: Optional[str] = None, labels: Optional[Mapping[str, str]] = None, pull: str = "missing",
                 client: Optional[Client] = None, start_timeout: float = 60.0, owner: str = "self",
                 reach: str = "auto", host: Optional[str] = None, insecure_publish: bool = False,
                 reuse: Optional[str] = None, cache: Optional[str] = None,
                 carry_registries: bool = True, carry_mtu: bool = True, carry_proxy: bool = True,
                 credentials: bool = True, login: bool = False,
                 backend: str = "docker", kubeconfig: Optional[str] = None, context: Optional[str] = None,
                 namespace: Optional[str] = None, node: Optional[str] = None, runtime_class: Optional[str] = None,
                 resources: Optional[Mapping[str, Mapping[str, str]]] = None,
                 _core_daemon: Optional[_core.Daemon] = None, _cancel: Optional[_core.CancelFlag] = None) -> None:
        if _core_daemon is None:
            if not tls:
                warnings.warn(f"dind: starting a daemon without TLS (tls=False): {PLAIN_TCP_RISK}", InsecureWarning,
                              stacklevel=2)
            if owner not in _OWNERS:
                raise ValueError(f"owner must be 'self', 'parent' or 'session', not {owner!r}")
            options = _core.DaemonOptions(
                image=image, privileged=privileged, runtime=runtime or "", tls=tls,
                tls_sans=[tls_san] if isinstance(tls_san, str) else list(tls_san or ()), network=network or "",
                aliases=list(aliases or ()), host_port=host_port, dockerd_args=list(dockerd_args),
                env={str(k): str(v) for k, v in (environment or {}).items()}, mounts=list(mounts), name=name or "",
                labels=dict(labels or {}), pull=_core.PullPolicy(pull), outer=_outer_core(client), start_timeout=float(start_timeout),
                owner=_OWNERS[owner](),
                reach=_core.ReachKind(reach), host=host or "", insecure_publish=insecure_publish, reuse=reuse or "",
                cache=cache or "", carry_registries=carry_registries, carry_mtu=carry_mtu, carry_proxy=carry_proxy,
                credentials=credentials, login=login, backend=_core.Backend(backend),
                kube=_core.KubeOptions(
                    kubeconfig=kubeconfig or "", context=context or "", namespace=namespace or "", node=node or "",
                    runtime_class=runtime_class or "",
                    requests={str(k): str(v) for k, v in (resources or {}).get("requests", {}).items()},
                    limits={str(k): str(v) for k, v in (resources or {}).get("limits", {}).items()}))
            # Before anything exists: a SIGTERM during this very start must still tear it down.
            _install_handlers()
            _core_daemon = _start(options, _cancel)
        self._d: _core.Daemon = _core_daemon
        self._backend = backend
        self._client = Client(_core_client=self._d.client)
        self._kept = False
        _install_handlers()
        _live.add(self)
        if self._d.reuse_note:
            warnings.warn(f"dind: reuse key {reuse!r}: {self._d.reuse_note}; "
                          f"{'attached to' if self._d.reused else 'started'} {self.name}", ReuseWarning, stacklevel=2)
        if reuse:
            self.keep()  # for the next run (a tunnel's CLI socket gets a forwarder of its own)

    @classmethod
    def attach(cls, name_or_id: str, client: Optional[Client] = None) -> "Dind":
        """A handle on a running daemon made by dind (another process's, e.g. ``dind up``). It is kept: ``close()``
        leaves it running unless called with ``force=True``."""
        d = cls(_core_daemon=_core.Daemon.attach(name_or_id, _outer_core(client)))
        d._kept = True
        return d

    # -- what a caller uses -------------------------------------------------------------------------------------
    @property
    def client(self) -> Client:
        """A ``dind.Client`` talking to this daemon over mutual TLS."""
        return self._client

    @property
    def env(self) -> Dict[str, str]:
        """``DOCKER_HOST``, ``DOCKER_TLS_VERIFY``, ``DOCKER_CERT_PATH``: what the docker CLI needs, as is."""
        return dict(self._d.env)

    @property
    def name(self) -> str:
        """The dind container's name."""
        return self._d.name

    @property
    def id(self) -> str:
        """The dind container's id."""
        return self._d.id

    @property
    def host(self) -> str:
        """What the client dials: ``tcp://127.0.0.1:PORT``, ``tcp://ADDRESS:2376``, ``tunnel://NAME/...``."""
        return self._d.host

    @property
    def reach(self) -> _core.Reach:
        """How the daemon is reached and why: ``.kind`` (``loopback``, ``network``, ``published``, ``tunnel``),
        ``.address`` and ``.reason``."""
        return self._d.reach

    @property
    def cert_path(self) -> str:
        """The private directory with ca.pem, cert.pem and key.pem (0600); removed on close."""
        return self._d.cert_path

    @property
    def dir(self) -> str:
        """The daemon's private directory (0700): the client certs (``cert_path``), the docker CLI's socket through
        a tunnel; removed on close."""
        return self._d.dir

    @property
    def timings(self) -> Dict[str, float]:
        """Seconds each start phase took: certs, create, start, ready, total."""
        return dict(self._d.timings)

    @property
    def reused(self) -> bool:
        """True when ``reuse=`` attached to a daemon an earlier run started."""
        return bool(self._d.reused)

    @property
    def closed(self) -> bool:
        """True once the daemon was removed."""
        return bool(self._d.removed)

    def logs(self, tail: int = 50) -> str:
        """The last ``tail`` lines of the dind container's log."""
        return self._d.logs(tail)

    def exec(self, cmd: Sequence[str]) -> Tuple[int, bytes]:
        """Runs ``cmd`` in the dind container; returns (exit code, output)."""
        if isinstance(cmd, str):
            cmd = ["sh", "-c", cmd]
        return self._d.exec(list(cmd))

    def load_images(self, names: Iterable[str], progress: Optional[Callable[[int], None]] = None) -> List[str]:
        """Streams ``names`` from the outer engine into this daemon (no registry, no temp file).

        On a terminal, progress is shown on stderr unless ``progress`` is given (called with bytes moved so far).
        """
        names = [names] if isinstance(names, str) else list(names)
        if progress is None and sys.stderr.isatty():
            progress = _TerminalProgress(f"loading {', '.join(names)} into {self.name}")
        try:
            return list(self._d.load_images(names, progress))
        finally:
            if isinstance(progress, _TerminalProgress):
                progress.done()

    def keep(self) -> None:
        """Leave the daemon (and its certs) running after ``close()`` and after this process exits.

        Through a tunnel, ``env`` names a socket that this process serves: a forwarder process is left behind to
        serve it on (``python -m dind _forward``); it ends when the daemon is removed (``dind down``, ``dind prune``).
        On the Kubernetes backend the pod stays but ``env``'s socket goes with this process (no forwarder finds a pod
        again yet).
        """
        self._kept = True
        self._d.keep(True)
        if self._d.reach.kind == "tunnel" and self._backend == "docker":
            _detach_forwarder(self)

    def close(self, graceful: Optional[float] = None, force: bool = False) -> None:
        """Removes the container with its volumes and deletes the certs. Idempotent.

        ``graceful``: stop it first, waiting that many seconds. A kept daemon stays unless ``force``.
        """
        if self._kept and not force:
            return
        self._d.keep(False)
        self._d.remove(graceful)
        _live.discard(self)

    def __enter__(self) -> "Dind":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else self.host
        return f"<dind.Dind {self.name} {state}>"


def _detach_forwarder(d: Dind, wait: float = 10.0) -> None:
    """Hands the docker CLI's socket of a tunnelled daemon to a process of its own that outlives this one."""
    import subprocess
    import time

    d._d.stop_forwarder()
    # It finds the engine as this process did (it inherits the environment: DOCKER_HOST, contexts).
    subprocess.Popen([sys.executable, "-m", "dind", "_forward", d.id], stdin=subprocess.DEVNULL,
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True, close_fds=True)
    probe = Client(d.env["DOCKER_HOST"], timeout=2)
    deadline = time.monotonic() + wait
    while True:
        try:
            probe.ping()
            return
        except Exception as e:  # noqa: BLE001 - not serving yet
            if time.monotonic() > deadline:
                raise errors.DockerException(
                    f"the forwarder for {d.name} did not serve {d.env['DOCKER_HOST']} within {wait:.0f} s: {e}"
                ) from None
            time.sleep(0.05)


# Whose death orphans a daemon (reap() then removes it): this process, its parent, or its session's leader (what must
# outlive the command that started it: `dind up`, `--dind-keep`; the parent when there is no leader to name).
_OWNERS: Dict[str, Callable[[], _core.Owner]] = {
    "self": lambda: _core.Owner.this_process(),
    "parent": lambda: _core.Owner.parent_process(),
    "session": lambda: _core.Owner.session_leader() or _core.Owner.parent_process(),
}


class _TerminalProgress:
    """Bytes moved, rewritten in place on a terminal."""

    def __init__(self, what: str) -> None:
        self.what = what

    def __call__(self, moved: int) -> None:
        sys.stderr.write(f"\r{self.what}: {moved / 1e6:.1f} MB")
        sys.stderr.flush()

    def done(self) -> None:
        sys.stderr.write("\n")


def reap(older_than: Optional[float] = None, everything: bool = False,
         client: Optional[Client] = None, reused: bool = False, backend: str = "docker",
         kubeconfig: Optional[str] = None, context: Optional[str] = None,
         namespace: Optional[str] = None) -> Dict[str, List[str]]:
    """Removes dind's containers (with volumes), volumes, networks and private directories (certs, CLI sockets) whose
    owner process is gone, or older than ``older_than`` seconds (or all of them with ``everything``); daemons started
    with ``reuse=`` only with ``reused`` or ``older_than``; caches never. Returns what was removed:
    ``{"containers": [...], "volumes": [...], "networks": [...], "dirs": [...]}``.
    ``backend="kubernetes"``: the pods and Secrets in the namespace instead (``{"pods", "secrets", "dirs"}``)."""
    if _core.Backend(backend) == _core.Backend.kubernetes:
        kube = _core.KubeOptions(kubeconfig=kubeconfig or "", context=context or "", namespace=namespace or "")
        return dict(_core.reap_kubernetes(kube, older_than, everything))
    return dict(_core.reap(_outer_core(client), older_than, everything, reused))


def list_caches(client: Optional[Client] = None) -> List[Dict[str, Any]]:
    """The layer caches (``Dind(cache=NAME)`` volumes) on the engine: name, created, users, mountpoint."""
    return list(_core.list_caches(_outer_core(client)))


def remove_cache(name: str, client: Optional[Client] = None) -> bool:
    """Removes layer cache ``name``; False if there is none. Refused while a container uses it."""
    return bool(_core.remove_cache(_outer_core(client), name))


def list_daemons(client: Optional[Client] = None) -> List[Dict[str, Any]]:
    """The dind daemons on the engine, oldest first: name, id, host, reach, reason, status, session, owner_pid,
    created."""
    return list(_core.Daemon.list(_outer_core(client)))


class Starting:
    """A ``Dind(**kwargs)`` started on a thread of its own (after ``before()``, e.g. a reap), so that the caller goes
    on meanwhile: ``result()`` waits for it and returns the daemon or raises the start's own error, ``cancel()``
    abandons it and removes whatever it made. Make it on the main thread: the SIGTERM handler is installed first, and
    a SIGTERM (or interpreter exit) while it runs cancels it before the process goes."""

    def __init__(self, kwargs: Mapping[str, Any], before: Optional[Callable[[], None]] = None) -> None:
        _install_handlers()
        self._kwargs = dict(kwargs)
        self._before = before
        self._flag = _core.CancelFlag()
        self._dind: Optional[Dind] = None
        self._error: Optional[BaseException] = None
        self.started = time.monotonic()
        self.seconds: Optional[float] = None  # how long the whole start took (before() included), once done
        # Not a daemon thread: the interpreter waits for it at exit (then atexit closes what it made).
        self._thread = threading.Thread(target=self._run, name="dind-start", daemon=False)
        _background.add(self)
        self._thread.start()

    def _run(self) -> None:
        try:
            if self._before is not None:
                self._before()
            if not self._flag.is_set:
                self._dind = Dind(**self._kwargs, _cancel=self._flag)
        except BaseException as e:  # noqa: BLE001 - handed to whoever calls result()
            self._error = e
        finally:
            self.seconds = time.monotonic() - self.started

    @property
    def done(self) -> bool:
        """True once the start finished (ready, failed or cancelled)."""
        return not self._thread.is_alive()

    def result(self) -> Dind:
        """Waits for the start; the daemon, or the start's error (re-raised here, on the caller's thread)."""
        self._thread.join()
        _background.discard(self)
        if self._flag.is_set and self._dind is None:
            raise errors.DaemonStartError(f"starting a daemon ({self._kwargs.get('image', 'docker:dind')}) was "
                                          "cancelled", "")
        if self._error is not None:
            raise self._error
        assert self._dind is not None
        return self._dind

    def cancel(self) -> None:
        """Abandons the start and waits until what it made is removed (a daemon already up is closed). Idempotent."""
        self._flag.set()
        self._thread.join()
        _background.discard(self)
        if self._dind is not None:
            self._dind.close(force=True)


_background: "weakref.WeakSet[Starting]" = weakref.WeakSet()  # starts in progress on their own threads


# -- teardown at exit and on SIGTERM ------------------------------------------------------------------------------
class _Closable(Protocol):
    """What is closed at exit and on SIGTERM: daemons and jobs."""

    def close(self) -> None: ...


_live: "weakref.WeakSet[_Closable]" = weakref.WeakSet()
_lock = threading.Lock()


def _close_all() -> None:
    with _lock:
        for d in list(_live):
            try:
                d.close()
            except Exception:  # noqa: BLE001 - best effort at exit; reap() catches the rest
                pass


class _Terminated(BaseException):
    """SIGTERM during a start on the main thread: unwinds it (the core removes what it made), then the process dies."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


_starting = 0  # starts in progress on the main thread, where the SIGTERM handler runs


def _start(options: _core.DaemonOptions, cancel: Optional[_core.CancelFlag] = None) -> _core.Daemon:
    """``_core.Daemon.start``, abandoned (and cleaned up by the core) when SIGTERM arrives meanwhile."""
    global _starting
    main = threading.current_thread() is threading.main_thread()
    if main:
        _starting += 1
    try:
        return _core.Daemon.start(options, cancel)
    except _Terminated as t:
        _die_of(t.signum)
        raise
    finally:
        if main:
            _starting -= 1


def _on_sigterm(signum: int, frame: Any) -> None:
    if _starting:
        raise _Terminated(signum)  # the start's worker sees the handler raise and cancels it
    _die_of(signum)


def _die_of(signum: int) -> None:
    """Abandons the starts in progress on other threads (each removes what it made), closes every daemon, then dies of
    the signal as if it had not been caught (the parent sees the usual status)."""
    for starting in list(_background):
        starting.cancel()
    _close_all()
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


_handlers_installed = False


def _install_handlers() -> None:
    """On the first daemon: clean up at exit, and on SIGTERM unless the program handles SIGTERM itself."""
    global _handlers_installed
    if _handlers_installed:
        return
    _handlers_installed = True
    atexit.register(_close_all)
    if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _on_sigterm)
