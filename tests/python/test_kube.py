"""The Kubernetes backend from Python, against the real one-node cluster of scripts/cluster.sh (KUBECONFIG as
``scripts/cluster.sh env`` prints it; scripts/test.sh starts the cluster): the same ``Dind`` API on a pod."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any, Dict

import pytest

import dind

NODE = "localhost"  # the test cluster has no scheduler: pods name their node


def _kubectl(*args: str) -> Dict[str, Any]:
    """kubectl (the cluster's own build: $KUBECTL, as `scripts/cluster.sh env` prints it) as JSON."""
    out = subprocess.run([os.environ.get("KUBECTL", "kubectl"), *args, "-o", "json"], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


@pytest.fixture(scope="module")
def kubeconfig(offline_images: tuple) -> str:
    path = os.environ.get("KUBECONFIG", "")
    assert path, "KUBECONFIG is not set: start the test cluster (scripts/cluster.sh start; scripts/cluster.sh env)"
    return path


def _start(kubeconfig: str, **kw: Any) -> dind.Dind:
    return dind.Dind("dind-offline:latest", backend="kubernetes", kubeconfig=kubeconfig, node=NODE, pull="never",
                     labels={"dind.test": f"py-kube-{os.getpid()}"}, **kw)


def test_a_pod_daemon_runs_containers_and_the_cli_and_close_removes_pod_and_secret(kubeconfig: str) -> None:
    with _start(kubeconfig) as d:
        name = d.name
        assert d.client.ping()
        assert d.reach.kind == "tunnel"
        d.load_images(["busybox:latest"])
        out = d.client.containers.run("busybox:latest", ["echo", "hello from a pod"], remove=True)
        assert out == b"hello from a pod\n"
        cli = subprocess.run(["docker", "run", "--rm", "busybox:latest", "echo", "via-cli"],
                             env={**os.environ, **d.env}, capture_output=True, text=True, timeout=120)
        assert cli.stdout == "via-cli\n", cli.stderr
        pods = _kubectl("get", "pods", "-l", f"dind.test=py-kube-{os.getpid()}")["items"]
        assert [p["metadata"]["name"] for p in pods] == [name]
        spec = pods[0]["spec"]
        assert spec["containers"][0]["securityContext"]["privileged"] is True
        assert {v["name"] for v in spec["volumes"]} == {"docker", "certs"}
        assert "emptyDir" in [v for v in spec["volumes"] if v["name"] == "docker"][0]
    assert _kubectl("get", "pods,secrets", "-l", f"dind.test=py-kube-{os.getpid()}")["items"] == []


def test_resources_reach_the_pod(kubeconfig: str) -> None:
    with _start(kubeconfig, resources={"requests": {"cpu": "100m"}, "limits": {"memory": "1Gi"}}) as d:
        pod = _kubectl("get", "pod", d.name)
        resources = pod["spec"]["containers"][0]["resources"]
        # The API server defaults a request left out to its limit (memory here).
        assert resources["requests"]["cpu"] == "100m" and resources["limits"] == {"memory": "1Gi"}


def test_a_pod_that_cannot_start_fails_fast_with_its_events(kubeconfig: str) -> None:
    with pytest.raises(dind.errors.DaemonStartError, match="ErrImageNeverPull") as e:
        dind.Dind("dind-no-such-image:never", backend="kubernetes", kubeconfig=kubeconfig, node=NODE, pull="never",
                  labels={"dind.test": f"py-kube-{os.getpid()}"})
    assert "the pod's events" in str(e.value)
    assert _kubectl("get", "pods,secrets", "-l", f"dind.test=py-kube-{os.getpid()}")["items"] == []


def test_no_kubeconfig_says_where_it_looked(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "none"))
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    with pytest.raises(dind.errors.DockerException, match="kubeconfig"):
        dind.Dind("dind-offline:latest", backend="kubernetes", node=NODE)


def test_kubernetes_options_need_the_kubernetes_backend() -> None:
    with pytest.raises(dind.errors.DockerException, match="backend is docker"):
        dind.Dind("dind-offline:latest", namespace="ci")


def test_cli_run_on_kubernetes_gives_the_command_the_daemon(kubeconfig: str) -> None:
    label = f"dind.test=py-kube-{os.getpid()}"
    p = subprocess.run([sys.executable, "-m", "dind", "run", "--kubernetes", "--kubeconfig", kubeconfig,
                        "--node", NODE, "--image", "dind-offline:latest", "--pull", "never", "--label", label,
                        "--load", "busybox:latest", "--", "docker", "run", "--rm", "busybox:latest", "echo", "hi-cli"],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    assert p.stdout == "hi-cli\n", p.stderr
    assert _kubectl("get", "pods,secrets", "-l", label)["items"] == []


def test_cli_up_on_kubernetes_says_what_to_use_instead(kubeconfig: str) -> None:
    p = subprocess.run([sys.executable, "-m", "dind", "up", "--kubernetes", "--kubeconfig", kubeconfig],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode != 0
    assert "dind run --kubernetes" in p.stderr


def test_reap_removes_a_killed_owners_pod_and_secret(kubeconfig: str) -> None:
    label = f"dind.test=py-kube-{os.getpid()}"
    script = ("import dind, os, sys\n"
              f"d = dind.Dind('dind-offline:latest', backend='kubernetes', kubeconfig={kubeconfig!r}, node={NODE!r},"
              f" pull='never', labels={{'dind.test': 'py-kube-{os.getpid()}'}})\n"
              "print(d.name, flush=True)\n"
              "os.kill(os.getpid(), 9)\n")
    p = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    name = p.stdout.strip()
    assert name, p.stderr
    assert [i["metadata"]["name"] for i in _kubectl("get", "pods", "-l", label)["items"]] == [name]
    removed = dind.reap(backend="kubernetes", kubeconfig=kubeconfig)
    assert name in removed["pods"] and f"{name}-certs" in removed["secrets"]
    assert _kubectl("get", "pods,secrets", "-l", label)["items"] == []


def test_the_fixtures_on_kubernetes(kubeconfig: str, tmp_path: Any) -> None:
    (tmp_path / "test_inner.py").write_text(
        "import os\n"
        "def test_session_daemon(dind):\n"
        "    assert dind.reach.kind == 'tunnel' and dind.client.ping()\n"
        "    print('POD', dind.name)\n"
        "def test_factory(dind_factory):\n"
        "    assert dind_factory().client.ping()\n")
    env = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", "DIND_SESSION": f"py-kube-plugin-{os.getpid()}"}
    labels = json.dumps({"dind.test": f"py-kube-{os.getpid()}"})
    p = subprocess.run([sys.executable, "-m", "pytest", "-p", "dind.pytest_plugin", "-p", "no:cacheprovider", "-s",
                        "--dind-image", "dind-offline:latest", "--dind-backend", "kubernetes",
                        "--dind-option", f"kubeconfig={kubeconfig}", "--dind-option", f"node={NODE}",
                        "--dind-option", "pull=never", "--dind-option", f"labels={labels}",
                        str(tmp_path / "test_inner.py")], capture_output=True, text=True, timeout=300, env=env)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "2 passed" in p.stdout and "POD dind-" in p.stdout
    assert _kubectl("get", "pods,secrets", "-l", f"dind.test=py-kube-{os.getpid()}")["items"] == []
