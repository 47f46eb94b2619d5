"""put_archive / get_archive / export against the real engine, with docker-py's shapes.

Each test gets a running busybox container labelled ``dind.session=<SESSION>``, removed (with volumes) at teardown.
"""
from __future__ import annotations

import hashlib
import io
import json
import tarfile
import uuid
from pathlib import Path
from typing import Iterator

import pytest

import dind
from dind import errors
from dind.models.archive import (container_archive_stat, container_export, container_get_archive,
                                 container_put_archive)

SESSION = f"test-archive-py-{uuid.uuid4().hex[:12]}"
LONG_DIR = "tree/" + "a" * 60 + "/" + "b" * 60 + "/" + "c" * 40
BIG = 20 * 1024 * 1024


class Box:
    """A minimal container handle (id + client), as docker-py's Container model offers them."""

    def __init__(self, client: dind.Client, cid: str) -> None:
        self.client = client
        self.id = cid


@pytest.fixture(scope="module")
def client() -> dind.Client:
    return dind.Client("unix:///var/run/docker.sock")


@pytest.fixture
def box(client: dind.Client) -> Iterator[Box]:
    _, _, body = client.request("POST", "/containers/create", body={
        "Image": "busybox:latest", "Cmd": ["sleep", "600"], "Labels": {"dind.session": SESSION}})
    cid = json.loads(body)["Id"]
    try:
        client.request("POST", f"/containers/{cid}/start")
        yield Box(client, cid)
    finally:
        client.request("DELETE", f"/containers/{cid}", query={"force": "1", "v": "1"})


def _big_bytes() -> bytes:
    # Deterministic, incompressible-looking content.
    seed = hashlib.sha256(b"dind").digest()
    block = b"".join(hashlib.sha256(seed + i.to_bytes(4, "big")).digest() for i in range(2048))  # 64 KiB
    return block * (BIG // len(block))


@pytest.fixture(scope="module")
def tree_tar(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tar on disk of a tree with a long path and a 20 MB file."""
    d = tmp_path_factory.mktemp("archive")
    (d / LONG_DIR).mkdir(parents=True)
    (d / LONG_DIR / "small.txt").write_bytes(b"hello from a long path\n")
    (d / "tree" / "big.bin").write_bytes(_big_bytes())
    out = d / "tree.tar"
    with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as t:
        t.add(d / "tree", arcname="tree")
    return out


def _members(chunks: Iterator[bytes], tmp: Path) -> dict:
    """Spools a streamed tar to disk chunk by chunk and returns {name: sha256 of content} of its files."""
    spool = tmp / f"got-{uuid.uuid4().hex}.tar"
    with open(spool, "wb") as f:
        for chunk in chunks:
            assert isinstance(chunk, bytes)
            f.write(chunk)
    out = {}
    with tarfile.open(spool) as t:
        for m in t:
            if m.isfile():
                out[m.name] = hashlib.sha256(t.extractfile(m).read()).hexdigest()
    spool.unlink()
    return out


def test_put_from_file_object_then_get_round_trip(box: Box, tree_tar: Path, tmp_path: Path) -> None:
    with open(tree_tar, "rb") as f:
        assert box_put(box, "/tmp", f) is True
        assert f.tell() == tree_tar.stat().st_size  # read to the end, as a reader would have
    stream, stat = container_get_archive(box, "/tmp/tree")
    assert stat["name"] == "tree"
    assert set(stat) >= {"name", "size", "mode", "mtime", "linkTarget"}
    got = _members(stream, tmp_path)
    assert got["tree/big.bin"] == hashlib.sha256(_big_bytes()).hexdigest()
    assert got[f"{LONG_DIR}/small.txt"] == hashlib.sha256(b"hello from a long path\n").hexdigest()
    stat = container_archive_stat(box, "/tmp/tree/big.bin")
    assert stat["size"] == BIG and stat["name"] == "big.bin"


def box_put(box: Box, path: str, data: object) -> bool:
    return container_put_archive(box, path, data)


def _small_tar(name: str, content: bytes) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        info = tarfile.TarInfo(name)
        info.size = len(content)
        t.addfile(info, io.BytesIO(content))
    return buf.getvalue()


def test_put_from_bytes_bytesio_iterator_and_path(box: Box, tmp_path: Path) -> None:
    assert container_put_archive(box, "/tmp", _small_tar("from-bytes.txt", b"b1"))
    assert container_put_archive(box, "/tmp", io.BytesIO(_small_tar("from-bytesio.txt", b"b22")))
    data = _small_tar("from-iter.txt", b"b333")
    assert container_put_archive(box, "/tmp", (data[i:i + 700] for i in range(0, len(data), 700)))
    p = tmp_path / "x.tar"
    p.write_bytes(_small_tar("from-path.txt", b"b4444"))
    assert container_put_archive(box, "/tmp", p)
    for name, size in [("from-bytes.txt", 2), ("from-bytesio.txt", 3), ("from-iter.txt", 4), ("from-path.txt", 5)]:
        assert container_archive_stat(box, f"/tmp/{name}")["size"] == size
    stream, stat = container_get_archive(box, "/tmp/from-iter.txt", chunk_size=None)
    with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as t:
        assert t.extractfile("from-iter.txt").read() == b"b333"
    assert stat["size"] == 4


def test_put_with_a_failing_iterator_raises_its_error(box: Box) -> None:
    def chunks() -> Iterator[bytes]:
        yield _small_tar("x", b"x")[:512]
        raise ValueError("source broke")

    with pytest.raises(ValueError, match="source broke"):
        container_put_archive(box, "/tmp", chunks())
    with pytest.raises(TypeError):
        container_put_archive(box, "/tmp", "not bytes")
    # The client is still fine afterwards.
    assert container_archive_stat(box, "/bin/busybox")["name"] == "busybox"


def test_missing_paths_raise_not_found(box: Box) -> None:
    with pytest.raises(errors.NotFound) as e:
        container_get_archive(box, "/no/such/path")
    assert "/no/such/path" in str(e.value) and e.value.status_code == 404
    with pytest.raises(errors.NotFound):
        container_archive_stat(box, "/no/such/path")
    with pytest.raises(errors.NotFound) as e:
        container_put_archive(box, "/no/such/dir", _small_tar("x", b"y"))
    assert "/no/such/dir" in str(e.value)
    with pytest.raises(errors.NotFound):
        container_get_archive(Box(box.client, "dind-no-such-container-" + SESSION), "/")


def test_export_streams_the_file_system(box: Box, tmp_path: Path) -> None:
    stream = container_export(box, chunk_size=256 * 1024)
    spool = tmp_path / "export.tar"
    with open(spool, "wb") as f:
        for chunk in stream:
            f.write(chunk)
    with tarfile.open(spool) as t:
        assert "bin/busybox" in t.getnames()


def test_get_archive_stream_is_closable_and_file_like(box: Box) -> None:
    stream, _ = container_get_archive(box, "/bin")
    head = stream.read(512)
    assert len(head) == 512
    with stream:
        pass  # closes
    assert list(stream) == []
