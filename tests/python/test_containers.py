"""client.containers and Container against the real engine (busybox:latest).

Everything created carries the label dind.session=<this run's id> and is removed (force, with volumes) by the
``sweep`` fixture, even when a test fails.
"""

from __future__ import annotations

import importlib
import os
import signal
import threading
import sys
import types
import uuid

import pytest

import dind.errors as errors
from dind.client import Client
from dind.models.container_config import build_create_body
from dind.models.containers import Container, ContainerCollection

IMAGE = "busybox:latest"
SESSION = f"pytest-containers-{os.getpid()}-{uuid.uuid4().hex[:8]}"
LABELS = {"dind.session": SESSION}


def _remove_session_containers(client: Client) -> None:
    for entry in client.containers.list(all=True, filters={"label": f"dind.session={SESSION}"}, sparse=True):
        try:
            entry.remove(force=True, v=True)
        except errors.NotFound:
            pass


@pytest.fixture(scope="module")
def client(offline_images) -> Client:
    c = Client.from_env()
    yield c
    _remove_session_containers(c)


@pytest.fixture(autouse=True)
def sweep(client: Client):
    yield
    _remove_session_containers(client)


def unique(stem: str) -> str:
    return f"{stem}-{uuid.uuid4().hex[:10]}"


def mine(client: Client, **filters) -> list:
    return client.containers.list(all=True, filters={"label": f"dind.session={SESSION}", **filters}, sparse=True)


# --- run ------------------------------------------------------------------------------------------------------------


def test_run_returns_stdout_bytes(client: Client) -> None:
    assert client.containers.run(IMAGE, ["echo", "hi"], remove=True, labels=LABELS) == b"hi\n"


def test_run_string_command_is_split_like_a_shell(client: Client) -> None:
    assert client.containers.run(IMAGE, "sh -c 'echo a  b'", remove=True, labels=LABELS) == b"a b\n"


def test_run_stdout_and_stderr(client: Client) -> None:
    cmd = ["sh", "-c", "echo out; echo err >&2"]
    assert client.containers.run(IMAGE, cmd, remove=True, labels=LABELS) == b"out\n"
    both = client.containers.run(IMAGE, cmd, stderr=True, remove=True, labels=LABELS)
    assert sorted(both.splitlines()) == [b"err", b"out"]
    assert client.containers.run(IMAGE, cmd, stdout=False, stderr=True, remove=True, labels=LABELS) == b"err\n"


def test_run_stream_returns_the_log_stream(client: Client) -> None:
    name = unique("dind-stream")
    out = client.containers.run(IMAGE, ["sh", "-c", "echo a; echo b"], name=name, stream=True, remove=True,
                                labels=LABELS)
    assert b"".join(out) == b"a\nb\n"
    with pytest.raises(errors.NotFound):  # removed once the stream was read to its end
        client.containers.get(name)


def test_logs_of_a_run_container(client: Client) -> None:
    c = client.containers.run(IMAGE, ["sh", "-c", "echo out; echo err >&2"], detach=True, labels=LABELS)
    c.wait()
    assert sorted(c.logs().splitlines()) == [b"err", b"out"]
    assert c.logs(stderr=False) == b"out\n"

def test_run_nonzero_exit_raises_container_error_with_stderr(client: Client) -> None:
    name = unique("dind-fail")
    with pytest.raises(errors.ContainerError) as info:
        client.containers.run(IMAGE, ["sh", "-c", "echo boom >&2; exit 3"], name=name, remove=True, labels=LABELS)
    err = info.value
    assert err.exit_status == 3
    assert err.stderr == b"boom\n"
    assert err.image == IMAGE
    assert "boom" in str(err) and "3" in str(err)
    with pytest.raises(errors.NotFound):  # remove=True removed it despite the error
        client.containers.get(name)


def test_run_nonzero_exit_without_remove_keeps_container(client: Client) -> None:
    name = unique("dind-keep")
    with pytest.raises(errors.ContainerError) as info:
        client.containers.run(IMAGE, ["false"], name=name, labels=LABELS)
    assert info.value.exit_status == 1
    assert info.value.container.name == name
    assert client.containers.get(name).status == "exited"


def test_run_remove_leaves_nothing(client: Client) -> None:
    name = unique("dind-rm")
    assert client.containers.run(IMAGE, ["true"], name=name, remove=True, labels=LABELS) == b""
    with pytest.raises(errors.NotFound):
        client.containers.get(name)
    assert mine(client, name=name) == []


def test_run_detach_returns_running_container(client: Client) -> None:
    c = client.containers.run(IMAGE, ["sleep", "60"], detach=True, labels=LABELS)
    assert isinstance(c, Container)
    c.reload()
    assert c.status == "running"
    assert c.labels["dind.session"] == SESSION
    c.kill()
    assert c.wait()["StatusCode"] == 137


def test_run_detach_remove_sets_auto_remove(client: Client) -> None:
    c = client.containers.run(IMAGE, ["true"], detach=True, remove=True, labels=LABELS)
    assert c.attrs["HostConfig"]["AutoRemove"] is True
    try:
        c.wait(condition="removed")
    except errors.NotFound:
        pass  # already gone before the wait was registered
    with pytest.raises(errors.NotFound):
        c.reload()


def test_run_with_auto_remove_still_returns_output(client: Client) -> None:
    assert client.containers.run(IMAGE, ["echo", "auto"], auto_remove=True, labels=LABELS) == b"auto\n"


def test_run_environment_labels_workdir_user_entrypoint(client: Client) -> None:
    out = client.containers.run(
        IMAGE,
        ["-c", 'echo "$FOO $BAR $EMPTY."; pwd; id -u; hostname'],
        entrypoint=["sh"],
        environment={"FOO": "foo", "BAR": "bar baz", "EMPTY": None},
        working_dir="/tmp",
        user="1234",
        hostname="boxy",
        remove=True,
        labels=LABELS,
    )
    assert out == b"foo bar baz .\n/tmp\n1234\nboxy\n"
    out = client.containers.run(IMAGE, "sh -c 'echo $A$B'", environment=["A=1", "B=2"], entrypoint="",
                                remove=True, labels=LABELS)
    assert out == b"12\n"
    c = client.containers.create(IMAGE, ["true"], labels=["dind.session", "flag"])
    try:
        assert c.labels["dind.session"] == "" and c.labels["flag"] == ""
    finally:
        c.remove(force=True)
    c = client.containers.create(IMAGE, ["true"], labels={**LABELS, "k": "v"})
    assert c.labels["k"] == "v"


def test_run_binds_tmpfs_and_read_only(client: Client, tmp_path) -> None:
    (tmp_path / "f.txt").write_text("from the host")
    out = client.containers.run(
        IMAGE,
        ["sh", "-c", "cat /data/f.txt; echo; grep -c ' /scratch ' /proc/mounts; touch /x 2>/dev/null || echo ro"],
        volumes={str(tmp_path): {"bind": "/data", "mode": "ro"}},
        tmpfs={"/scratch": "size=1m"},
        read_only=True,
        remove=True,
        labels=LABELS,
    )
    assert out == b"from the host\n1\nro\n"
    out = client.containers.run(IMAGE, ["cat", "/d2/f.txt"], volumes=[f"{tmp_path}:/d2:ro"], remove=True,
                                labels=LABELS)
    assert out == b"from the host"
    out = client.containers.run(
        IMAGE, ["cat", "/d3/f.txt"],
        mounts=[{"Type": "bind", "Source": str(tmp_path), "Target": "/d3", "ReadOnly": True}],
        remove=True, labels=LABELS)
    assert out == b"from the host"


def test_run_publishes_ports_on_localhost(client: Client) -> None:
    c = client.containers.run(
        IMAGE,
        ["sleep", "60"],
        ports={"80/tcp": ("127.0.0.1", None), "81": ("127.0.0.1",), "82/udp": [("127.0.0.1", None)]},
        detach=True,
        labels=LABELS,
    )
    c.reload()
    bindings = c.attrs["HostConfig"]["PortBindings"]
    assert bindings["80/tcp"] == [{"HostIp": "127.0.0.1", "HostPort": ""}]
    assert bindings["81/tcp"] == [{"HostIp": "127.0.0.1", "HostPort": ""}]
    assert bindings["82/udp"] == [{"HostIp": "127.0.0.1", "HostPort": ""}]
    assert set(c.attrs["Config"]["ExposedPorts"]) == {"80/tcp", "81/tcp", "82/udp"}
    for key in ("80/tcp", "81/tcp", "82/udp"):
        published = c.ports[key]
        assert published and all(p["HostIp"] == "127.0.0.1" and int(p["HostPort"]) > 0 for p in published)


def test_create_port_forms_without_starting(client: Client) -> None:
    c = client.containers.create(IMAGE, ["true"], ports={"84": 18084, 85: "18085", "86": None, "87": [18087, 18088]},
                                 publish_all_ports=True, labels=LABELS)
    b = c.attrs["HostConfig"]["PortBindings"]
    assert b["84/tcp"] == [{"HostIp": "", "HostPort": "18084"}]
    assert b["85/tcp"] == [{"HostIp": "", "HostPort": "18085"}]
    assert b["86/tcp"] == [{"HostIp": "", "HostPort": ""}]
    assert b["87/tcp"] == [{"HostIp": "", "HostPort": "18087"}, {"HostIp": "", "HostPort": "18088"}]
    assert c.attrs["HostConfig"]["PublishAllPorts"] is True


def test_create_host_options_reach_the_engine(client: Client) -> None:
    c = client.containers.create(
        IMAGE,
        ["true"],
        name=unique("dind-opts"),
        cap_add=["NET_ADMIN"],
        cap_drop=["MKNOD"],
        tty=True,
        stdin_open=True,
        init=True,
        shm_size="32m",
        mem_limit="128m",
        security_opt=["no-new-privileges"],
        extra_hosts={"myhost": "10.1.2.3"},
        dns=["127.0.0.1"],
        ulimits=[{"name": "nofile", "soft": 1024, "hard": 2048}],
        devices=["/dev/null:/dev/mynull:rw"],
        restart_policy={"Name": "on-failure", "MaximumRetryCount": 3},
        healthcheck={"test": "true", "interval": 1_000_000_000, "retries": 2},
        network_mode="none",
        privileged=False,
        stop_signal="SIGINT",
        host_config={"CpuShares": 512},
        labels=LABELS,
    )
    h = c.attrs["HostConfig"]
    cfg = c.attrs["Config"]
    assert h["CapAdd"] == ["NET_ADMIN"] and h["CapDrop"] == ["MKNOD"]
    assert cfg["Tty"] is True and cfg["OpenStdin"] is True
    assert h["Init"] is True
    assert h["ShmSize"] == 32 * 1024 * 1024 and h["Memory"] == 128 * 1024 * 1024
    assert h["SecurityOpt"] == ["no-new-privileges"]
    assert h["ExtraHosts"] == ["myhost:10.1.2.3"]
    assert h["Dns"] == ["127.0.0.1"]
    assert h["Ulimits"] == [{"Name": "nofile", "Soft": 1024, "Hard": 2048}]
    assert h["Devices"] == [{"PathOnHost": "/dev/null", "PathInContainer": "/dev/mynull", "CgroupPermissions": "rw"}]
    assert h["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 3}
    assert cfg["Healthcheck"]["Test"] == ["CMD-SHELL", "true"] and cfg["Healthcheck"]["Retries"] == 2
    assert h["NetworkMode"] == "none"
    assert h["Privileged"] is False
    assert cfg["StopSignal"] == "SIGINT"
    assert h["CpuShares"] == 512  # host_config pass-through


def test_privileged_and_network_kwargs(client: Client) -> None:
    c = client.containers.create(IMAGE, ["true"], privileged=True, network="bridge", labels=LABELS)
    assert c.attrs["HostConfig"]["Privileged"] is True
    assert c.attrs["HostConfig"]["NetworkMode"] == "bridge"
    with pytest.raises(RuntimeError):
        client.containers.create(IMAGE, ["true"], network="bridge", network_mode="host", labels=LABELS)


def test_unknown_kwarg_is_a_type_error(client: Client) -> None:
    with pytest.raises(TypeError, match="bogus_option"):
        client.containers.run(IMAGE, ["true"], bogus_option=1, labels=LABELS)
    with pytest.raises(TypeError, match="another_bogus"):
        client.containers.create(IMAGE, ["true"], another_bogus=1, labels=LABELS)
    assert mine(client) == []


def test_unknown_image_is_image_not_found(client: Client) -> None:
    image = f"dind-no-such-image-{uuid.uuid4().hex[:8]}:nope"
    with pytest.raises(errors.ImageNotFound) as info:
        client.containers.run(image, ["true"], remove=True, labels=LABELS)
    assert image in str(info.value)
    assert isinstance(info.value, errors.NotFound) and info.value.status_code == 404
    with pytest.raises(errors.ImageNotFound):
        client.containers.create(image, ["true"], labels=LABELS)


def test_build_create_body_forms() -> None:
    body, params = build_create_body(
        "img", "echo 'a b'", {"name": "n", "environment": {"A": 1}, "mem_limit": "1g", "detach": True,
                               "volumes": {"/h": "/c"}, "links": {"db": "database"}, "log_config": {"type": "none"}},
        "run")
    assert body["Cmd"] == ["echo", "a b"]
    assert body["Env"] == ["A=1"]
    assert body["AttachStdout"] is False
    assert body["HostConfig"]["Memory"] == 1024**3
    assert body["HostConfig"]["Binds"] == ["/h:/c:rw"] and body["Volumes"] == {"/c": {}}
    assert body["HostConfig"]["Links"] == ["db:database"]
    assert body["HostConfig"]["LogConfig"] == {"Type": "none", "Config": {}}
    assert params == {"name": "n", "platform": None}


# --- waiting ----------------------------------------------------------------------------------------------------------


def test_wait_has_no_total_timeout(offline_images) -> None:
    # The unary calls (create, start) must fit the client's timeout even on a loaded machine; the waits outlast it.
    short = Client.from_env(timeout=4)
    c = short.containers.run(IMAGE, ["sleep", "6"], detach=True, labels=LABELS)
    try:
        assert c.wait() == {"StatusCode": 0, "Error": None}
        # run() waits the same way
        assert short.containers.run(IMAGE, ["sh", "-c", "sleep 6; echo late"], remove=True, labels=LABELS) == b"late\n"
    finally:
        c.remove(force=True)


def test_wait_with_timeout_raises_timeout_error(client: Client) -> None:
    c = client.containers.run(IMAGE, ["sleep", "60"], detach=True, labels=LABELS)
    with pytest.raises(errors.TimeoutError):
        c.wait(timeout=0.5)
    c.kill()
    assert c.wait(timeout=30, condition="not-running")["StatusCode"] == 137



def test_wait_is_interrupted_by_ctrl_c(client: Client) -> None:
    c = client.containers.run(IMAGE, ["sleep", "60"], detach=True, labels=LABELS)
    timer = threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            c.wait()
    finally:
        timer.cancel()
    c.reload()
    assert c.status == "running"

# --- the model's lifecycle ----------------------------------------------------------------------------------------------


def test_lifecycle_methods(client: Client) -> None:
    c = client.containers.create(IMAGE, ["sleep", "60"], name=unique("dind-life"), labels=LABELS)
    assert c.status == "created"
    assert c.short_id == c.id[:12]
    assert repr(c) == f"<Container: {c.short_id}>"
    c.start()
    c.start()  # already running: 304 is fine
    c.reload()
    assert c.status == "running"

    c.pause()
    c.reload()
    assert c.status == "paused"
    c.unpause()
    c.reload()
    assert c.status == "running"

    top = c.top()
    assert "Titles" in top and any("sleep" in " ".join(p) for p in top["Processes"])
    assert c.top(ps_args="-o pid,comm")["Titles"][:2] == ["PID", "COMMAND"]

    stats = c.stats(stream=False, one_shot=True)
    assert "memory_stats" in stats and "cpu_stats" in stats

    new_name = unique("dind-renamed")
    c.rename(new_name)
    c.reload()
    assert c.name == new_name

    c.update(restart_policy={"Name": "on-failure", "MaximumRetryCount": 1}, mem_limit="256m", memswap_limit=-1)
    c.reload()
    assert c.attrs["HostConfig"]["RestartPolicy"]["Name"] == "on-failure"
    assert c.attrs["HostConfig"]["Memory"] == 256 * 1024 * 1024
    with pytest.raises(TypeError, match="not_an_option"):
        c.update(not_an_option=1)

    started = c.attrs["State"]["StartedAt"]
    c.restart(timeout=0)
    c.reload()
    assert c.status == "running" and c.attrs["State"]["StartedAt"] != started

    c.stop(timeout=0)
    c.stop(timeout=0)  # already stopped: 304 is fine
    c.reload()
    assert c.status == "exited"

    c.start()
    c.kill(signal="SIGKILL")
    assert c.wait()["StatusCode"] == 137
    c.start()
    c.kill(signal=9)
    assert c.wait()["StatusCode"] == 137

    c.remove(v=True)
    with pytest.raises(errors.NotFound):
        c.reload()


def test_diff_and_resize(client: Client) -> None:
    c = client.containers.run(IMAGE, ["sh", "-c", "touch /added; sleep 60"], tty=True, detach=True, labels=LABELS)
    for _ in range(100):
        changes = c.diff()
        if {"Path": "/added", "Kind": 1} in changes:
            break
        threading.Event().wait(0.05)
    assert {"Path": "/added", "Kind": 1} in changes
    c.resize(height=40, width=100)
    c.kill()


def test_remove_running_needs_force(client: Client) -> None:
    c = client.containers.run(IMAGE, ["sleep", "60"], detach=True, labels=LABELS)
    with pytest.raises(errors.Conflict):
        c.remove()
    c.remove(force=True)
    with pytest.raises(errors.NotFound):
        client.containers.get(c.id)


def test_name_conflict(client: Client) -> None:
    name = unique("dind-dup")
    client.containers.create(IMAGE, ["true"], name=name, labels=LABELS)
    with pytest.raises(errors.Conflict):
        client.containers.create(IMAGE, ["true"], name=name, labels=LABELS)


# --- get / list / prune -----------------------------------------------------------------------------------------------


def test_get_and_list(client: Client) -> None:
    name = unique("dind-list")
    created = client.containers.create(IMAGE, ["sleep", "60"], name=name, labels=LABELS)
    got = client.containers.get(name)
    assert got == created and hash(got) == hash(created)
    assert client.containers.get(created.short_id).id == created.id
    assert got.image is not None

    flt = {"label": f"dind.session={SESSION}", "name": name}
    assert client.containers.list(filters=flt) == []  # not running
    listed = client.containers.list(all=True, filters=flt)
    assert [c.id for c in listed] == [created.id]
    assert listed[0].attrs["Config"]["Cmd"] == ["sleep", "60"]  # full inspect data

    sparse = client.containers.list(all=True, filters=flt, sparse=True)
    assert [c.id for c in sparse] == [created.id]
    assert sparse[0].name == name and sparse[0].status == "created"
    assert sparse[0].labels["dind.session"] == SESSION

    created.start()
    assert [c.id for c in client.containers.list(filters=flt)] == [created.id]

    other = client.containers.create(IMAGE, ["true"], labels=LABELS)
    assert len(client.containers.list(all=True, filters={"label": f"dind.session={SESSION}"}, limit=1)) == 1
    ids = [c.id for c in client.containers.list(all=True, since=created.id,
                                                  filters={"label": f"dind.session={SESSION}"})]
    assert ids == [other.id]
    ids = [c.id for c in client.containers.list(all=True, before=other.id,
                                                  filters={"label": f"dind.session={SESSION}"})]
    assert ids == [created.id]


def test_list_ignore_removed(client: Client, monkeypatch) -> None:
    c = client.containers.create(IMAGE, ["true"], labels=LABELS)
    coll = client.containers
    real_get = coll.get

    def get_after_removal(cid: str) -> Container:
        client.containers.get(cid).remove(force=True)  # removed between the list and the inspect
        return real_get(cid)

    monkeypatch.setattr(coll, "get", get_after_removal)
    assert coll.list(all=True, filters={"label": f"dind.session={SESSION}"}, ignore_removed=True) == []
    c2 = client.containers.create(IMAGE, ["true"], labels=LABELS)
    with pytest.raises(errors.NotFound):
        coll.list(all=True, filters={"label": f"dind.session={SESSION}"})
    assert c.id != c2.id


def test_get_missing_is_not_found(client: Client) -> None:
    with pytest.raises(errors.NotFound) as info:
        client.containers.get("dind-no-such-container-" + uuid.uuid4().hex)
    assert info.value.status_code == 404
    assert "/containers/dind-no-such-container-" in str(info.value)
    assert client.base_url in str(info.value)


def test_prune_removes_stopped_labelled(client: Client) -> None:
    stopped = client.containers.run(IMAGE, ["true"], detach=True, labels=LABELS)
    stopped.wait()
    running = client.containers.run(IMAGE, ["sleep", "60"], detach=True, labels=LABELS)
    result = client.containers.prune(filters={"label": f"dind.session={SESSION}"})
    assert stopped.id in result["ContainersDeleted"]
    assert running.id not in (result["ContainersDeleted"] or [])
    assert "SpaceReclaimed" in result
    with pytest.raises(errors.NotFound):
        stopped.reload()


def test_collection_is_not_callable(client: Client) -> None:
    assert isinstance(client.containers, ContainerCollection)
    with pytest.raises(TypeError):
        client.containers()


# --- delegation to the streams / archive / images modules ---------------------------------------------------------------

DELEGATIONS = [
    ("logs", "streams", "container_logs", (), {"stdout": True}),
    ("attach", "streams", "container_attach", (), {"stream": True}),
    ("attach_socket", "streams", "container_attach_socket", (), {}),
    ("exec_run", "streams", "container_exec_run", (["echo", "x"],), {"demux": True}),
    ("put_archive", "archive", "container_put_archive", ("/tmp", b"tar"), {}),
    ("get_archive", "archive", "container_get_archive", ("/etc/hostname",), {}),
    ("export", "archive", "container_export", (), {}),
    ("commit", "images", "container_commit", (), {"repository": "r"}),
]


@pytest.mark.parametrize("method,module,function,args,kwargs", DELEGATIONS, ids=[d[0] for d in DELEGATIONS])
def test_methods_delegate(monkeypatch, method, module, function, args, kwargs) -> None:
    full = f"dind.models.{module}"
    try:
        mod = importlib.import_module(full)
    except ImportError:
        mod = types.ModuleType(full)
        monkeypatch.setitem(sys.modules, full, mod)
    calls = []
    monkeypatch.setattr(mod, function, lambda *a, **kw: calls.append((a, kw)) or "sentinel", raising=False)
    c = Container({"Id": "0123456789abcdef"})
    assert getattr(c, method)(*args, **kwargs) == "sentinel"
    assert calls == [((c, *args), kwargs)]


def test_stats_stream_delegates(monkeypatch) -> None:
    full = "dind.models.streams"
    try:
        mod = importlib.import_module(full)
    except ImportError:
        mod = types.ModuleType(full)
        monkeypatch.setitem(sys.modules, full, mod)
    calls = []
    monkeypatch.setattr(mod, "container_stats", lambda *a, **kw: calls.append((a, kw)) or "stream", raising=False)
    c = Container({"Id": "0123456789abcdef"})
    assert c.stats(decode=True) == "stream"
    assert calls[0][0] == (c,) and calls[0][1]["decode"] is True
