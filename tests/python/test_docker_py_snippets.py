"""docker-py snippets, as CI scripts and docker-py's own docs write them, run unchanged but for the import
(``import docker`` → ``import dind as docker``) against the real engine. Each snippet leaves its answer in
``result``; those in COMPARED also run with docker-py itself, and both answers must be equal, which proves that the
shapes match. Each snippet removes what it made; the fixture checks that nothing named for it is left.
"""
from __future__ import annotations

import textwrap
import types
import uuid
from pathlib import Path
from typing import Any, Dict, Iterator

import pytest

import dind
from helpers import outer

# The names a snippet may use besides `docker`: NAME (unique to the run), TMP (an empty directory).
SNIPPETS: Dict[str, str] = {
    "docker_client_base_url": """
        import docker
        client = docker.DockerClient(base_url="unix://var/run/docker.sock", version="auto", timeout=30)
        result = (client.ping(), "ApiVersion" in client.version(), isinstance(client.info()["Containers"], int))
    """,
    "from_env_with_docker_py_keywords": """
        import docker
        client = docker.from_env(timeout=20, max_pool_size=4, use_ssh_client=False)
        result = client.ping()
    """,
    "from_env_environment": """
        import docker
        client = docker.DockerClient.from_env(environment={"DOCKER_HOST": "unix:///var/run/docker.sock"})
        result = client.ping()
    """,
    "kwargs_from_env_socket": """
        import docker
        kwargs = docker.utils.kwargs_from_env(environment={"DOCKER_HOST": "unix:///var/run/docker.sock"})
        result = (sorted(kwargs), docker.DockerClient(**kwargs).ping())
    """,
    "kwargs_from_env_tls": """
        import os
        import docker
        for name in ("ca.pem", "cert.pem", "key.pem"):
            open(os.path.join(TMP, name), "w").write("-----BEGIN CERTIFICATE-----\\n")
        kwargs = docker.utils.kwargs_from_env(environment={
            "DOCKER_HOST": "tcp://127.0.0.1:2376", "DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": TMP})
        tls = kwargs["tls"]
        result = (sorted(kwargs), tls.cert, tls.ca_cert, tls.verify)
    """,
    "run_echo": """
        import docker
        client = docker.from_env()
        result = client.containers.run("busybox:latest", ["echo", "hello"], remove=True, name=NAME)
    """,
    "run_fails_with_container_error": """
        import docker
        client = docker.from_env()
        try:
            client.containers.run("busybox:latest", "sh -c 'echo oops >&2; exit 3'", remove=True, name=NAME)
        except docker.errors.ContainerError as e:
            result = (e.exit_status, e.stderr)
    """,
    "run_with_option_types": """
        import docker
        from docker.types import Healthcheck, LogConfig, Mount, Ulimit
        client = docker.from_env()
        c = client.containers.create(
            "busybox:latest", "sleep 30", name=NAME,
            mounts=[Mount("/scratch", None, type="tmpfs", tmpfs_size="1m"), Mount("/data", NAME, type="volume")],
            ulimits=[Ulimit(name="nofile", soft=1024, hard=2048)],
            log_config=LogConfig(type=LogConfig.types.JSON, config={"max-size": "1m"}),
            restart_policy={"Name": "on-failure", "MaximumRetryCount": 2},
            healthcheck=Healthcheck(test="true", interval=2_000_000_000, retries=3))
        try:
            hc, cfg = c.attrs["HostConfig"], c.attrs["Config"]
            result = ([(m["Type"], m["Target"]) for m in hc["Mounts"]], hc["Ulimits"], hc["LogConfig"],
                      hc["RestartPolicy"], cfg["Healthcheck"])
        finally:
            c.remove(v=True, force=True)
            client.volumes.get(NAME).remove()
    """,
    "run_on_a_network_with_aliases": """
        import docker
        client = docker.from_env()
        net = client.networks.create(NAME, driver="bridge")
        try:
            c = client.containers.run("busybox:latest", "sleep 30", detach=True, name=NAME, network=NAME,
                                      networking_config={NAME: client.api.create_endpoint_config(aliases=["web"])})
            try:
                c.reload()
                result = "web" in c.attrs["NetworkSettings"]["Networks"][NAME]["Aliases"]
            finally:
                c.remove(force=True)
        finally:
            net.remove()
    """,
    "network_with_ipam": """
        import docker
        from docker.types import IPAMConfig, IPAMPool
        client = docker.from_env()
        ipam = IPAMConfig(pool_configs=[IPAMPool(subnet="10.231.57.0/24", gateway="10.231.57.1")])
        net = client.networks.create(NAME, driver="bridge", ipam=ipam)
        try:
            result = net.attrs["IPAM"]["Config"]
        finally:
            net.remove()
    """,
    "api_create_start_wait_logs": """
        import docker
        api = docker.from_env().api
        c = api.create_container("busybox:latest", ["sh", "-c", "echo out; echo err >&2; exit 3"], name=NAME,
                                 host_config=api.create_host_config(mem_limit="64m"))
        try:
            api.start(c)
            status = api.wait(c)
            # stdout and stderr are two pipes: their order in the log is the container's race, so compare sorted
            result = (sorted(c), c["Warnings"], status["StatusCode"], sorted(api.logs(c).splitlines()),
                      api.logs(c, stderr=False), sorted(b"".join(api.logs(c, stream=True)).splitlines()),
                      api.inspect_container(c["Id"])["HostConfig"]["Memory"])
        finally:
            api.remove_container(c, force=True)
    """,
    "api_logs_stream_yields_bytes": """
        import docker
        api = docker.APIClient(base_url="unix://var/run/docker.sock")
        c = api.create_container("busybox:latest", "sh -c 'for i in 1 2 3; do echo $i; done'", name=NAME)
        try:
            api.start(container=c.get("Id"))
            chunks = list(api.logs(c, stream=True, follow=True))
            result = (all(isinstance(x, bytes) for x in chunks), b"".join(chunks))
        finally:
            api.remove_container(c, v=True, force=True)
    """,
    "api_exec": """
        import docker
        api = docker.from_env().api
        c = api.create_container("busybox:latest", "sleep 30", name=NAME)
        try:
            api.start(c)
            e = api.exec_create(c, "sh -c 'echo hi; echo err >&2'", environment={"A": "1"})
            out = api.exec_start(e)
            e2 = api.exec_create(c["Id"], ["sh", "-c", "echo $A; echo err >&2"], environment=["A=2"])
            demuxed = api.exec_start(e2["Id"], demux=True)
            e3 = api.exec_create(c, "echo streamed")
            streamed = b"".join(api.exec_start(e3, stream=True))
            result = (sorted(e), sorted(out.splitlines()), demuxed, streamed, api.exec_inspect(e)["ExitCode"])
        finally:
            api.remove_container(c, force=True)
    """,
    "api_host_config_ports_and_binds": """
        import docker
        api = docker.from_env().api
        hc = api.create_host_config(port_bindings={80: ("127.0.0.1", None), "53/udp": None},
                                    binds={TMP: {"bind": "/mnt", "mode": "ro"}}, cap_drop=["MKNOD"],
                                    restart_policy={"Name": "always"})
        c = api.create_container("busybox:latest", "true", ports=[80, (53, "udp")], volumes=["/mnt"],
                                 host_config=hc, name=NAME, labels={"x": "y"})
        try:
            i = api.inspect_container(c)
            result = (i["HostConfig"]["Binds"], i["HostConfig"]["PortBindings"], sorted(i["Config"]["ExposedPorts"]),
                      i["HostConfig"]["CapDrop"], i["HostConfig"]["RestartPolicy"]["Name"], i["Config"]["Labels"])
        finally:
            api.remove_container(c, force=True)
    """,
    "api_networking_config": """
        import docker
        client = docker.from_env()
        api = client.api
        net = client.networks.create(NAME)
        try:
            nc = api.create_networking_config({NAME: api.create_endpoint_config(aliases=["db"])})
            c = api.create_container("busybox:latest", "sleep 30", name=NAME, networking_config=nc,
                                     host_config=api.create_host_config(network_mode=NAME))
            try:
                api.start(c)
                result = api.inspect_container(c)["NetworkSettings"]["Networks"][NAME]["Aliases"][:1]
            finally:
                api.remove_container(c, force=True)
        finally:
            net.remove()
    """,
    "api_archive_pause_diff_stats": """
        import io
        import tarfile
        import docker
        api = docker.from_env().api
        c = api.create_container("busybox:latest", "sleep 30", name=NAME)
        try:
            api.start(c)
            buf = io.BytesIO()
            with tarfile.open(fileobj=buf, mode="w") as t:
                info = tarfile.TarInfo("hello.txt")
                info.size = 3
                t.addfile(info, io.BytesIO(b"hi\\n"))
            put = api.put_archive(c, "/tmp", buf.getvalue())
            stream, stat = api.get_archive(c, "/tmp/hello.txt")
            member = tarfile.open(fileobj=io.BytesIO(b"".join(stream))).extractfile("hello.txt").read()
            api.pause(c)
            paused = api.inspect_container(c)["State"]["Paused"]
            api.unpause(c)
            sample = api.stats(c, stream=False)
            result = (put, stat["name"], stat["size"], member, paused, {"Path": "/tmp/hello.txt", "Kind": 1} in
                      api.diff(c), "memory_stats" in sample)
        finally:
            api.remove_container(c, force=True)
    """,
    "api_networks_and_volumes": """
        import docker
        api = docker.from_env().api
        net = api.create_network(NAME, driver="bridge", labels={"snippet": NAME})
        vol = api.create_volume(name=NAME, labels={"snippet": NAME})
        c = api.create_container("busybox:latest", "sleep 30", name=NAME,
                                 host_config=api.create_host_config(binds=[f"{NAME}:/data"]))
        try:
            api.start(c)
            api.connect_container_to_network(c, net["Id"], aliases=["svc"])
            joined = api.inspect_container(c)["NetworkSettings"]["Networks"][NAME]["Aliases"][:1]
            api.disconnect_container_from_network(c, NAME)
            listed = [n["Name"] for n in api.networks(names=[NAME])]
            volumes = [v["Name"] for v in api.volumes(filters={"label": f"snippet={NAME}"})["Volumes"]]
            result = (sorted(net), vol["Name"], vol["Labels"], joined, listed, volumes,
                      api.inspect_network(NAME)["Labels"], api.inspect_volume(NAME)["Driver"])
        finally:
            api.remove_container(c, force=True)
            api.remove_network(net["Id"])
            api.remove_volume(NAME)
    """,
    "api_lists": """
        import docker
        api = docker.from_env().api
        c = api.create_container("busybox:latest", "true", name=NAME, labels={"snippet": NAME})
        try:
            listed = api.containers(all=True, filters={"label": f"snippet={NAME}"})
            quiet = api.containers(all=True, quiet=True, filters={"label": f"snippet={NAME}"})
            images = api.images(name="busybox", quiet=True)
            result = (len(listed), listed[0]["Labels"], quiet == [{"Id": c["Id"]}],
                      all(isinstance(i, str) for i in images), api.inspect_image("busybox:latest")["RepoTags"][:1])
        finally:
            api.remove_container(c)
    """,
    "api_tag_and_remove_image": """
        import docker
        api = docker.from_env().api
        ok = api.tag("busybox:latest", NAME, "v1")
        tags = api.inspect_image(f"{NAME}:v1")["RepoTags"]
        removed = api.remove_image(f"{NAME}:v1")
        result = (ok, f"{NAME}:v1" in tags, removed)
    """,
    "api_build_decoded": """
        import io
        import docker
        api = docker.from_env().api
        dockerfile = io.BytesIO(b"FROM busybox:latest\\nRUN echo built > /f\\n")
        log = list(api.build(fileobj=dockerfile, tag=f"{NAME}:latest", rm=True, decode=True))
        raw = list(api.build(fileobj=io.BytesIO(b"FROM busybox:latest\\n"), tag=f"{NAME}:raw", rm=True))
        try:
            result = (all(isinstance(x, dict) for x in log), any("Successfully tagged" in x.get("stream", "")
                      for x in log), all(isinstance(x, bytes) for x in raw))
        finally:
            api.remove_image(f"{NAME}:latest")
            api.remove_image(f"{NAME}:raw")
    """,
    "api_build_error_is_a_log_line": """
        import io
        import docker
        api = docker.from_env().api
        log = list(api.build(fileobj=io.BytesIO(b"FROM busybox:latest\\nRUN exit 7\\n"), forcerm=True, decode=True))
        result = [x["errorDetail"]["code"] for x in log if "errorDetail" in x]
    """,
    "images_build_raises_build_error": """
        import io
        import docker
        client = docker.from_env()
        try:
            client.images.build(fileobj=io.BytesIO(b"FROM busybox:latest\\nRUN exit 7\\n"), forcerm=True)
        except docker.errors.BuildError as e:
            result = ("returned a non-zero code: 7" in e.msg, isinstance(list(e.build_log), list))
    """,
    "pull_missing_image": """
        import docker
        client = docker.from_env()
        try:
            client.images.pull("dind-snippets/no-such-image", tag="latest")
        except docker.errors.APIError as e:
            result = (e.status_code, e.is_server_error(), "no such host" in e.explanation)
    """,
    "api_pull_missing_image": """
        import docker
        api = docker.from_env().api
        try:
            list(api.pull("dind-snippets/no-such-image", tag="latest", stream=True, decode=True))
        except docker.errors.APIError as e:
            result = (e.response.status_code, e.response.reason, isinstance(e.explanation, str))
    """,
    "api_push_to_a_closed_port_reports_in_the_stream": """
        import docker
        api = docker.from_env().api
        api.tag("busybox:latest", f"127.0.0.1:1/{NAME}", "v1")
        try:
            lines = list(api.push(f"127.0.0.1:1/{NAME}", tag="v1", stream=True, decode=True))
            result = any("error" in line for line in lines)
        finally:
            api.remove_image(f"127.0.0.1:1/{NAME}:v1")
    """,
    "load_a_missing_file": """
        import docker
        client = docker.from_env()
        try:
            client.images.load(open(f"{TMP}/missing.tar", "rb"))
        except FileNotFoundError as e:
            result = e.filename.endswith("missing.tar")
        try:
            client.images.load(f"{TMP}/missing.tar")
        except docker.errors.ImageLoadError as e:
            result = (result, isinstance(e, docker.errors.DockerException))
    """,
    "not_found_error_shape": """
        import docker
        client = docker.from_env()
        try:
            client.containers.get(NAME)
        except docker.errors.NotFound as e:
            result = (e.status_code, e.response.status_code, e.is_client_error(), isinstance(e, docker.errors.APIError),
                      NAME in e.explanation)
    """,
    "bad_arguments_raise_docker_py_types": """
        import docker
        from docker.types import DeviceRequest, EndpointConfig, LogConfig, Mount, RestartPolicy, Ulimit
        api = docker.from_env().api
        calls = [lambda: Mount("/x", "y", type="bogus"), lambda: RestartPolicy(condition="x"),
                 lambda: DeviceRequest(count="x"), lambda: Ulimit(name=1),
                 lambda: LogConfig(type="json-file", config="x"),
                 lambda: EndpointConfig("1.21", aliases=["a"]), lambda: api.create_host_config(bogus_key=1),
                 lambda: api.create_host_config(version="1.41"), lambda: api.inspect_container(None),
                 lambda: api.start(NAME, privileged=True), lambda: Mount("/x", "/y", type="bind", no_copy=True),
                 lambda: docker.tls.TLSConfig(client_cert=("/nonexistent/cert.pem", "/nonexistent/key.pem"))]
        result = []
        for call in calls:
            try:
                call()
                result.append(None)
            except Exception as e:
                result.append(type(e).__name__)
    """,
    "types_are_api_shaped_dicts": """
        import docker
        t = docker.types
        result = (t.Mount("/d", "v", read_only=True), t.Mount.parse_mount_string("/h:/c:ro"),
                  t.Ulimit(name="nproc", soft=10), t.LogConfig(type="syslog"), t.RestartPolicy(condition="any"),
                  t.DeviceRequest(count=-1, capabilities=[["gpu"]]), t.Healthcheck(test=["CMD", "true"]),
                  t.EndpointConfig("1.41", aliases=["a"], ipv4_address="10.0.0.2", links={"db": "d"}),
                  t.NetworkingConfig({"n": {}}), t.IPAMConfig(pool_configs=[t.IPAMPool(subnet="10.0.0.0/24")]),
                  isinstance(t.Mount("/d", "v"), dict))
    """,
    "utils": """
        import docker
        u = docker.utils
        result = (u.parse_repository_tag("localhost:5000/x/y:1.2"), u.parse_repository_tag("busybox"),
                  u.parse_bytes("128m"), u.parse_bytes("1g"), u.parse_bytes(512))
    """,
    "container_model_detached": """
        import docker
        client = docker.from_env()
        c = client.containers.run("busybox:latest", "sh -c 'echo ready; sleep 30'", detach=True, name=NAME,
                                  labels={"snippet": NAME})
        try:
            code, out = c.exec_run("echo inside")
            found = client.containers.list(filters={"label": f"snippet={NAME}"})
            c.stop(timeout=1)
            result = (code, out, [x.name for x in found], c.wait()["StatusCode"], c.logs())
        finally:
            c.remove(force=True)
    """,
}
# Run by docker-py too; equal answers. The others cover what docker-py does not have (or answers differently on
# purpose: see README, "Porting from docker-py").
COMPARED = set(SNIPPETS) - {"api_build_error_is_a_log_line"}


@pytest.fixture(scope="module")
def docker_py() -> types.ModuleType:
    """docker-py itself, which scripts/provision.sh installs: missing, the comparison fails rather than skips."""
    import docker

    return docker


def _run(module: types.ModuleType, code: str, name: str, tmp: Path) -> Any:
    source = textwrap.dedent(code)
    if module is dind:
        assert "import docker\n" in source
        source = source.replace("import docker\n", "import dind as docker\n").replace(
            "from docker.types import", "from dind.types import")
    scope: Dict[str, Any] = {"NAME": name, "TMP": str(tmp)}
    exec(compile(source, f"<snippet {name}>", "exec"), scope)
    assert "result" in scope, "the snippet set no result"
    return scope["result"]


def _left(name: str) -> list:
    o = outer()
    return ([c.name for c in o.containers.list(all=True, filters={"name": name})] +
            [n.name for n in o.networks.list(names=[name])] + [v.name for v in o.volumes.list(filters={"name": name})])


def _container_ids() -> set:
    return {c.id for c in outer().containers.list(all=True)}


@pytest.fixture
def name(offline_images: tuple) -> Iterator[str]:
    n = f"dind-snippet-{uuid.uuid4().hex[:10]}"
    before = _container_ids()
    yield n
    assert _left(n) == [], "the snippet left these behind"
    # Unnamed ones too (a failed build's step container): the suite runs one test at a time on this engine.
    assert _container_ids() - before == set(), "the snippet left unnamed containers behind"


@pytest.mark.parametrize("snippet", sorted(SNIPPETS))
def test_snippet(snippet: str, name: str, tmp_path: Path, docker_py: types.ModuleType,
                 monkeypatch: pytest.MonkeyPatch) -> None:
    ours = _run(dind, SNIPPETS[snippet], name, tmp_path)
    if snippet in COMPARED:
        monkeypatch.delenv("DOCKER_HOST", raising=False)
        theirs = _run(docker_py, SNIPPETS[snippet], name, tmp_path)
        assert ours == theirs, f"dind answered {ours!r}, docker-py {theirs!r}"
    assert ours is not None


def test_a_snippet_that_sets_no_result_fails(name: str, tmp_path: Path) -> None:
    with pytest.raises(AssertionError):
        _run(dind, "import docker\nx = 1\n", name, tmp_path)


TLS_SNIPPET = """
    import docker
    kwargs = docker.utils.kwargs_from_env(environment=ENV)
    certs = ENV["DOCKER_CERT_PATH"]
    tls = docker.tls.TLSConfig(client_cert=(f"{certs}/cert.pem", f"{certs}/key.pem"), ca_cert=f"{certs}/ca.pem",
                               verify=True)
    client = docker.DockerClient(base_url=ENV["DOCKER_HOST"], tls=tls, timeout=20)
    result = (sorted(kwargs), kwargs["tls"].verify, docker.DockerClient(**kwargs).ping(), client.ping(),
              client.containers.list() == [])
"""


def test_tls_config_and_kwargs_from_env_reach_a_tls_daemon(offline_images: tuple, tmp_path: Path,
                                                            docker_py: types.ModuleType,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """A mutual-TLS daemon (a throwaway dind), dialled through docker-py's TLS names by dind and by docker-py."""
    with dind.Dind(offline_images[1]) as d:
        code = TLS_SNIPPET.replace("ENV", repr(dict(d.env)))
        ours = _run(dind, code, "tls", tmp_path)
        # docker-py lets REQUESTS_CA_BUNDLE win over the CA it is given (requests' rule): take it away for docker-py.
        for var in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
            monkeypatch.delenv(var, raising=False)
        theirs = _run(docker_py, code, "tls", tmp_path)
    assert ours == theirs == (["base_url", "tls"], True, True, True, True)
