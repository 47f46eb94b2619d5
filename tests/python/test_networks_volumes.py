"""Networks, volumes and ``df`` against the real engine, through docker-py's names.

Everything made here carries ``dind.session=<SESSION>`` and is removed by the ``made`` fixture (also on failure).
"""
from __future__ import annotations

import json
import uuid
from typing import Any, Dict, Iterator, List

import pytest

import dind
from dind import errors
from dind.models.resource import Model
from dind.models.networks import Network, NetworkCollection
from dind.models.system import df
from dind.models.volumes import Volume, VolumeCollection

SESSION = f"p4-netvol-{uuid.uuid4().hex[:12]}"
LABELS = {"dind.session": SESSION}
BY_SESSION = {"label": f"dind.session={SESSION}"}


@pytest.fixture(scope="module")
def client() -> dind.Client:
    return dind.Client("unix:///var/run/docker.sock")


@pytest.fixture(scope="module")
def networks(client: dind.Client) -> NetworkCollection:
    coll = client.networks
    assert isinstance(coll, NetworkCollection)
    return coll


@pytest.fixture(scope="module")
def volumes(client: dind.Client) -> VolumeCollection:
    coll = client.volumes
    assert isinstance(coll, VolumeCollection)
    return coll


class Made:
    """Names of what a test created, removed in reverse dependency order at teardown."""

    def __init__(self, client: dind.Client) -> None:
        self.client = client
        self.containers: List[str] = []

    def container(self, cmd: List[str], **host_config: Any) -> str:
        """A created (not started) busybox container with the session label, made through the low-level API."""
        body = {"Image": "busybox:latest", "Cmd": cmd, "Labels": LABELS, "HostConfig": host_config}
        _, _, out = self.client.request("POST", "/containers/create", body=body)
        cid = json.loads(out)["Id"]
        self.containers.append(cid)
        return cid

    def started(self, cmd: List[str]) -> str:
        cid = self.container(cmd)
        self.client.request("POST", f"/containers/{cid}/start")
        return cid

    def remove_containers(self) -> None:
        for cid in self.containers:
            try:
                self.client.request("DELETE", f"/containers/{cid}", query={"force": "true", "v": "true"})
            except errors.NotFound:
                pass
        self.containers.clear()

    def cleanup(self) -> None:
        self.remove_containers()
        # Sweep by label: whatever a failed test left behind.
        by_label = {"filters": json.dumps({"label": [BY_SESSION["label"]]})}
        _, _, out = self.client.request("GET", "/networks", query=by_label)
        for n in json.loads(out):
            try:
                self.client.request("DELETE", f"/networks/{n['Id']}")
            except errors.NotFound:
                pass
        _, _, out = self.client.request("GET", "/volumes", query=by_label)
        for v in json.loads(out).get("Volumes") or []:
            try:
                self.client.request("DELETE", f"/volumes/{v['Name']}", query={"force": "true"})
            except errors.NotFound:
                pass


@pytest.fixture
def made(client: dind.Client) -> Iterator[Made]:
    m = Made(client)
    try:
        yield m
    finally:
        m.cleanup()


def name(what: str) -> str:
    return f"{SESSION}-{what}"


# ---- networks ------------------------------------------------------------------------------------------------------

def test_network_create_get_list(networks: NetworkCollection, made: Made) -> None:
    n = networks.create(name("a"), driver="bridge", labels={**LABELS, "role": "a"}, internal=True,
                        options={"com.docker.network.bridge.enable_icc": "true"})
    assert isinstance(n, Network)
    assert n.name == name("a")
    assert len(n.id) == 64 and n.short_id == n.id[:12]
    assert n.attrs["Driver"] == "bridge"
    assert n.attrs["Internal"] is True
    assert n.attrs["Labels"]["role"] == "a"
    assert n.attrs["Options"]["com.docker.network.bridge.enable_icc"] == "true"

    assert networks.get(n.id) == n
    assert networks.get(name("a")).id == n.id          # by name
    assert networks.get(n.id[:12]).id == n.id          # by id prefix

    other = networks.create(name("b"), labels=LABELS)
    mine = networks.list(filters=BY_SESSION)
    assert sorted(x.id for x in mine) == sorted([n.id, other.id])
    assert [x.id for x in networks.list(names=[name("a")])] == [n.id]
    assert [x.id for x in networks.list(ids=[other.id])] == [other.id]
    assert networks.list(names=[name("a")], filters={"label": "role=nope"}) == []
    assert [x.name for x in networks.list(filters={**BY_SESSION, "type": "custom", "driver": "bridge"})]
    # The caller's filters are not modified (docker-py mutates them; we don't).
    f: Dict[str, Any] = dict(BY_SESSION)
    networks.list(names=[name("a")], filters=f)
    assert f == BY_SESSION


def test_network_ipam_and_docker_py_types(networks: NetworkCollection, made: Made) -> None:
    import docker.types as docker_types  # docker-py's helpers produce dicts in the API's shape

    ipam = docker_types.IPAMConfig(pool_configs=[docker_types.IPAMPool(subnet="10.231.8.0/24",
                                                                       gateway="10.231.8.254")])
    n = networks.create(name("ipam"), ipam=ipam, labels=LABELS, check_duplicate=True, attachable=True)
    cfg = n.attrs["IPAM"]["Config"][0]
    assert cfg["Subnet"] == "10.231.8.0/24" and cfg["Gateway"] == "10.231.8.254"
    assert n.attrs["Attachable"] is True
    # A plain dict in the API's shape works the same.
    m = networks.create(name("ipam2"), ipam={"Driver": "default", "Config": [{"Subnet": "10.231.9.0/24"}]},
                        labels=LABELS)
    assert m.attrs["IPAM"]["Config"][0]["Subnet"] == "10.231.9.0/24"


def test_network_connect_disconnect_containers(client: dind.Client, networks: NetworkCollection,
                                               made: Made) -> None:
    n = networks.create(name("conn"), labels=LABELS,
                        ipam={"Config": [{"Subnet": "10.231.10.0/24"}]})
    c1 = made.started(["sleep", "60"])
    c2 = made.started(["sleep", "60"])
    n.connect(c1, aliases=["svc"], ipv4_address="10.231.10.7")
    n.connect(c2, links=[(c1, "one")])
    assert n.attrs.get("Containers") in (None, {})  # attrs are a snapshot ...
    n.reload()                                       # ... until reload()
    attached = n.attrs["Containers"]
    assert set(attached) == {c1, c2}
    assert attached[c1]["IPv4Address"] == "10.231.10.7/24"

    _, _, out = client.request("GET", f"/containers/{c1}/json")
    ep = json.loads(out)["NetworkSettings"]["Networks"][name("conn")]
    assert "svc" in ep["Aliases"]

    # Network.containers gives Container models (P1's collection).
    got = n.containers
    assert sorted(c.id for c in got) == sorted([c1, c2])

    # greedy list fills in Containers like get() does.
    listed = networks.list(names=[name("conn")], greedy=True)
    assert set(listed[0].attrs["Containers"]) == {c1, c2}

    # In use: remove refused with a clear APIError naming the request and host.
    with pytest.raises(errors.APIError) as ei:
        n.remove()
    assert ei.value.status_code in (403, 409, 500)
    assert "/networks/" in str(ei.value) and "unix:///var/run/docker.sock" in str(ei.value)

    n.disconnect(c1)
    n.disconnect(c2, force=True)
    n.reload()
    assert not n.attrs["Containers"]
    n.remove()
    with pytest.raises(errors.NotFound):
        n.reload()


def test_network_connect_accepts_model(networks: NetworkCollection, made: Made) -> None:
    n = networks.create(name("model"), labels=LABELS)
    cid = made.started(["sleep", "60"])

    class FakeContainer(Model):  # any Model: its id is used
        pass

    n.connect(FakeContainer({"Id": cid}), None, None, ["positional-alias"])  # docker-py's positional order
    n.reload()
    assert cid in n.attrs["Containers"]
    _, _, out = n.client.request("GET", f"/containers/{cid}/json")
    assert "positional-alias" in json.loads(out)["NetworkSettings"]["Networks"][n.name]["Aliases"]
    n.disconnect(FakeContainer({"Id": cid}))


def test_network_errors(networks: NetworkCollection, made: Made) -> None:
    networks.create(name("dup"), labels=LABELS)
    with pytest.raises(errors.Conflict) as ei:
        networks.create(name("dup"), labels=LABELS, check_duplicate=True)
    assert ei.value.status_code == 409
    assert name("dup") in ei.value.explanation
    assert "POST /networks/create" in str(ei.value)

    with pytest.raises(errors.NotFound) as nf:
        networks.get(name("absent"))
    assert nf.value.status_code == 404 and name("absent") in str(nf.value)

    n = networks.get(name("dup"))
    with pytest.raises(errors.NotFound):
        n.connect(name("no-such-container"))
    with pytest.raises(TypeError):
        networks.create(name("bad"), options=["not", "a", "dict"])  # type: ignore[arg-type]


def test_network_prune(networks: NetworkCollection, made: Made) -> None:
    keep_busy = networks.create(name("busy"), labels=LABELS)
    unused = networks.create(name("unused"), labels=LABELS)
    cid = made.started(["sleep", "60"])
    keep_busy.connect(cid)
    out = networks.prune(filters=BY_SESSION)
    assert out["NetworksDeleted"] == [name("unused")]
    with pytest.raises(errors.NotFound):
        unused.reload()
    keep_busy.reload()


# ---- volumes -------------------------------------------------------------------------------------------------------

def test_volume_lifecycle(volumes: VolumeCollection, made: Made) -> None:
    v = volumes.create(name("v"), driver="local", labels={**LABELS, "role": "v"},
                       driver_opts={"type": "tmpfs", "device": "tmpfs", "o": "size=1m"})
    assert isinstance(v, Volume)
    assert v.id == v.name == name("v")
    assert v.attrs["Driver"] == "local"
    assert v.attrs["Labels"]["role"] == "v"
    assert v.attrs["Options"] == {"type": "tmpfs", "device": "tmpfs", "o": "size=1m"}
    assert volumes.get(name("v")) == v
    v.reload()
    assert v.attrs["Name"] == name("v")

    assert [x.name for x in volumes.list(filters=BY_SESSION)] == [name("v")]
    assert [x.name for x in volumes.list(filters={"name": name("v"), "label": "role=v"})] == [name("v")]
    assert volumes.list(filters={"label": f"dind.session={SESSION}-none"}) == []  # Volumes: null → []

    # In use → Conflict; free → removed; gone → NotFound.
    made.container(["true"], Binds=[f"{name('v')}:/data"])
    with pytest.raises(errors.Conflict) as ei:
        v.remove()
    assert name("v") in str(ei.value)
    made.remove_containers()
    v.remove()
    with pytest.raises(errors.NotFound):
        volumes.get(name("v"))
    with pytest.raises(errors.NotFound):
        v.remove()
    v.remove(force=True)  # force: an absent volume is not an error


def test_volume_anonymous_and_prune(volumes: VolumeCollection, made: Made) -> None:
    anon = volumes.create(labels=LABELS)
    assert len(anon.name) == 64
    named = volumes.create(name("named"), labels=LABELS)
    made.container(["true"], Binds=[f"{named.name}:/data"])  # in use: prune keeps it
    out = volumes.prune(filters=BY_SESSION)
    assert anon.name in out["VolumesDeleted"]
    assert named.name not in out["VolumesDeleted"]
    assert isinstance(out["SpaceReclaimed"], int)
    with pytest.raises(errors.NotFound):
        anon.reload()
    named.reload()


def test_volume_create_type_checks(volumes: VolumeCollection) -> None:
    with pytest.raises(TypeError):
        volumes.create(name("x"), driver_opts="o=1")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        volumes.create(name("x"), labels=["a"])  # type: ignore[arg-type]


# ---- system df -----------------------------------------------------------------------------------------------------

def test_df(client: dind.Client, volumes: VolumeCollection, made: Made) -> None:
    v = volumes.create(name("df"), labels=LABELS)
    d = df(client)
    assert {"LayersSize", "Images", "Containers", "Volumes"} <= set(d)
    assert any(i["RepoTags"] and "busybox:latest" in i["RepoTags"] for i in d["Images"])
    assert v.name in [x["Name"] for x in d["Volumes"]]
    assert set(client.df()) == set(d)
