"""
dind's C++ core: the Docker Engine API client
"""
from __future__ import annotations
import builtins
import collections.abc
import datetime
import typing
__all__: list[str] = ['Archive', 'Backend', 'ByteStream', 'CancelFlag', 'Client', 'Containers', 'Daemon', 'DaemonOptions', 'DaemonRecord', 'ImageProgress', 'Images', 'Job', 'JobMode', 'JobOptions', 'JsonLines', 'KubeOptions', 'LABEL_CACHE', 'LABEL_CERT_PATH', 'LABEL_CREATED', 'LABEL_DIR', 'LABEL_NAME', 'LABEL_OWNER_CONTAINER', 'LABEL_OWNER_HOST', 'LABEL_OWNER_PID', 'LABEL_OWNER_START', 'LABEL_REACH', 'LABEL_REUSE', 'LABEL_REUSE_HASH', 'LABEL_SESSION', 'LABEL_TLS', 'MAX_API_VERSION', 'MIN_API_VERSION', 'Networks', 'OutputStream', 'Owner', 'PendingWait', 'PullPolicy', 'Reach', 'ReachKind', 'Streams', 'Volumes', 'WaitOptions', 'df', 'endpoint_from_env', 'list_caches', 'local_daemons', 'parse_repository_tag', 'progress_error', 'reap', 'reap_kubernetes', 'registry_of_image', 'remove_cache', 'remove_daemon', 'resolve_authconfig', 'session_id', 'wait_for']
class Client:
    """
    The core's Engine API client: version negotiation, the connection pool, typed errors.
    """
    @staticmethod
    def from_env(version: typing.Any = None, timeout: typing.Any = None, environ: collections.abc.Mapping[str, str] | None = None) -> Client:
        """
        A client for the engine the docker CLI would use: DOCKER_HOST (with DOCKER_TLS_VERIFY, DOCKER_CERT_PATH), else the current docker context (DOCKER_CONTEXT, else currentContext in $DOCKER_CONFIG/config.json); DOCKER_API_VERSION pins the version. `environ` (a dict) stands in for the process environment.
        """
    def __init__(self, base_url: str = 'unix:///var/run/docker.sock', tls: typing.Any = None, version: typing.Any = None, timeout: typing.Any = None) -> None:
        """
        A client of the engine at `base_url` (unix://, tcp://, ssh://); `tls` a dict (ca_cert, client_cert, verify, ...); `timeout` seconds per call (None: none).
        """
    def info(self) -> dict[str, typing.Any]:
        """
        GET /info as a dict.
        """
    def ping(self) -> str:
        """
        GET /_ping; returns "OK".
        """
    def request(self, method: str, path: str, query: typing.Any = None, body: typing.Any = None, headers: typing.Any = None, timeout: typing.Any = None) -> tuple[int, dict[str, str], bytes]:
        """
        A unary call on /v{api_version}{path}: (status, headers, body bytes). Error statuses raise APIError subclasses; dict/list bodies are sent as JSON; query values may be lists (repeated keys).
        """
    def version(self) -> dict[str, typing.Any]:
        """
        GET /version as a dict.
        """
    @property
    def api_version(self) -> str:
        """
        The API version in use (negotiated with the engine on first use unless pinned).
        """
    @property
    def base_url(self) -> str:
        """
        The engine's URL.
        """
    @property
    def idle_connections(self) -> int:
        """
        How many idle connections the pool holds.
        """
class Archive:
    """
    Container files: PUT/GET/HEAD /containers/{id}/archive and export.
    """
    def __init__(self, client: Client) -> None:
        """
        The archive endpoints of `client`.
        """
    def export(self, id: str, chunk_size: typing.SupportsInt | typing.SupportsIndex = 2097152) -> ByteStream:
        """
        GET /containers/{id}/export: the file system's tar as a ByteStream.
        """
    def get(self, id: str, path: str, chunk_size: typing.SupportsInt | typing.SupportsIndex = 2097152) -> tuple[ByteStream, dict[str, typing.Any]]:
        """
        (ByteStream of the tar, stat dict).
        """
    def put(self, id: str, path: str, data: typing.Any, no_overwrite_dir_non_dir: bool = False, copy_uid_gid: bool = False) -> bool:
        """
        Extracts a tar (bytes, a binary file object or an iterable of bytes, streamed) into `path`.
        """
    def put_file(self, id: str, path: str, tar_file: str) -> bool:
        """
        Extracts the tar file at `tar_file` (read by the core) into `path`.
        """
    def stat(self, id: str, path: str) -> dict[str, typing.Any]:
        """
        HEAD /containers/{id}/archive: the stat dict of `path` (name, size, mode, mtime, linkTarget).
        """
class ByteStream:
    """
    A streamed response body (archives, exports, image tars): iterate for bytes chunks, or read(n). close() from any thread ends it.
    """
    def __enter__(self) -> ByteStream:
        ...
    def __exit__(self, *args: typing.Any) -> bool:
        ...
    def __iter__(self) -> ByteStream:
        ...
    def __next__(self) -> bytes:
        ...
    def close(self) -> None:
        """
        Ends the stream (any thread).
        """
    def read(self, n: typing.SupportsInt | typing.SupportsIndex = -1) -> bytes:
        """
        Up to `n` bytes (all the rest if n < 0); b"" at the end.
        """
    @property
    def headers(self) -> dict[str, str]:
        """
        The response's headers.
        """
    @property
    def status(self) -> int:
        """
        The response's HTTP status.
        """
class ImageProgress:
    """
    A JSON-lines progress stream (pull, push, load, import, build). An errorDetail line raises StreamError naming the operation, unless raise_on_error(False).
    """
    def __enter__(self) -> ImageProgress:
        ...
    def __exit__(self, *args: typing.Any) -> bool:
        ...
    def __iter__(self) -> ImageProgress:
        ...
    def __next__(self) -> typing.Any:
        ...
    def close(self) -> None:
        """
        Ends the stream (any thread).
        """
    def raise_on_error(self, on: bool) -> None:
        """
        Whether an errorDetail line raises StreamError (the default) or is passed on.
        """
    def read_all(self) -> builtins.list[dict[str, typing.Any]]:
        """
        Every remaining message, as dicts.
        """
    @property
    def context(self) -> str:
        """
        What the stream is of, for messages.
        """
class PendingWait:
    """
    A wait the engine has registered; result() blocks for it.
    """
    def close(self) -> None:
        """
        Gives up on the wait (any thread).
        """
    def result(self, timeout: typing.SupportsFloat | typing.SupportsIndex | None = None, what: str = 'waiting for the container') -> dict[str, typing.Any]:
        """
        {'StatusCode': n, 'Error': ...} once the engine answers; `timeout` (seconds) raises TimeoutError.
        """
class Containers:
    """
    The /containers endpoints (non-streaming).
    """
    def __init__(self, client: Client) -> None:
        """
        The container endpoints of `client`.
        """
    def begin_wait(self, id: str, condition: typing.Any = None) -> PendingWait:
        """
        Registers a wait (e.g. next-exit before start).
        """
    def changes(self, id: str) -> typing.Any:
        """
        GET /containers/{id}/changes: [{'Path', 'Kind'}], or None when nothing changed.
        """
    def create(self, config: typing.Any, name: typing.Any = None, platform: typing.Any = None) -> dict[str, typing.Any]:
        """
        POST /containers/create with the whole JSON body; returns {'Id', 'Warnings'}.
        """
    def inspect(self, id: str, size: bool = False) -> dict[str, typing.Any]:
        """
        GET /containers/{id}/json (with SizeRw and SizeRootFs when `size`).
        """
    def kill(self, id: str, signal: typing.Any = None) -> None:
        """
        POST /containers/{id}/kill with `signal` (a name or a number; SIGKILL).
        """
    def list(self, all: bool = False, filters: typing.Any = None, limit: typing.SupportsInt | typing.SupportsIndex = -1, size: bool = False) -> builtins.list[dict[str, typing.Any]]:
        """
        GET /containers/json: the containers (running ones unless `all`), filters in docker-py's shape.
        """
    def logs_all(self, id: str, stdout: bool = True, stderr: bool = True, timestamps: bool = False, tail: typing.Any = None, since: typing.SupportsInt | typing.SupportsIndex | None = None, until: typing.SupportsInt | typing.SupportsIndex | None = None, follow: bool = False, demux: bool = True, tty: bool | None = None) -> tuple[bytes, bytes]:
        """
        The whole log as (stdout bytes, stderr bytes); with demux=False everything is in the first, in order.
        """
    def pause(self, id: str) -> None:
        """
        POST /containers/{id}/pause.
        """
    def prune(self, filters: typing.Any = None) -> dict[str, typing.Any]:
        """
        POST /containers/prune; returns {'ContainersDeleted': [...], 'SpaceReclaimed': n}.
        """
    def remove(self, id: str, force: bool = False, v: bool = False, link: bool = False) -> None:
        """
        DELETE /containers/{id} (`force`: kill it first; `v`: with its anonymous volumes).
        """
    def rename(self, id: str, name: str) -> None:
        """
        POST /containers/{id}/rename.
        """
    def resize(self, id: str, height: typing.SupportsInt | typing.SupportsIndex, width: typing.SupportsInt | typing.SupportsIndex) -> None:
        """
        POST /containers/{id}/resize: the TTY's size.
        """
    def restart(self, id: str, timeout: typing.SupportsInt | typing.SupportsIndex | None = None) -> None:
        """
        POST /containers/{id}/restart.
        """
    def start(self, id: str) -> bool:
        """
        POST /containers/{id}/start; False if it was already running (304).
        """
    def stats(self, id: str, one_shot: bool = False) -> dict[str, typing.Any]:
        """
        GET /containers/{id}/stats?stream=false: one sample as a dict.
        """
    def stop(self, id: str, timeout: typing.SupportsInt | typing.SupportsIndex | None = None) -> bool:
        """
        POST /containers/{id}/stop (waiting `timeout` seconds before the kill); False if it was already stopped (304).
        """
    def top(self, id: str, ps_args: typing.Any = None) -> dict[str, typing.Any]:
        """
        GET /containers/{id}/top: {'Titles': [...], 'Processes': [[...]]}.
        """
    def unpause(self, id: str) -> None:
        """
        POST /containers/{id}/unpause.
        """
    def update(self, id: str, config: typing.Any) -> dict[str, typing.Any]:
        """
        POST /containers/{id}/update with the JSON body `config`; returns {'Warnings'}.
        """
    def wait(self, id: str, condition: typing.Any = None) -> dict[str, typing.Any]:
        """
        POST /containers/{id}/wait: {'StatusCode': n, 'Error': ...}; blocks with no total timeout.
        """
class Owner:
    """
    A process whose death orphans what dind made for it (pid and start time).
    """
    @staticmethod
    def parent_process() -> Owner:
        """
        This process's parent.
        """
    @staticmethod
    def session_leader() -> Owner | None:
        """
        This process's session leader (or the ancestor standing in for it), None when there is none.
        """
    @staticmethod
    def this_process() -> Owner:
        """
        This process.
        """
    def alive(self) -> bool:
        """
        False once this machine can tell the process is gone.
        """
    @property
    def host(self) -> str:
        """
        The machine it runs on.
        """
    @property
    def pid(self) -> int:
        """
        The process id.
        """
    @property
    def start(self) -> str:
        """
        The process's start time (what tells a reused pid apart).
        """
class PullPolicy:
    """
    When Daemon.start() pulls the dind image: missing, always or never.
    
    Members:
    
      missing
    
      always
    
      never
    """
    __members__: typing.ClassVar[dict[str, PullPolicy]]
    always: typing.ClassVar[PullPolicy]
    missing: typing.ClassVar[PullPolicy]
    never: typing.ClassVar[PullPolicy]
    @typing.overload
    def __eq__(self, other: PullPolicy) -> bool:
        ...
    @typing.overload
    def __eq__(self, other: typing.Any) -> bool:
        ...
    def __getstate__(self) -> int:
        ...
    def __hash__(self) -> int:
        ...
    def __index__(self) -> int:
        ...
    @typing.overload
    def __init__(self, value: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @typing.overload
    def __init__(self, name: str) -> None:
        ...
    def __int__(self) -> int:
        ...
    @typing.overload
    def __ne__(self, other: PullPolicy) -> bool:
        ...
    @typing.overload
    def __ne__(self, other: typing.Any) -> bool:
        ...
    def __repr__(self) -> str:
        ...
    def __setstate__(self, state: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def __str__(self) -> str:
        """
        The name, as the core writes it ("auto", "missing", ...).
        """
    @property
    def name(self) -> str:
        ...
    @property
    def value(self) -> int:
        ...
class ReachKind:
    """
    How a daemon is dialled: auto (decided from where this process stands), or one kind.
    
    Members:
    
      auto
    
      loopback
    
      network
    
      published
    
      tunnel
    """
    __members__: typing.ClassVar[dict[str, ReachKind]]
    auto: typing.ClassVar[ReachKind]
    loopback: typing.ClassVar[ReachKind]
    network: typing.ClassVar[ReachKind]
    published: typing.ClassVar[ReachKind]
    tunnel: typing.ClassVar[ReachKind]
    @typing.overload
    def __eq__(self, other: ReachKind) -> bool:
        ...
    @typing.overload
    def __eq__(self, other: typing.Any) -> bool:
        ...
    def __getstate__(self) -> int:
        ...
    def __hash__(self) -> int:
        ...
    def __index__(self) -> int:
        ...
    @typing.overload
    def __init__(self, value: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @typing.overload
    def __init__(self, name: str) -> None:
        ...
    def __int__(self) -> int:
        ...
    @typing.overload
    def __ne__(self, other: ReachKind) -> bool:
        ...
    @typing.overload
    def __ne__(self, other: typing.Any) -> bool:
        ...
    def __repr__(self) -> str:
        ...
    def __setstate__(self, state: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def __str__(self) -> str:
        """
        The name, as the core writes it ("auto", "missing", ...).
        """
    @property
    def name(self) -> str:
        ...
    @property
    def value(self) -> int:
        ...
class Reach:
    """
    How a daemon is dialled (kind, address) and why (reason).
    """
    def __repr__(self) -> str:
        ...
    def __str__(self) -> str:
        ...
    @property
    def address(self) -> str:
        """
        What is dialled (host:port, or the tunnel's name).
        """
    @property
    def kind(self) -> str:
        """
        loopback, network, published or tunnel.
        """
    @property
    def reason(self) -> str:
        """
        Why this reach was chosen, in words.
        """
class Backend:
    """
    Where a daemon runs: docker (a container) or kubernetes (a pod).
    
    Members:
    
      docker
    
      kubernetes
    """
    __members__: typing.ClassVar[dict[str, Backend]]
    docker: typing.ClassVar[Backend]
    kubernetes: typing.ClassVar[Backend]
    @typing.overload
    def __eq__(self, other: Backend) -> bool:
        ...
    @typing.overload
    def __eq__(self, other: typing.Any) -> bool:
        ...
    def __getstate__(self) -> int:
        ...
    def __hash__(self) -> int:
        ...
    def __index__(self) -> int:
        ...
    @typing.overload
    def __init__(self, value: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @typing.overload
    def __init__(self, name: str) -> None:
        ...
    def __int__(self) -> int:
        ...
    @typing.overload
    def __ne__(self, other: Backend) -> bool:
        ...
    @typing.overload
    def __ne__(self, other: typing.Any) -> bool:
        ...
    def __repr__(self) -> str:
        ...
    def __setstate__(self, state: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def __str__(self) -> str:
        """
        The name, as the core writes it ("auto", "missing", ...).
        """
    @property
    def name(self) -> str:
        ...
    @property
    def value(self) -> int:
        ...
class KubeOptions:
    """
    The Kubernetes backend's place and pod shape (cpp/include/dind/daemon.hpp).
    """
    def __init__(self, **kwargs: typing.Any) -> None:
        ...
    def __repr__(self) -> str:
        ...
    @property
    def context(self) -> str:
        """
        A context of it (empty: its current-context).
        """
    @context.setter
    def context(self, arg0: str) -> None:
        ...
    @property
    def kubeconfig(self) -> str:
        """
        A kubeconfig file (empty: KUBECONFIG, ~/.kube/config, the in-cluster service account).
        """
    @kubeconfig.setter
    def kubeconfig(self, arg0: str) -> None:
        ...
    @property
    def limits(self) -> dict[str, str]:
        """
        The dind container's resource limits.
        """
    @limits.setter
    def limits(self, arg0: collections.abc.Mapping[str, str]) -> None:
        ...
    @property
    def namespace(self) -> str:
        """
        The namespace (empty: the context's).
        """
    @namespace.setter
    def namespace(self, arg0: str) -> None:
        ...
    @property
    def node(self) -> str:
        """
        spec.nodeName, for a cluster without a scheduler (empty: the scheduler places the pod).
        """
    @node.setter
    def node(self, arg0: str) -> None:
        ...
    @property
    def requests(self) -> dict[str, str]:
        """
        The dind container's resource requests.
        """
    @requests.setter
    def requests(self, arg0: collections.abc.Mapping[str, str]) -> None:
        ...
    @property
    def runtime_class(self) -> str:
        """
        runtimeClassName instead of a privileged container (e.g. a sysbox class).
        """
    @runtime_class.setter
    def runtime_class(self, arg0: str) -> None:
        ...
class DaemonOptions:
    """
    What Daemon.start() starts (cpp/include/dind/daemon.hpp).
    """
    def __init__(self, **kwargs: typing.Any) -> None:
        ...
    def __repr__(self) -> str:
        ...
    @property
    def aliases(self) -> list[str]:
        """
        Its aliases on `network`.
        """
    @aliases.setter
    def aliases(self, arg0: collections.abc.Sequence[str]) -> None:
        ...
    @property
    def backend(self) -> Backend:
        """
        Where the daemon runs (Backend): docker or kubernetes.
        """
    @backend.setter
    def backend(self, arg0: Backend) -> None:
        ...
    @property
    def cache(self) -> str:
        """
        A named volume for /var/lib/docker that outlives the daemon (empty: none).
        """
    @cache.setter
    def cache(self, arg0: str) -> None:
        ...
    @property
    def carry_mtu(self) -> bool:
        """
        Carry the MTU of the network the daemon joins when below 1500 (the default).
        """
    @carry_mtu.setter
    def carry_mtu(self, arg0: bool) -> None:
        ...
    @property
    def carry_proxy(self) -> bool:
        """
        Carry this process's HTTP_PROXY/HTTPS_PROXY/NO_PROXY (the default).
        """
    @carry_proxy.setter
    def carry_proxy(self, arg0: bool) -> None:
        ...
    @property
    def carry_registries(self) -> bool:
        """
        Carry the outer engine's registry mirrors and insecure registries (the default).
        """
    @carry_registries.setter
    def carry_registries(self, arg0: bool) -> None:
        ...
    @property
    def credentials(self) -> bool:
        """
        Pull the dind image with $DOCKER_CONFIG/config.json's credentials (the default).
        """
    @credentials.setter
    def credentials(self, arg0: bool) -> None:
        ...
    @property
    def dockerd_args(self) -> list[str]:
        """
        Appended to dockerd's flags.
        """
    @dockerd_args.setter
    def dockerd_args(self, arg0: collections.abc.Sequence[str]) -> None:
        ...
    @property
    def env(self) -> dict[str, str]:
        """
        The dind container's environment.
        """
    @env.setter
    def env(self, arg0: collections.abc.Mapping[str, str]) -> None:
        ...
    @property
    def host(self) -> str:
        """
        Dial a published port at this host instead (empty: $DIND_HOST if set).
        """
    @host.setter
    def host(self, arg0: str) -> None:
        ...
    @property
    def host_port(self) -> int:
        """
        The host port to publish (0: a free one).
        """
    @host_port.setter
    def host_port(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def image(self) -> str:
        """
        The dind image (docker:dind).
        """
    @image.setter
    def image(self, arg0: str) -> None:
        ...
    @property
    def insecure_publish(self) -> bool:
        """
        Allow a plain-TCP port to be published beyond loopback.
        """
    @insecure_publish.setter
    def insecure_publish(self, arg0: bool) -> None:
        ...
    @property
    def kube(self) -> KubeOptions:
        """
        The Kubernetes backend's options (KubeOptions).
        """
    @kube.setter
    def kube(self, arg0: KubeOptions) -> None:
        ...
    @property
    def labels(self) -> dict[str, str]:
        """
        Extra labels on the container.
        """
    @labels.setter
    def labels(self, arg0: collections.abc.Mapping[str, str]) -> None:
        ...
    @property
    def login(self) -> bool:
        """
        Those credentials also for pulls through the daemon (its client and env()'s docker CLI).
        """
    @login.setter
    def login(self, arg0: bool) -> None:
        ...
    @property
    def mounts(self) -> list[str]:
        """
        Extra mounts, "source:target[:ro]".
        """
    @mounts.setter
    def mounts(self, arg0: collections.abc.Sequence[str]) -> None:
        ...
    @property
    def name(self) -> str:
        """
        The container's name (empty: dind-<random>).
        """
    @name.setter
    def name(self, arg0: str) -> None:
        ...
    @property
    def network(self) -> str:
        """
        A user network the daemon joins (empty: none).
        """
    @network.setter
    def network(self, arg0: str) -> None:
        ...
    @property
    def outer(self) -> Client | None:
        """
        The engine that runs the container (None: Client.from_env()).
        """
    @outer.setter
    def outer(self, arg0: Client | None) -> None:
        ...
    @property
    def owner(self) -> Owner | None:
        """
        Whose death orphans the daemon for reap() (None: this process).
        """
    @owner.setter
    def owner(self, arg0: Owner | None) -> None:
        ...
    @property
    def privileged(self) -> bool:
        """
        Run the container privileged (the default).
        """
    @privileged.setter
    def privileged(self, arg0: bool) -> None:
        ...
    @property
    def pull(self) -> PullPolicy:
        """
        When to pull the image (PullPolicy).
        """
    @pull.setter
    def pull(self, arg0: PullPolicy) -> None:
        ...
    @property
    def reach(self) -> ReachKind:
        """
        How the daemon is dialled (ReachKind).
        """
    @reach.setter
    def reach(self, arg0: ReachKind) -> None:
        ...
    @property
    def reuse(self) -> str:
        """
        Reuse key: attach to an earlier run's daemon of this key and these options (empty: none).
        """
    @reuse.setter
    def reuse(self, arg0: str) -> None:
        ...
    @property
    def runtime(self) -> str:
        """
        An OCI runtime (e.g. sysbox-runc) instead of privileges; empty: the engine's default.
        """
    @runtime.setter
    def runtime(self, arg0: str) -> None:
        ...
    @property
    def start_timeout(self) -> datetime.timedelta:
        """
        How long start() waits for the daemon to answer.
        """
    @start_timeout.setter
    def start_timeout(self, arg0: datetime.timedelta) -> None:
        ...
    @property
    def tls(self) -> bool:
        """
        Mutual TLS on 2376 (the default), else plain TCP on 2375.
        """
    @tls.setter
    def tls(self, arg0: bool) -> None:
        ...
    @property
    def tls_sans(self) -> list[str]:
        """
        Extra names and addresses for the server certificate ("DNS:x", "IP:y" or bare).
        """
    @tls_sans.setter
    def tls_sans(self, arg0: collections.abc.Sequence[str]) -> None:
        ...
class CancelFlag:
    """
    Abandons a Daemon.start() given it when set, from any thread.
    """
    def __init__(self) -> None:
        ...
    def set(self) -> None:
        """
        Abandons the start (it removes what it made).
        """
    @property
    def is_set(self) -> bool:
        """
        True once set() was called.
        """
class Daemon:
    """
    One dind daemon: start() makes it, remove() ends it (cpp/include/dind/daemon.hpp).
    """
    @staticmethod
    def attach(name_or_id: str, outer: Client | None = None) -> Daemon:
        """
        Takes over a running daemon made by start() (found by name or id on `outer`), e.g. another process's.
        """
    @staticmethod
    def list(outer: Client | None = None) -> builtins.list[dict[str, typing.Any]]:
        """
        The dind daemons on the engine (every session, any state), oldest first.
        """
    @staticmethod
    def start(options: DaemonOptions, cancel: CancelFlag | None = None) -> Daemon:
        """
        Starts a daemon and returns once it answers over the transport its client uses; Ctrl-C (on the main thread) or cancel.set() (from any thread) abandons it, removing what was made.
        """
    def exec(self, cmd: collections.abc.Sequence[str]) -> tuple[int, bytes]:
        """
        Runs `cmd` in the dind container: (exit code, stdout and stderr).
        """
    def keep(self, keep: bool = True) -> None:
        """
        Leave the daemon running when this handle goes (True), or remove it then (False).
        """
    def load_images(self, names: collections.abc.Sequence[str], progress: typing.Any = None) -> builtins.list[str]:
        """
        Streams images of the outer engine into the daemon; progress(bytes so far) is called as they move. Returns the names loaded.
        """
    def logs(self, tail: typing.SupportsInt | typing.SupportsIndex = 50) -> str:
        """
        The last `tail` lines of the container's log (invalid UTF-8 replaced).
        """
    def remove(self, graceful: typing.SupportsFloat | typing.SupportsIndex | None = None) -> None:
        """
        Removes the container with its volumes and the private directory (stopping it first, waiting `graceful` seconds, when given). Idempotent.
        """
    def serve_cli(self) -> None:
        """
        Tunnel only: serves env's DOCKER_HOST for the docker CLI until the daemon is gone.
        """
    def stop_forwarder(self) -> None:
        """
        Stops this handle's forwarder (tunnel), so that serve_cli() in another process can take its socket over.
        """
    @property
    def cert_path(self) -> str:
        """
        The directory with the client's ca.pem, cert.pem and key.pem.
        """
    @property
    def client(self) -> Client:
        """
        A client of the daemon.
        """
    @property
    def dir(self) -> str:
        """
        The daemon's private directory.
        """
    @property
    def env(self) -> dict[str, str]:
        """
        DOCKER_HOST, DOCKER_TLS_VERIFY and DOCKER_CERT_PATH for the docker CLI.
        """
    @property
    def host(self) -> str:
        """
        What the client dials (DOCKER_HOST).
        """
    @property
    def id(self) -> str:
        """
        The container's id.
        """
    @property
    def name(self) -> str:
        """
        The container's name.
        """
    @property
    def outer(self) -> Client:
        """
        A client of the engine the daemon runs on.
        """
    @property
    def reach(self) -> Reach:
        """
        How the daemon is dialled, and why (a Reach).
        """
    @property
    def removed(self) -> bool:
        """
        True once remove() ran.
        """
    @property
    def reuse_note(self) -> str:
        """
        With options.reuse: why no earlier daemon served (empty when none was tried).
        """
    @property
    def reused(self) -> bool:
        """
        True when start() attached to an earlier run's daemon (options.reuse).
        """
    @property
    def timings(self) -> dict[str, float]:
        """
        Seconds each phase of the start took: certs, create, start, ready, total.
        """
    @property
    def tls(self) -> bool:
        """
        True when the daemon speaks mutual TLS.
        """
class DaemonRecord:
    """
    What a daemon's private directory records: name, id, dir and its engine's URL.
    """
    def engine_client(self) -> Client:
        """
        A client of the engine the daemon lives on.
        """
    @property
    def dir(self) -> str:
        """
        The private directory.
        """
    @property
    def engine(self) -> str:
        """
        The URL of the engine the daemon runs on.
        """
    @property
    def id(self) -> str:
        """
        The container's id.
        """
    @property
    def name(self) -> str:
        """
        The container's name.
        """
class Images:
    """
    The image endpoints of one client.
    """
    def __init__(self, client: Client) -> None:
        """
        The image endpoints of `client`.
        """
    def build(self, context: typing.Any = None, path: typing.Any = None, tag: typing.Any = None, dockerfile: typing.Any = None, buildargs: typing.Any = None, labels: typing.Any = None, nocache: bool = False, rm: bool = True, forcerm: bool = False, pull: bool = False, quiet: bool = False, target: typing.Any = None, network_mode: typing.Any = None, platform: typing.Any = None, cache_from: typing.Any = None, extra_hosts: typing.Any = None, shmsize: typing.Any = None, container_limits: typing.Any = None, squash: bool = False, isolation: typing.Any = None, remote: typing.Any = None, registry_config: typing.Any = None, extra_tags: typing.Any = None, raise_on_error: bool = True) -> ImageProgress:
        """
        POST /build from a directory (`path`, .dockerignore applied) or a tar context (streamed).
        """
    def commit(self, container: str, repository: typing.Any = None, tag: typing.Any = None, message: typing.Any = None, author: typing.Any = None, pause: bool = True, changes: typing.Any = None, conf: typing.Any = None) -> str:
        """
        POST /commit; returns the new image's id.
        """
    def history(self, name: str) -> builtins.list[dict[str, typing.Any]]:
        """
        GET /images/{name}/history.
        """
    def import_image(self, data: typing.Any, repository: typing.Any = None, tag: typing.Any = None, changes: typing.Any = None, message: typing.Any = None, platform: typing.Any = None) -> ImageProgress:
        """
        POST /images/create?fromSrc=-: a root file system tar (streamed) as an image.
        """
    def inspect(self, name: str) -> dict[str, typing.Any]:
        """
        GET /images/{name}/json (ImageNotFound when there is none).
        """
    def list(self, all: bool = False, filters: typing.Any = None) -> builtins.list[dict[str, typing.Any]]:
        """
        GET /images/json, filters in docker-py's shape.
        """
    def load(self, data: typing.Any, quiet: bool = False) -> ImageProgress:
        """
        POST /images/load from bytes, a binary file or an iterable of bytes (streamed).
        """
    def load_file(self, path: str, quiet: bool = False) -> ImageProgress:
        """
        POST /images/load from the tar file at `path` (read by the core).
        """
    def prune(self, filters: typing.Any = None) -> dict[str, typing.Any]:
        """
        POST /images/prune; returns {'ImagesDeleted': [...], 'SpaceReclaimed': n}.
        """
    def pull(self, name: str, tag: typing.Any = None, auth_config: typing.Any = None, platform: typing.Any = None, all_tags: bool = False, decode: bool = True) -> ImageProgress:
        """
        POST /images/create (a pull) as an ImageProgress stream.
        """
    def push(self, name: str, tag: typing.Any = None, auth_config: typing.Any = None, decode: bool = True) -> ImageProgress:
        """
        POST /images/{name}/push as an ImageProgress stream.
        """
    def remove(self, name: str, force: bool = False, noprune: bool = False) -> builtins.list[dict[str, typing.Any]]:
        """
        DELETE /images/{name}: [{'Untagged': ...} or {'Deleted': ...}].
        """
    def save(self, names: typing.Any, chunk_size: typing.SupportsInt | typing.SupportsIndex = 2097152) -> ByteStream:
        """
        GET /images/get: the images' tar as a ByteStream.
        """
    def tag(self, name: str, repository: str, tag: typing.Any = None, force: bool = False) -> bool:
        """
        POST /images/{name}/tag; True when the engine tagged it.
        """
class JobMode:
    """
    How a job reaches Docker: a sidecar daemon, or the host's socket.
    
    Members:
    
      sidecar
    
      socket
    """
    __members__: typing.ClassVar[dict[str, JobMode]]
    sidecar: typing.ClassVar[JobMode]
    socket: typing.ClassVar[JobMode]
    @typing.overload
    def __eq__(self, other: JobMode) -> bool:
        ...
    @typing.overload
    def __eq__(self, other: typing.Any) -> bool:
        ...
    def __getstate__(self) -> int:
        ...
    def __hash__(self) -> int:
        ...
    def __index__(self) -> int:
        ...
    @typing.overload
    def __init__(self, value: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @typing.overload
    def __init__(self, name: str) -> None:
        """
        The mode named 'dind' (or 'sidecar') or 'socket'.
        """
    def __int__(self) -> int:
        ...
    @typing.overload
    def __ne__(self, other: JobMode) -> bool:
        ...
    @typing.overload
    def __ne__(self, other: typing.Any) -> bool:
        ...
    def __repr__(self) -> str:
        ...
    def __setstate__(self, state: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def __str__(self) -> str:
        ...
    @property
    def name(self) -> str:
        ...
    @property
    def value(self) -> int:
        ...
class JobOptions:
    """
    What Job runs (cpp/include/dind/job.hpp).
    """
    def __init__(self, **kwargs: typing.Any) -> None:
        ...
    def __repr__(self) -> str:
        ...
    @property
    def allow_host_socket(self) -> bool:
        """
        The opt-in for socket mode (the job then controls the host's daemon).
        """
    @allow_host_socket.setter
    def allow_host_socket(self, arg0: bool) -> None:
        ...
    @property
    def cert_dir(self) -> str:
        """
        Where the client certs go in the job (DOCKER_CERT_PATH).
        """
    @cert_dir.setter
    def cert_dir(self, arg0: str) -> None:
        ...
    @property
    def command(self) -> list[str]:
        """
        The command (empty: the image's default).
        """
    @command.setter
    def command(self, arg0: collections.abc.Sequence[str]) -> None:
        ...
    @property
    def daemon(self) -> Daemon:
        """
        A running daemon to use as the sidecar instead of starting one (the caller owns it).
        """
    @daemon.setter
    def daemon(self, arg0: Daemon) -> None:
        ...
    @property
    def daemon_options(self) -> DaemonOptions:
        """
        The options of the sidecar the job starts.
        """
    @daemon_options.setter
    def daemon_options(self, arg0: DaemonOptions) -> None:
        ...
    @property
    def env(self) -> list[str]:
        """
        The job's environment, "KEY=VALUE".
        """
    @env.setter
    def env(self, arg0: collections.abc.Sequence[str]) -> None:
        ...
    @property
    def image(self) -> str:
        """
        The job image (it needs a docker CLI on its PATH).
        """
    @image.setter
    def image(self, arg0: str) -> None:
        ...
    @property
    def labels(self) -> dict[str, str]:
        """
        Extra labels on what the job makes.
        """
    @labels.setter
    def labels(self, arg0: collections.abc.Mapping[str, str]) -> None:
        ...
    @property
    def load_images(self) -> list[str]:
        """
        Images of the outer engine loaded into the sidecar it starts.
        """
    @load_images.setter
    def load_images(self, arg0: collections.abc.Sequence[str]) -> None:
        ...
    @property
    def mode(self) -> JobMode:
        """
        How the job reaches Docker (JobMode).
        """
    @mode.setter
    def mode(self, arg0: JobMode) -> None:
        ...
    @property
    def name(self) -> str:
        """
        The job container's name (empty: dind-job-<random>).
        """
    @name.setter
    def name(self, arg0: str) -> None:
        ...
    @property
    def on_warning(self) -> collections.abc.Callable[[str], None]:
        """
        Where warnings go (default: one line on stderr).
        """
    @on_warning.setter
    def on_warning(self, arg0: collections.abc.Callable[[str], None]) -> None:
        ...
    @property
    def outer(self) -> Client | None:
        """
        The engine that runs the job (None: Client.from_env()).
        """
    @outer.setter
    def outer(self, arg0: Client | None) -> None:
        ...
    @property
    def require_docker_cli(self) -> bool:
        """
        Check that the image has `docker` on its PATH before starting.
        """
    @require_docker_cli.setter
    def require_docker_cli(self, arg0: bool) -> None:
        ...
    @property
    def workdir(self) -> str:
        """
        The working directory (default: the workspace, else the image's).
        """
    @workdir.setter
    def workdir(self, arg0: str) -> None:
        ...
    @property
    def workspace(self) -> str:
        """
        A host directory mounted at the same path in the job and the sidecar.
        """
    @workspace.setter
    def workspace(self, arg0: str) -> None:
        ...
class Job:
    """
    A CI job container wired to Docker (cpp/include/dind/job.hpp).
    """
    @staticmethod
    def sidecar_options(workspace: str) -> DaemonOptions:
        """
        DaemonOptions of a daemon that jobs with this workspace can share (its mounts).
        """
    def __init__(self, options: JobOptions) -> None:
        """
        Checks the options (workspace, socket opt-in, mode and daemon agree); creates nothing yet.
        """
    def cancel(self, wait: bool = False) -> None:
        """
        Ends a run in progress from any thread (kills the job container); with `wait`, returns once it removed what it made.
        """
    def run(self, on_output: typing.Any = None) -> int:
        """
        Runs the job; on_output(data: bytes, stream: 'stdout'|'stderr') gets its output live. Returns its exit code; removes what it made.
        """
    @property
    def name(self) -> str:
        """
        The job container's name.
        """
    @property
    def workspace(self) -> str:
        """
        The workspace as mounted (absolute, symlinks resolved); empty without one.
        """
class Networks:
    """
    The /networks endpoints of one client (JSON in, dicts out).
    """
    def __init__(self, client: Client) -> None:
        """
        The network endpoints of `client`.
        """
    def connect(self, net: str, container: str, aliases: typing.Any = None, links: typing.Any = None, ipv4_address: typing.Any = None, ipv6_address: typing.Any = None, link_local_ips: typing.Any = None, driver_opt: typing.Any = None, mac_address: typing.Any = None) -> None:
        """
        POST /networks/{net}/connect (links as 'name' or 'name:alias').
        """
    def create(self, name: str, driver: typing.Any = None, options: typing.Any = None, ipam: typing.Any = None, check_duplicate: typing.Any = None, internal: bool = False, labels: typing.Any = None, enable_ipv6: bool = False, attachable: typing.Any = None, scope: typing.Any = None, ingress: typing.Any = None) -> dict[str, typing.Any]:
        """
        POST /networks/create with docker-py's create_network() arguments; returns {'Id', 'Warning'}.
        """
    def create_body(self, body: typing.Any) -> dict[str, typing.Any]:
        """
        POST /networks/create with the whole JSON body (a dict with 'Name').
        """
    def disconnect(self, net: str, container: str, force: bool = False) -> None:
        """
        POST /networks/{net}/disconnect.
        """
    def inspect(self, id: str, verbose: typing.Any = None, scope: typing.Any = None) -> dict[str, typing.Any]:
        """
        GET /networks/{id}.
        """
    def list(self, filters: typing.Any = None) -> builtins.list[dict[str, typing.Any]]:
        """
        GET /networks; filters in docker-py's shape ({'label': ['k=v'], ...}).
        """
    def prune(self, filters: typing.Any = None) -> dict[str, typing.Any]:
        """
        POST /networks/prune; returns {'NetworksDeleted': [...]}.
        """
    def remove(self, id: str) -> None:
        """
        DELETE /networks/{id}.
        """
class OutputStream:
    """
    Container output (logs, attach, exec). Iterate for chunks; read_all() for everything. close() from any thread ends a blocked read.
    """
    def __enter__(self) -> OutputStream:
        ...
    def __exit__(self, *args: typing.Any) -> bool:
        ...
    def __iter__(self) -> OutputStream:
        ...
    def __next__(self) -> typing.Any:
        ...
    def close(self) -> None:
        """
        Ends the stream, and a read blocked on it (any thread).
        """
    def close_write(self) -> None:
        """
        Half-closes: the process sees EOF on stdin (any thread).
        """
    def read(self, n: typing.SupportsInt | typing.SupportsIndex = -1) -> bytes:
        """
        Up to `n` bytes of output, stdout and stderr together (the next chunk if n < 0); b"" at the end.
        """
    def read_all(self, demux: bool = False) -> typing.Any:
        """
        The rest of the output: bytes, or (stdout, stderr) with `demux` (None for a side that had nothing).
        """
    def set_idle_timeout(self, seconds: typing.SupportsFloat | typing.SupportsIndex | None) -> None:
        """
        A read that waits longer than `seconds` for data raises TimeoutError (None: no limit).
        """
    def set_mode(self, mode: str) -> None:
        """
        What iteration yields: "bytes", "demux" ((stdout, stderr) pairs) or "frames" ((stream id, bytes)).
        """
    def write(self, data: bytes | str) -> None:
        """
        Writes `data` (bytes, or str as UTF-8) to the stdin of a duplex stream.
        """
    @property
    def closed(self) -> bool:
        """
        True once close() was called.
        """
    @property
    def context(self) -> str:
        """
        What the stream is of, for messages.
        """
    @property
    def duplex(self) -> bool:
        """
        True when stdin can be written (attach, exec).
        """
    @property
    def tty(self) -> bool:
        """
        True when the output is a TTY's (raw, not multiplexed).
        """
class JsonLines:
    """
    A JSON-lines stream (events, stats): dicts when decoding, else bytes lines.
    """
    def __enter__(self) -> JsonLines:
        ...
    def __exit__(self, *args: typing.Any) -> bool:
        ...
    def __iter__(self) -> JsonLines:
        ...
    def __next__(self) -> typing.Any:
        ...
    def close(self) -> None:
        """
        Ends the stream, and a read blocked on it (any thread).
        """
    def set_idle_timeout(self, seconds: typing.SupportsFloat | typing.SupportsIndex | None) -> None:
        """
        A read that waits longer than `seconds` for a line raises TimeoutError (None: no limit).
        """
    @property
    def context(self) -> str:
        """
        What the stream is of, for messages.
        """
class Streams:
    """
    Streaming endpoints: logs, attach, exec, stats, events.
    """
    def __init__(self, client: Client) -> None:
        """
        The streaming endpoints of `client`.
        """
    def attach(self, id: str, stdin: bool = False, stdout: bool = True, stderr: bool = True, logs: bool = False, stream: bool = True, detach_keys: str | None = None, tty: bool | None = None, mode: str = 'bytes', idle_timeout: typing.SupportsFloat | typing.SupportsIndex | None = None) -> OutputStream:
        """
        POST /containers/{id}/attach, hijacked: a duplex OutputStream.
        """
    def container_tty(self, id: str) -> bool:
        """
        Whether the container has a TTY (Config.Tty).
        """
    def events(self, since: typing.Any = None, until: typing.Any = None, filters: typing.Any = None, decode: bool = False, idle_timeout: typing.SupportsFloat | typing.SupportsIndex | None = None) -> JsonLines:
        """
        GET /events as a JsonLines stream.
        """
    def exec_create(self, container: str, cmd: collections.abc.Sequence[str], stdout: bool = True, stderr: bool = True, stdin: bool = False, tty: bool = False, privileged: bool = False, user: str = '', environment: collections.abc.Sequence[str] = [], workdir: str = '', detach_keys: str | None = None) -> str:
        """
        Creates an exec; returns its id.
        """
    def exec_exit_code(self, exec_id: str, wait: typing.SupportsFloat | typing.SupportsIndex = 5.0) -> int | None:
        """
        The exit code once the exec ended (polls up to `wait` seconds), else None.
        """
    def exec_inspect(self, exec_id: str) -> dict[str, typing.Any]:
        """
        GET /exec/{id}/json.
        """
    def exec_resize(self, exec_id: str, height: typing.SupportsInt | typing.SupportsIndex, width: typing.SupportsInt | typing.SupportsIndex) -> None:
        """
        POST /exec/{id}/resize: the TTY's size.
        """
    def exec_start(self, exec_id: str, tty: bool | None = None, mode: str = 'bytes', idle_timeout: typing.SupportsFloat | typing.SupportsIndex | None = None) -> OutputStream:
        """
        POST /exec/{id}/start, hijacked: a duplex OutputStream of the command's output.
        """
    def exec_start_detached(self, exec_id: str, tty: bool = False) -> None:
        """
        POST /exec/{id}/start with Detach: the command runs on its own.
        """
    def logs(self, id: str, stdout: bool = True, stderr: bool = True, follow: bool = False, timestamps: bool = False, tail: str = 'all', since: typing.Any = None, until: typing.Any = None, tty: bool | None = None, mode: str = 'bytes', idle_timeout: typing.SupportsFloat | typing.SupportsIndex | None = None) -> OutputStream:
        """
        GET /containers/{id}/logs as an OutputStream (`tty`: the container's, when known, saves an inspect).
        """
    def stats(self, id: str, decode: bool = False, one_shot: bool = False) -> JsonLines:
        """
        GET /containers/{id}/stats as a JsonLines stream (one sample a second).
        """
    def stats_once(self, id: str, one_shot: bool = False) -> dict[str, typing.Any]:
        """
        GET /containers/{id}/stats?stream=false: one sample as a dict.
        """
class Volumes:
    """
    The /volumes endpoints of one client (JSON in, dicts out).
    """
    def __init__(self, client: Client) -> None:
        """
        The volume endpoints of `client`.
        """
    def create(self, name: typing.Any = None, driver: typing.Any = None, driver_opts: typing.Any = None, labels: typing.Any = None) -> dict[str, typing.Any]:
        """
        POST /volumes/create; returns the volume.
        """
    def inspect(self, name: str) -> dict[str, typing.Any]:
        """
        GET /volumes/{name}.
        """
    def list(self, filters: typing.Any = None) -> dict[str, typing.Any]:
        """
        GET /volumes; returns {'Volumes': [...] or None, 'Warnings': ...}.
        """
    def prune(self, filters: typing.Any = None) -> dict[str, typing.Any]:
        """
        POST /volumes/prune; returns {'VolumesDeleted': [...], 'SpaceReclaimed': n}.
        """
    def remove(self, name: str, force: bool = False) -> None:
        """
        DELETE /volumes/{name}.
        """
class WaitOptions:
    """
    What wait_for() waits for (cpp/include/dind/wait.hpp).
    """
    def __init__(self, **kwargs: typing.Any) -> None:
        ...
    def __repr__(self) -> str:
        ...
    def describe(self) -> str:
        """
        What is awaited, as messages say it.
        """
    @property
    def healthy(self) -> bool:
        """
        State.Health.Status is healthy.
        """
    @healthy.setter
    def healthy(self, arg0: bool) -> None:
        ...
    @property
    def http(self) -> str:
        """
        A path: GET on the published `http_port` (default: port, else 80).
        """
    @http.setter
    def http(self, arg0: str) -> None:
        ...
    @property
    def http_port(self) -> int:
        """
        The container's port the GET goes to.
        """
    @http_port.setter
    def http_port(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def log(self) -> str:
        """
        A regex matched against the log (stdout and stderr) as it streams.
        """
    @log.setter
    def log(self, arg0: str) -> None:
        ...
    @property
    def log_tail(self) -> int:
        """
        Lines of the container's log carried by the errors.
        """
    @log_tail.setter
    def log_tail(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def port(self) -> int:
        """
        The container's port N/tcp (published): a connection opens.
        """
    @port.setter
    def port(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def status(self) -> int:
        """
        The status the GET must answer (0: any 2xx or 3xx).
        """
    @status.setter
    def status(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def timeout(self) -> datetime.timedelta:
        """
        How long to wait in all.
        """
    @timeout.setter
    def timeout(self, arg0: datetime.timedelta) -> None:
        ...
def df(client: Client) -> dict[str, typing.Any]:
    """
    GET /system/df: data usage of images, containers, volumes and the build cache.
    """
def endpoint_from_env(environ: collections.abc.Mapping[str, str] | None = None) -> dict[str, typing.Any]:
    """
    Where the docker CLI's rules (DOCKER_HOST, DOCKER_TLS_VERIFY, DOCKER_CERT_PATH, the current context) point: {'base_url': str, 'version': str or None, 'tls': None or {'ca_cert', 'client_cert': (cert, key), 'verify'}}. `environ` (a dict) stands in for the process environment.
    """
def list_caches(outer: Client | None = None) -> builtins.list[dict[str, typing.Any]]:
    """
    The layer caches (volumes for /var/lib/docker) on the engine: name, created, users, mountpoint.
    """
def local_daemons() -> list[DaemonRecord]:
    """
    The daemons recorded in this user's private dind directories on this machine.
    """
def parse_repository_tag(name: str) -> tuple[str, str]:
    """
    "repo[:tag]" or "repo@digest" -> (repo, tag or digest, "" when none): the core's rule.
    """
def progress_error(line: typing.Any) -> str:
    """
    The failure a progress line reports (errorDetail.message, else error), or "": the core's rule.
    """
def reap(outer: Client | None = None, older_than: typing.SupportsFloat | typing.SupportsIndex | None = None, everything: bool = False, reused: bool = False) -> dict[str, list[str]]:
    """
    Removes what dind made whose owner is gone (or older than `older_than` seconds, or all with `everything`; reused daemons too with `reused`): {'containers', 'volumes', 'networks', 'dirs'} removed.
    """
def reap_kubernetes(kube: KubeOptions, older_than: typing.SupportsFloat | typing.SupportsIndex | None = None, everything: bool = False) -> dict[str, list[str]]:
    """
    Removes the Kubernetes backend's pods and Secrets (in the kubeconfig's namespace, or kube.namespace) whose owner is gone (or older than `older_than` seconds, or all with `everything`): {'pods', 'secrets', 'dirs'}.
    """
def registry_of_image(image: str) -> str:
    """
    The registry an image reference names (docker.io when it names none): the core's rule.
    """
def remove_cache(outer: Client | None, name: str) -> bool:
    """
    Removes a layer cache; False if absent, an error while a container uses it.
    """
def remove_daemon(outer: Client | None, name_or_id: str) -> bool:
    """
    Removes one daemon made by dind, any state: container with volumes, private directory. False if absent.
    """
def resolve_authconfig(registry: str, config_dir: str | None = None) -> dict[str, typing.Any] | None:
    """
    The credentials for `registry` from config_dir/config.json (None: $DOCKER_CONFIG, else ~/.docker): auths, credsStore and credHelpers as the docker CLI reads them; None when there are none.
    """
def session_id() -> str:
    """
    The id of this process's dind session (the dind.session label).
    """
def wait_for(client: Client, id: str, options: WaitOptions) -> None:
    """
    Blocks until container `id` meets `options`; ContainerExited if it exits first, TimeoutError at the timeout.
    """
LABEL_CACHE: str = 'dind.cache'
LABEL_CERT_PATH: str = 'dind.cert-path'
LABEL_CREATED: str = 'dind.created'
LABEL_DIR: str = 'dind.dir'
LABEL_NAME: str = 'dind.name'
LABEL_OWNER_CONTAINER: str = 'dind.owner-container'
LABEL_OWNER_HOST: str = 'dind.owner-host'
LABEL_OWNER_PID: str = 'dind.owner-pid'
LABEL_OWNER_START: str = 'dind.owner-start'
LABEL_REACH: str = 'dind.reach'
LABEL_REUSE: str = 'dind.reuse'
LABEL_REUSE_HASH: str = 'dind.reuse-hash'
LABEL_SESSION: str = 'dind.session'
LABEL_TLS: str = 'dind.tls'
MAX_API_VERSION: str = '1.43'
MIN_API_VERSION: str = '1.24'
