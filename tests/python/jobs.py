"""Test infrastructure for running real code where CI really runs it, all on this machine and offline.

- a **job image**: ``dind-offline:latest`` plus the very wheel ``scripts/build.sh`` made (``build/wheel/``);
- **job containers** on the machine's engine (``run_in_job``): with the engine's socket mounted, and/or on a user
  network beside a dind **service** reached as ``docker`` over TLS (GitLab's ``services: docker:dind``);
- an **sshd** on 127.0.0.1 with a throwaway key, for ``ssh://`` (the docker CLI and the library run ``ssh`` from PATH).

No mocks: the machine's engine, Debian's sshd and ssh, the docker CLI. Everything made here carries the label
``dind.test=...`` and is removed by the code that made it, however it ends. The pytest fixtures over these helpers
are in ``conftest.py``.
"""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import io
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import tarfile
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterator, List, Mapping, Optional, Sequence, Set, Tuple, Union

import pytest

import dind
from dind import errors

REPO = Path(__file__).resolve().parents[2]
ENGINE_SOCKET = "/var/run/docker.sock"
BASE_IMAGE = "dind-offline:latest"
JOB_IMAGE_REPO = "dind-job"
# Bump when the job image's recipe (DOCKERFILE below) changes: it is part of the tag.
JOB_IMAGE_RECIPE = "1"
LABEL = "dind.test"
# What this process's job containers carry (dind.test=...); tests check that nothing with it is left.
JOB_LABEL = f"jobs-{os.getpid()}"
# The dind service and its network (they live longer than one test).
SERVICE_LABEL = f"jobs-service-{os.getpid()}"
# On the job image: which checkout made it (only that checkout's stale tags are removed) and from what.
CHECKOUT_LABEL = "dind.test.job-image.checkout"
WHEEL_LABEL = "dind.test.job-image.wheel-sha256"
BASE_LABEL = "dind.test.job-image.base"
CHECKOUT_ID = hashlib.sha256(str(REPO).encode()).hexdigest()[:16]
# Two builds of the same job image at once (pytest-xdist workers, two sessions) would both build; one waits instead.
JOB_IMAGE_LOCK = "/run/lock/dind-test-job-image.lock"
# Tags this process handed out: never removed as stale by it (dind-offline:latest can be rebuilt mid-session by
# another checkout's images.sh, which changes the tag the next call computes).
_handed_out: Set[str] = set()

FileSpec = Union[bytes, str, "os.PathLike[str]"]

DOCKERFILE = """\
FROM {base}
COPY {wheel} /tmp/{wheel}
RUN python3 -m pip install --break-system-packages --no-deps --no-index --no-cache-dir \\
      --disable-pip-version-check --root-user-action=ignore /tmp/{wheel} \\
 && rm /tmp/{wheel} \\
 && python3 -c 'import dind._core'
"""


def outer() -> dind.Client:
    """A client of the machine's engine (its unix socket)."""
    return dind.Client(f"unix://{ENGINE_SOCKET}")


def leftovers(label: str, client: Optional[dind.Client] = None) -> List[str]:
    """Names of the containers (any state) and networks on the machine's engine labelled ``dind.test=<label>``."""
    c = client or outer()
    names = [x.name for x in c.containers.list(all=True, filters={"label": [f"{LABEL}={label}"]})]
    names += [n.name for n in c.networks.list(filters={"label": [f"{LABEL}={label}"]})]
    return names


# --- the job image ------------------------------------------------------------------------------------------------
class MissingWheel(Exception):
    """The wheel scripts/build.sh makes is not there (or there is more than one)."""


def wheel_dir() -> Path:
    """Where scripts/build.sh puts the wheel: ``$DIND_WHEEL_DIR`` (relative to the checkout) or ``build/wheel``."""
    return REPO / os.environ.get("DIND_WHEEL_DIR", "build/wheel")


def find_wheel(directory: Optional[Path] = None) -> Path:
    """The one ``dind-*.whl`` in ``directory`` (default ``wheel_dir()``); ``MissingWheel`` naming the fix if there is
    none or several."""
    d = Path(directory) if directory is not None else wheel_dir()
    wheels = sorted(d.glob("dind-*.whl"))
    if len(wheels) != 1:
        found = "no dind wheel" if not wheels else f"{len(wheels)} dind wheels ({', '.join(w.name for w in wheels)})"
        raise MissingWheel(f"{found} in {d}: the job image installs the wheel that scripts/build.sh makes; run "
                           f"scripts/build.sh (with the python3 you test with first on PATH)")
    return wheels[0]


def job_image_or_fail(directory: Optional[Path] = None, client: Optional[dind.Client] = None) -> str:
    """``build_job_image`` of the wheel in ``directory`` (default ``wheel_dir()``), for a fixture: a missing wheel or
    a failed build fails the test (never skips it) with the reason and what to run."""
    try:
        return build_job_image(find_wheel(directory), client=client)
    except (MissingWheel, errors.DockerException) as e:
        pytest.fail(f"job_image: {e}", pytrace=False)


def job_image_tag(wheel: Path, base_id: str) -> str:
    """``dind-job:<16 hex>``: a hash of the wheel's bytes, the base image's id, the recipe and the checkout, so a
    rebuilt wheel (or a rebuilt base) gives a new tag and an unchanged one the same. The checkout is in it so that
    two checkouts never share a tag: each removes only its own stale ones."""
    h = hashlib.sha256()
    h.update(f"recipe {JOB_IMAGE_RECIPE}\nbase {base_id}\ncheckout {CHECKOUT_ID}\n".encode())
    h.update(wheel.read_bytes())
    return f"{JOB_IMAGE_REPO}:{h.hexdigest()[:16]}"


def build_job_image(wheel: Optional[Path] = None, base: str = BASE_IMAGE,
                    client: Optional[dind.Client] = None) -> str:
    """Makes (or reuses) the job image: ``base`` plus ``wheel`` installed system-wide with Debian's pip, built by the
    engine's classic builder through the library's ``images.build`` (no network inside). Returns its tag
    (``job_image_tag``). Then removes this checkout's other ``dind-job`` tags (never another checkout's, never one a
    container still uses, never one this process returned). ``MissingWheel`` when there is no wheel,
    ``ImageNotFound`` when ``base`` is missing, ``DockerException`` with the build's log when the build fails."""
    wheel = wheel or find_wheel()
    c = client or outer()
    base_id = c.images.get(base).id
    tag = job_image_tag(wheel, base_id)
    Path(JOB_IMAGE_LOCK).parent.mkdir(parents=True, exist_ok=True)
    with open(JOB_IMAGE_LOCK, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            c.images.get(tag)
        except errors.ImageNotFound:
            _build(c, tag, wheel, base_id)
    _handed_out.add(tag)
    _remove_stale_job_images(c, keep=_handed_out)
    return tag


def _build(c: dind.Client, tag: str, wheel: Path, base_id: str) -> None:
    context = io.BytesIO()
    with tarfile.open(fileobj=context, mode="w") as tar:
        _add_bytes(tar, "Dockerfile", DOCKERFILE.format(base=base_id, wheel=wheel.name).encode())
        tar.add(str(wheel), arcname=wheel.name)
    context.seek(0)
    wheel_sha = hashlib.sha256(wheel.read_bytes()).hexdigest()
    labels = {LABEL: "job-image", CHECKOUT_LABEL: CHECKOUT_ID, WHEEL_LABEL: wheel_sha, BASE_LABEL: base_id}
    try:
        c.images.build(fileobj=context, custom_context=True, tag=tag, labels=labels, rm=True, forcerm=True)
    except errors.BuildError as e:
        log = "".join(str(chunk.get("stream", chunk.get("error", ""))) for chunk in e.build_log)
        # The classic builder keeps the images of the steps that worked (" ---> ID"): ours, untagged; remove them.
        for step in reversed(re.findall(r"^ ---> ([0-9a-f]{12,64})$", log, re.MULTILINE)):
            if not base_id.startswith(f"sha256:{step}"):
                with contextlib.suppress(errors.APIError):
                    c.images.remove(step)
        raise errors.DockerException(f"building the job image {tag} from {wheel} failed: {e}\n{log}") from None


def _remove_stale_job_images(c: dind.Client, keep: Set[str]) -> None:
    for image in c.images.list(filters={"label": [f"{CHECKOUT_LABEL}={CHECKOUT_ID}"]}):
        for t in image.tags:
            if t.startswith(JOB_IMAGE_REPO + ":") and t not in keep:
                with contextlib.suppress(errors.NotFound, errors.Conflict):
                    c.images.remove(t)  # not forced: a container still using it keeps it


# --- job containers -----------------------------------------------------------------------------------------------
class JobTimeout(AssertionError):
    """A job container did not end in time; it was killed and removed. ``output`` is what it printed so far."""

    def __init__(self, message: str, output: str) -> None:
        super().__init__(message)
        self.output = output


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes, mode: Optional[int] = None) -> None:
    info = tarfile.TarInfo(name.lstrip("/"))
    info.size = len(data)
    info.mode = mode if mode is not None else (0o755 if data.startswith(b"#!") else 0o644)
    info.mtime = int(time.time())
    tar.addfile(info, io.BytesIO(data))


def files_tar(files: Mapping[str, FileSpec]) -> bytes:
    """A tar (to extract at ``/``) of ``files``: container path → bytes (a file; mode 0755 when it starts with
    ``#!``, else 0644) or a host path (a file, or a directory copied with its contents, owned by root)."""

    def root_owned(info: tarfile.TarInfo) -> tarfile.TarInfo:
        info.uid = info.gid = 0
        info.uname = info.gname = "root"
        return info

    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for path, spec in files.items():
            if not path.startswith("/"):
                raise ValueError(f"files: the container path {path!r} is not absolute")
            if isinstance(spec, (bytes, bytearray)):
                _add_bytes(tar, path, bytes(spec))
            else:
                host = os.fspath(spec)
                if not os.path.exists(host):
                    raise FileNotFoundError(f"files: the host path {host} (for {path}) does not exist")
                tar.add(host, arcname=path.lstrip("/"), filter=root_owned)
    return out.getvalue()


def run_in_job(image: str, command: Union[str, Sequence[str]], *, socket: bool = True,
               network: Optional[str] = None, aliases: Sequence[str] = (),
               environment: Optional[Mapping[str, str]] = None,
               files: Optional[Mapping[str, FileSpec]] = None, workdir: Optional[str] = None,
               volumes: Sequence[str] = (), timeout: float = 120, label: str = JOB_LABEL,
               client: Optional[dind.Client] = None) -> Tuple[int, str]:
    """Runs ``command`` (a string for ``sh -c``, or argv) in a new container of the machine's engine, like a CI job,
    and returns (exit code, stdout and stderr combined). Each stream keeps its order; how lines of the two
    interleave is as the engine's log recorded them, which is not always the order written (write ``2>&1`` in the
    command when that matters).

    ``socket``: the engine's socket is mounted at /var/run/docker.sock. ``network``: the container is on that
    network (with ``aliases``) instead of the default bridge (``"none"``: no network at all). ``files``: put into
    the container before it starts (see ``files_tar``), e.g. test scripts or client certs. ``volumes``: more binds
    (``HOST:CONTAINER[:ro]``). The image's entrypoint runs (the dind entrypoint hands any non-dockerd command on as
    is). The container is labelled ``dind.test=<label>`` and removed with its volumes however this ends; after
    ``timeout`` seconds it is killed and ``JobTimeout`` is raised with the output so far.
    """
    c = client or outer()
    argv = ["sh", "-c", command] if isinstance(command, str) else list(command)
    kwargs: Dict[str, object] = {"labels": {LABEL: label}, "environment": dict(environment or {}),
                                 "name": f"dind-test-job-{uuid.uuid4().hex[:10]}"}
    binds = ([f"{ENGINE_SOCKET}:/var/run/docker.sock"] if socket else []) + list(volumes)
    if binds:
        kwargs["volumes"] = binds
    if network:
        kwargs["network"] = network
        kwargs["networking_config"] = {network: {"Aliases": list(aliases)}}
    elif aliases:
        raise ValueError("run_in_job: aliases need a network")
    if workdir:
        kwargs["working_dir"] = workdir
    container = c.containers.create(image, argv, **kwargs)
    try:
        if files:
            container.put_archive("/", files_tar(files))
        container.start()
        try:
            status = container.wait(timeout=timeout)
        except errors.TimeoutError:
            with contextlib.suppress(errors.APIError):
                container.kill()
            so_far = container.logs(stdout=True, stderr=True).decode(errors="replace")
            raise JobTimeout(f"the job {container.name} ({argv!r} in {image}) did not end within {timeout} s and was "
                             f"killed; its output so far:\n{so_far}", so_far) from None
        output = container.logs(stdout=True, stderr=True).decode(errors="replace")
        return int(status["StatusCode"]), output
    finally:
        with contextlib.suppress(errors.NotFound):
            container.remove(force=True, v=True)


# --- a dind service beside the job ---------------------------------------------------------------------------------
def engine_runtime_wrapper(client: Optional[dind.Client] = None) -> Optional[str]:
    """The path of the OCI runtime wrapper the machine's engine runs containers with by default, or None when its
    default runtime is plain runc (a normal host).

    ENVIRONMENT.md's test machines start dockerd with ``--add-runtime NAME=PATH --default-runtime NAME``. This asks
    the engine that serves the socket (``GET /info``: ``DefaultRuntime`` and ``Runtimes[NAME].path``) rather than
    parsing a dockerd's /proc/PID/cmdline: same data, no guessing which dockerd process serves the socket, and it
    also covers a wrapper registered in daemon.json.
    """
    info = (client or outer()).info()
    default = info.get("DefaultRuntime") or "runc"
    path = ((info.get("Runtimes") or {}).get(default) or {}).get("path", "")
    if default == "runc" or not path.startswith("/"):
        return None
    return path


@dataclass
class DindService:
    """A dind daemon on its own user network, reachable there as ``docker`` (GitLab's ``services: docker:dind``)."""

    daemon: dind.Dind
    network: str
    runtime_wrapper: Optional[str]
    cert_files: Dict[str, bytes]
    load_seconds: float
    start_seconds: float
    env: Dict[str, str] = field(default_factory=lambda: {
        "DOCKER_HOST": "tcp://docker:2376", "DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": "/certs/client"})

    @property
    def files(self) -> Dict[str, bytes]:
        """The client certs at /certs/client, as ``run_in_job(files=...)`` takes them."""
        return {f"/certs/client/{name}": data for name, data in self.cert_files.items()}


@contextlib.contextmanager
def dind_service(images: Sequence[str] = ("busybox:latest", BASE_IMAGE), image: str = BASE_IMAGE,
                 label: str = SERVICE_LABEL, client: Optional[dind.Client] = None) -> Iterator[DindService]:
    """Starts a dind service: a fresh user network (labelled ``dind.test=<label>``), and on it ``dind.Dind(image)``
    with the alias ``docker``, with ``images`` loaded from the machine's engine. Removes both afterwards.

    When the machine's engine runs containers through a runtime wrapper (``engine_runtime_wrapper``), the service
    gets it too (mounted read-only at the same path, ``--add-runtime=capfix=PATH --default-runtime=capfix``), so that
    it can itself run ``--privileged`` containers (ENVIRONMENT.md, "A dind inside a dind needs the wrapper too").
    That is test set-up for this machine only; the library never does it.
    """
    c = client or outer()
    net_name = f"dind-test-svc-{uuid.uuid4().hex[:10]}"
    network = c.networks.create(net_name, driver="bridge", labels={LABEL: label})
    try:
        wrapper = engine_runtime_wrapper(c)
        mounts: List[str] = []
        args: List[str] = []
        if wrapper:
            mounts.append(f"{wrapper}:{wrapper}:ro")
            args += [f"--add-runtime=capfix={wrapper}", "--default-runtime=capfix"]
        t0 = time.monotonic()
        d = dind.Dind(image, network=net_name, aliases=["docker"], mounts=mounts, dockerd_args=args,
                      labels={LABEL: label}, client=c)
        try:
            t1 = time.monotonic()
            d.load_images(list(images), progress=lambda moved: None)
            t2 = time.monotonic()
            certs = {name: Path(d.cert_path, name).read_bytes() for name in ("ca.pem", "cert.pem", "key.pem")}
            yield DindService(daemon=d, network=net_name, runtime_wrapper=wrapper, cert_files=certs,
                              load_seconds=t2 - t1, start_seconds=t1 - t0)
        finally:
            d.close()
    finally:
        with contextlib.suppress(errors.NotFound):
            network.remove()


# --- an sshd on 127.0.0.1 ------------------------------------------------------------------------------------------
SSHD = "/usr/sbin/sshd"  # sshd re-executes itself and wants an absolute path


@dataclass
class Sshd:
    """Debian's sshd on 127.0.0.1:``port`` letting root in with the key ``key`` (nothing else)."""

    port: int
    key: Path
    bin_dir: Path  # holds ``ssh``: put first on PATH
    log: Path
    pid: int

    @property
    def url(self) -> str:
        """``ssh://root@127.0.0.1:PORT``."""
        return f"ssh://root@127.0.0.1:{self.port}"

    def env(self, base: Optional[Mapping[str, str]] = None) -> Dict[str, str]:
        """``base`` (default os.environ) with ``bin_dir`` first on PATH, so that a plain ``ssh`` uses the test key."""
        env = dict(os.environ if base is None else base)
        env["PATH"] = os.pathsep.join(filter(None, [str(self.bin_dir), env.get("PATH", "")]))
        return env


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listened on a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _real_ssh() -> str:
    path = shutil.which("ssh")
    if not path:
        raise FileNotFoundError("ssh is not on PATH (apt-get install openssh-client, or run scripts/provision.sh)")
    return os.path.realpath(path)


def _sshd_config(tmp: Path, port: int) -> str:
    return "\n".join([
        f"Port {port}",
        "ListenAddress 127.0.0.1",
        f"HostKey {tmp}/host_ed25519",
        f"PidFile {tmp}/sshd.pid",
        f"AuthorizedKeysFile {tmp}/authorized_keys",
        "AllowUsers root",
        "PermitRootLogin prohibit-password",
        "PubkeyAuthentication yes",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "UsePAM no",
        "StrictModes no",
        "AllowAgentForwarding no",
        "AllowTcpForwarding no",
        "X11Forwarding no",
        "PrintMotd no",
        "PrintLastLog no",
        "",
    ])


@contextlib.contextmanager
def sshd(start_timeout: float = 20) -> Iterator[Sshd]:
    """Starts ``sshd -D -e -f CFG`` on 127.0.0.1 at a free high port, with a host key, a client key (ed25519, made
    now) and its authorized_keys all in a temp dir; yields an ``Sshd``. Its ``bin_dir/ssh`` adds
    ``-F /dev/null -i KEY -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=no
    -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR`` and execs the real ssh, so root's ~/.ssh is never read nor
    written (``-F`` also keeps ssh from making ~/.ssh). Ready when the port answers with an SSH banner and the pid
    file names the process started here. Afterwards sshd and its session processes (its own process group) are
    stopped and the temp dir removed."""
    for tool in (SSHD, "/usr/bin/ssh-keygen"):
        if not os.access(tool, os.X_OK):
            raise FileNotFoundError(f"{tool} is missing (apt-get install openssh-server, or run scripts/provision.sh)")
    tmp = Path(tempfile.mkdtemp(prefix="dind-test-sshd-"))
    proc: Optional[subprocess.Popen] = None
    try:
        key = tmp / "id_ed25519"
        for path in (tmp / "host_ed25519", key):
            subprocess.run(["/usr/bin/ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "dind-test", "-f",
                            str(path)], check=True, capture_output=True, timeout=30)
        shutil.copy(str(key) + ".pub", tmp / "authorized_keys")
        bin_dir = tmp / "bin"
        bin_dir.mkdir()
        wrapper = bin_dir / "ssh"
        wrapper.write_text(
            "#!/bin/sh\n# ssh with the dind tests' throwaway key; root's ~/.ssh is neither read nor written.\n"
            f"exec {shlex.quote(_real_ssh())} -F /dev/null -i {shlex.quote(str(key))} -o IdentitiesOnly=yes "
            "-o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR "
            '"$@"\n')
        wrapper.chmod(0o755)
        # sshd wants its privilege separation dir; Debian's service makes it at boot, which never ran here.
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
        log = tmp / "sshd.log"
        last = ""
        for _attempt in range(5):  # a free port can be taken before sshd binds it: then try another
            port = free_port()
            (tmp / "sshd_config").write_text(_sshd_config(tmp, port))
            with open(log, "wb") as out:
                proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(tmp / "sshd_config")], stdin=subprocess.DEVNULL,
                                        stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
            if _wait_sshd(proc, tmp / "sshd.pid", port, start_timeout):
                yield Sshd(port=port, key=key, bin_dir=bin_dir, log=log, pid=proc.pid)
                return
            last = log.read_text(errors="replace")
            _stop(proc)
            proc = None
            if "Address already in use" not in last:
                break
        raise RuntimeError(f"sshd did not start on 127.0.0.1 within {start_timeout} s; its log:\n{last}")
    finally:
        if proc is not None:
            _stop(proc)
        shutil.rmtree(tmp, ignore_errors=True)


def _wait_sshd(proc: subprocess.Popen, pidfile: Path, port: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            ours = int(pidfile.read_text().strip() or 0) == proc.pid
        except (OSError, ValueError):
            ours = False
        if ours:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
                    if s.recv(64).startswith(b"SSH-"):
                        return True
            except OSError:
                pass
        time.sleep(0.05)
    return False


def _descendants(pid: int) -> List[int]:
    """The pids of ``pid``'s children, grandchildren, ... (from /proc, nearest first)."""
    children: Dict[int, List[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    out: List[int] = []
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(0), []):
            out.append(child)
            todo.append(child)
    return out


def _stop(proc: subprocess.Popen) -> None:
    """Ends the sshd started here and the per-connection sshd processes it forked (they call setsid(), so they are
    not in its process group, and would outlive it while a client holds its connection open), each by its pid."""
    sessions = _descendants(proc.pid) if proc.poll() is None else []
    for sig in (signal.SIGTERM, signal.SIGKILL):
        targets = ([proc.pid] if proc.poll() is None else []) + [pid for pid in sessions if _alive(pid)]
        for pid in targets:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and (proc.poll() is None or any(_alive(pid) for pid in sessions)):
            time.sleep(0.05)
        if proc.poll() is not None and not any(_alive(pid) for pid in sessions):
            return


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
