"""What the outer engine and the caller know, carried into a Dind: registry credentials (config.json's auths and
credential helpers, for the dind image's own pull and, with login, for pulls through the daemon), the network's MTU,
the caller's proxies. Against the real engine and a real registry (tests/python/registry.py); no secret may show in
a message, a repr, env, logs or the container's inspect output."""
from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Iterator

import pytest

import dind
from dind import _core
from helpers import exists, outer
from registry import PASSWORD, USER, Registry

pytestmark = pytest.mark.usefixtures("offline_images")


@pytest.fixture(scope="module")
def registry() -> Iterator[Registry]:
    r = Registry()
    yield r
    r.close()


@pytest.fixture(scope="module")
def private_dind(registry: Registry, offline_images: tuple) -> Iterator[str]:
    """The dind image pushed once to the private registry, its tag then removed from the engine (layers stay)."""
    client = outer()
    ref = f"{registry.host}/dind-offline"
    client.images.get(offline_images[1]).tag(ref, "carry")
    auth = {"username": USER, "password": PASSWORD, "serveraddress": registry.host}
    client.images.push(ref, "carry", auth_config=auth)
    client.images.remove(f"{ref}:carry")
    yield f"{ref}:carry"
    try:
        client.images.remove(f"{ref}:carry")
    except dind.errors.ImageNotFound:
        pass


def _helper(tmp_path: Path, name: str, script: str) -> str:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    exe = bin_dir / f"docker-credential-{name}"
    exe.write_text("#!/bin/sh\n" + script)
    exe.chmod(0o755)
    return str(bin_dir)


# --- the credentials rules (no daemon) ------------------------------------------------------------------------
def test_registry_of_an_image_follows_the_reference_rules() -> None:
    assert _core.registry_of_image("busybox") == "docker.io"
    assert _core.registry_of_image("library/busybox:1") == "docker.io"
    assert _core.registry_of_image("127.0.0.1:5000/a/b:c") == "127.0.0.1:5000"
    assert _core.registry_of_image("localhost/x@sha256:" + "0" * 64) == "localhost"
    assert _core.registry_of_image("ghcr.io/o/r") == "ghcr.io"


def test_auths_give_user_and_password_by_key_or_host(registry: Registry, tmp_path: Path) -> None:
    cfg = registry.config_dir()
    assert _core.resolve_authconfig(registry.host, cfg) == {
        "username": USER, "password": PASSWORD, "serveraddress": registry.host}
    cfg2 = registry.config_dir({"auths": {f"https://{registry.host}/v2/": {"identitytoken": "tok"},
                                          "https://index.docker.io/v1/": {"auth": "dTpw"}}})
    assert _core.resolve_authconfig(registry.host, cfg2)["identitytoken"] == "tok"
    assert _core.resolve_authconfig("docker.io", cfg2)["username"] == "u"
    assert _core.resolve_authconfig("other.example:5000", cfg2) is None
    assert _core.resolve_authconfig("x", str(tmp_path / "none")) is None


def test_a_credential_helper_answers_and_a_token_is_an_identity_token(
        registry: Registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = _helper(tmp_path, "t", 'read s; [ "$1" = get ] || exit 3\n'
                      'case "$s" in *' + registry.host + ') echo "{\\"Username\\":\\"' + USER +
                      '\\",\\"Secret\\":\\"' + PASSWORD + '\\"}";; *) echo "{\\"Username\\":\\"<token>\\",\\"Secret\\":\\"tk\\"}";; esac\n')
    monkeypatch.setenv("PATH", bin_dir + os.pathsep + os.environ["PATH"])
    cfg = registry.config_dir({"credHelpers": {registry.host: "t"}, "credsStore": "t"})
    assert _core.resolve_authconfig(registry.host, cfg)["password"] == PASSWORD
    assert _core.resolve_authconfig("docker.io", cfg) == {
        "identitytoken": "tk", "serveraddress": "https://index.docker.io/v1/"}


def test_a_missing_or_failing_helper_is_named_with_the_registry_never_the_secret(
        registry: Registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = _helper(tmp_path, "bad", f'echo "{PASSWORD}"; echo "keychain locked" >&2; exit 1\n')
    _helper(tmp_path, "none", 'echo "credentials not found in native keychain"; exit 1\n')
    monkeypatch.setenv("PATH", bin_dir + os.pathsep + os.environ["PATH"])
    with pytest.raises(dind.errors.DockerException) as e:
        _core.resolve_authconfig(registry.host, registry.config_dir({"credHelpers": {registry.host: "bad"}}))
    assert "docker-credential-bad" in str(e.value) and registry.host in str(e.value)
    assert "keychain locked" in str(e.value) and PASSWORD not in str(e.value)
    with pytest.raises(dind.errors.DockerException) as e:
        _core.resolve_authconfig(registry.host, registry.config_dir({"credsStore": "gone"}))
    assert "docker-credential-gone" in str(e.value) and "PATH" in str(e.value) and registry.host in str(e.value)
    assert _core.resolve_authconfig(registry.host, registry.config_dir({"credsStore": "none"})) is None


# --- a Dind from the private registry, with what is carried -------------------------------------------------
def test_a_private_dind_image_fails_clearly_without_credentials(
        registry: Registry, private_dind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    with pytest.raises(dind.errors.DockerException) as e:
        dind.Dind(private_dind, name="dind-carry-nocreds")
    assert private_dind in str(e.value) and "no credentials" in str(e.value) and PASSWORD not in str(e.value)
    monkeypatch.setenv("DOCKER_CONFIG", registry.config_dir())
    with pytest.raises(dind.errors.DockerException) as e:
        dind.Dind(private_dind, name="dind-carry-nocreds", credentials=False)
    assert PASSWORD not in str(e.value)
    assert not exists("dind-carry-nocreds")


def test_private_image_mtu_proxy_and_login_are_carried_without_leaking(
        registry: Registry, private_dind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    client = outer()
    net = client.networks.create("dind-carry-mtu", driver="bridge",
                                 options={"com.docker.network.driver.mtu": "1400"})
    monkeypatch.setenv("DOCKER_CONFIG", registry.config_dir())
    monkeypatch.setenv("HTTP_PROXY", f"http://{USER}:{PASSWORD}@10.0.0.1:3128")
    monkeypatch.setenv("no_proxy", "localhost,10.1.0.0/16")
    try:
        with dind.Dind(private_dind, network="dind-carry-mtu", login=True) as d:
            inspect = client.api.inspect_container(d.id)
            assert "--mtu=1400" in inspect["Args"]
            assert "no_proxy=localhost,10.1.0.0/16" in inspect["Config"]["Env"]
            assert PASSWORD not in json.dumps(inspect)
            inner_bridge = d.client.networks.get("bridge").attrs["Options"]
            assert inner_bridge.get("com.docker.network.driver.mtu") == "1400"
            code, out = d.exec(["sh", "-c", "tr '\\0' '\\n' </proc/$(pidof dockerd)/environ"])
            assert code == 0 and f"HTTP_PROXY=http://{USER}:{PASSWORD}@10.0.0.1:3128" in out.decode()
            code, out = d.exec(["sh", "-c", "ls /dind-proxy.env 2>&1"])
            assert code != 0  # read once and deleted
            cfg = Path(d.env["DOCKER_CONFIG"])
            assert stat.S_IMODE(cfg.stat().st_mode) == 0o700
            assert stat.S_IMODE((cfg / "config.json").stat().st_mode) == 0o600
            assert _core.resolve_authconfig(registry.host, str(cfg))["password"] == PASSWORD
            for shown in (repr(d), json.dumps(d.env), d.logs(500), str(d.reach)):
                assert PASSWORD not in shown
            private = d.dir
        assert not Path(private).exists()
    finally:
        net.remove()


def test_opt_outs_carry_nothing(registry: Registry, monkeypatch: pytest.MonkeyPatch) -> None:
    client = outer()
    net = client.networks.create("dind-carry-off", driver="bridge", options={"com.docker.network.driver.mtu": "1400"})
    monkeypatch.setenv("HTTPS_PROXY", "http://10.0.0.2:3128")
    try:
        with dind.Dind("dind-offline:latest", network="dind-carry-off", carry_mtu=False, carry_proxy=False) as d:
            inspect = client.api.inspect_container(d.id)
            assert not any(a.startswith("--mtu") for a in inspect["Args"])
            assert not any(e.startswith("HTTPS_PROXY") for e in inspect["Config"]["Env"])
            assert "DOCKER_CONFIG" not in d.env
    finally:
        net.remove()


def test_mirrors_and_insecure_registries_of_the_outer_engine_are_carried_and_serve_pulls(registry: Registry) -> None:
    import time

    from jobs import engine_runtime_wrapper
    from registry import serve_in_container

    # The outer engine is itself a Dind on a network with a live mirror (plain HTTP, as CI mirrors commonly run);
    # on this machine it needs the runtime wrapper to run a privileged nested container (ENVIRONMENT.md). A second
    # mirror answers nothing: the nested daemon must start anyway, and pull through the live one.
    client = outer()
    net = client.networks.create("dind-carry-mirror", driver="bridge")
    served = None
    try:
        served = serve_in_container(registry, client, "dind-carry-mirror", "dind-carry-mirror", secure=False)
        served.reload()
        ip = served.attrs["NetworkSettings"]["Networks"]["dind-carry-mirror"]["IPAddress"]
        port = served.attrs["NetworkSettings"]["Ports"]["5000/tcp"][0]["HostPort"]
        # What a Docker Hub mirror serves: library/busybox, pushed from the host (127.0.0.0/8 is insecure by default).
        local = f"127.0.0.1:{port}/library/busybox"
        client.images.get("busybox:latest").tag(local, "mirrored")
        try:
            for _ in range(50):  # the container's registry may take a moment to listen
                try:
                    client.images.push(local, "mirrored")
                    break
                except dind.errors.DockerException:
                    time.sleep(0.2)
        finally:
            client.images.remove(f"{local}:mirrored")
        wrapper = engine_runtime_wrapper()
        mounts = [f"{wrapper}:{wrapper}:ro"] if wrapper else []
        args = [f"--add-runtime=capfix={wrapper}", "--default-runtime=capfix"] if wrapper else []
        args += [f"--registry-mirror=http://{ip}:5000", "--registry-mirror=https://10.255.255.1:5000",
                 "--insecure-registry=10.99.0.0/16", "--insecure-registry=myreg.test:5000"]
        with dind.Dind("dind-offline:latest", mounts=mounts, dockerd_args=args, network="dind-carry-mirror") as middle:
            middle.load_images(["dind-offline:latest"])
            with dind.Dind("dind-offline:latest", client=middle.client) as inner:
                rc = inner.client.info()["RegistryConfig"]
                assert rc["Mirrors"] == [f"http://{ip}:5000/", "https://10.255.255.1:5000/"]
                assert "10.99.0.0/16" in rc["InsecureRegistryCIDRs"]
                assert rc["IndexConfigs"]["myreg.test:5000"]["Secure"] is False
                # No network beyond the machine: only the carried mirror can serve this pull of a Hub image.
                inner.client.images.pull("busybox", tag="mirrored")
                assert inner.client.images.get("busybox:mirrored")
            with dind.Dind("dind-offline:latest", client=middle.client, carry_registries=False) as plain:
                rc = plain.client.info()["RegistryConfig"]
                assert rc["Mirrors"] == [] and "10.99.0.0/16" not in rc["InsecureRegistryCIDRs"]
    finally:
        if served is not None:
            served.remove(force=True)
        net.remove()


def test_login_makes_pulls_through_the_daemon_authenticated(registry: Registry, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    import subprocess
    import time

    from registry import serve_in_container

    client = outer()
    net = client.networks.create("dind-carry-login", driver="bridge")
    served = None
    try:
        served = serve_in_container(registry, client, "dind-carry-login", "dind-carry-registry")
        served.reload()
        ip = served.attrs["NetworkSettings"]["Networks"]["dind-carry-login"]["IPAddress"]
        port = served.attrs["NetworkSettings"]["Ports"]["5000/tcp"][0]["HostPort"]
        local, inner = f"127.0.0.1:{port}/busybox", f"{ip}:5000/busybox"
        client.images.get("busybox:latest").tag(local, "login")
        auth = {"username": USER, "password": PASSWORD, "serveraddress": f"127.0.0.1:{port}"}
        for _ in range(50):  # the container's registry may take a moment to listen
            try:
                client.images.push(local, "login", auth_config=auth)
                break
            except dind.errors.DockerException:
                time.sleep(0.2)
        client.images.remove(f"{local}:login")
        cfg = registry.config_dir({"auths": {f"{ip}:5000": {"auth": __import__("base64").b64encode(
            f"{USER}:{PASSWORD}".encode()).decode()}}})
        monkeypatch.setenv("DOCKER_CONFIG", cfg)
        args = [f"--insecure-registry={ip}:5000"]
        with dind.Dind("dind-offline:latest", network="dind-carry-login", dockerd_args=args, login=True) as d:
            d.client.images.pull(inner, tag="login")
            assert d.client.images.get(f"{inner}:login")
            d.client.images.remove(f"{inner}:login")
            cli = subprocess.run(["docker", "pull", f"{inner}:login"], env={**os.environ, **d.env},
                                 capture_output=True, text=True, timeout=120)
            assert cli.returncode == 0, cli.stderr
            assert PASSWORD not in json.dumps(d.env) and PASSWORD not in repr(d)
        with dind.Dind("dind-offline:latest", network="dind-carry-login", dockerd_args=args) as d:
            with pytest.raises(dind.errors.DockerException) as e:
                d.client.images.pull(inner, tag="login")
            assert PASSWORD not in str(e.value)
    finally:
        if served is not None:
            served.remove(force=True)
        net.remove()
