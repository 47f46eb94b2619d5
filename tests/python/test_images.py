"""Images against the real engine (busybox:latest present, no registry), through docker-py's names.

Names made here start with REPO; images made here carry ``dind.session=<SESSION>``. The ``cleanup`` fixture removes
both (also when a test fails), including dangling intermediates of failed builds.
"""
from __future__ import annotations

import io
import json
import os
import tarfile
import uuid
from pathlib import Path
from typing import Iterator

import pytest

import dind
from dind import errors
from dind.models.images import BuildError, Image, ImageCollection, container_commit

SESSION = f"test-images-py-{uuid.uuid4().hex[:12]}"
REPO = f"dind-test-images-py-{SESSION[-12:]}"
BY_SESSION = {"label": f"dind.session={SESSION}"}


@pytest.fixture(scope="module")
def client() -> dind.Client:
    return dind.Client("unix:///var/run/docker.sock")


@pytest.fixture(scope="module")
def images(client: dind.Client) -> ImageCollection:
    return ImageCollection(client)  # what client.images builds


@pytest.fixture(autouse=True)
def cleanup(images: ImageCollection) -> Iterator[None]:
    yield
    for img in images.list(name=REPO):
        for t in img.tags:
            if t.startswith(REPO):
                images.remove(t, force=True)
    images.prune(filters={**BY_SESSION, "dangling": False})
    images.prune(filters=BY_SESSION)


def test_list_get_and_model(images: ImageCollection) -> None:
    b = images.get("busybox:latest")
    assert isinstance(b, Image)
    assert "busybox:latest" in b.tags
    assert b.id.startswith("sha256:") and b.short_id == b.id[:19]
    assert isinstance(b.labels, dict)
    assert repr(b) == "<Image: 'busybox:latest'>"
    assert b in images.list()
    assert images.list(name="busybox") == [b]
    assert images.list(filters={"reference": "busybox:latest"}) == [b]
    hist = b.history()
    assert isinstance(hist, list) and hist and "Id" in hist[0]
    b.reload()
    assert "busybox:latest" in b.tags
    with pytest.raises(errors.ImageNotFound) as e:
        images.get(f"{REPO}:missing")
    assert f"{REPO}:missing" in str(e.value)
    assert isinstance(e.value, errors.NotFound) and e.value.status_code == 404


def test_tag_and_remove(images: ImageCollection) -> None:
    b = images.get("busybox:latest")
    assert b.tag(REPO, "copy") is True
    assert images.get(f"{REPO}:copy") == b
    images.remove(f"{REPO}:copy")
    with pytest.raises(errors.ImageNotFound):
        images.get(f"{REPO}:copy")
    with pytest.raises(errors.ImageNotFound):
        images.remove(f"{REPO}:copy")


def test_save_then_load_round_trip_streamed(images: ImageCollection, tmp_path: Path) -> None:
    b = images.get("busybox:latest")
    b.tag(REPO, "saved")
    copy = images.get(f"{REPO}:saved")
    tar = tmp_path / "saved.tar"
    chunks = 0
    with open(tar, "wb") as f:
        for chunk in copy.save(chunk_size=64 * 1024, named=f"{REPO}:saved"):
            assert isinstance(chunk, bytes) and 0 < len(chunk) <= 64 * 1024
            f.write(chunk)
            chunks += 1
    assert chunks > 1
    with tarfile.open(tar) as t:
        assert "manifest.json" in t.getnames()

    # From a file object.
    images.remove(f"{REPO}:saved")
    with open(tar, "rb") as f:
        loaded = images.load(f)
    assert [i.id for i in loaded] == [b.id] and f"{REPO}:saved" in loaded[0].tags

    # From an iterator of pieces.
    images.remove(f"{REPO}:saved")

    def pieces() -> Iterator[bytes]:
        with open(tar, "rb") as f:
            while True:
                piece = f.read(100_000)
                if not piece:
                    return
                yield piece

    assert f"{REPO}:saved" in images.load(pieces())[0].tags

    # From bytes, and from a path.
    images.remove(f"{REPO}:saved")
    assert f"{REPO}:saved" in images.load(tar.read_bytes())[0].tags
    images.remove(f"{REPO}:saved")
    assert f"{REPO}:saved" in images.load(tar)[0].tags

    # Straight from one engine stream into load, with no file in between (what Dind.load_images does).
    b.tag(REPO, "piped")
    loaded = images.load(images.get_images_tar([f"{REPO}:piped"], chunk_size=256 * 1024))
    assert [i.tags for i in loaded][0].count(f"{REPO}:piped") == 1


def test_load_of_garbage_raises(images: ImageCollection) -> None:
    from dind.models.images import ImageLoadError

    with pytest.raises((ImageLoadError, errors.APIError)):
        images.load(b"x" * 4096)


def test_import_with_changes_and_prune_by_label(images: ImageCollection) -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        info = tarfile.TarInfo("hello.txt")
        info.size = 9
        t.addfile(info, io.BytesIO(b"imported\n"))
    buf.seek(0)
    img = images.import_image(buf, changes=[f"LABEL dind.session={SESSION}", 'CMD ["/hello.txt"]'])
    assert img.labels["dind.session"] == SESSION
    assert img.tags == []
    pruned = images.prune(filters=BY_SESSION)
    assert img.id in [d.get("Deleted") for d in pruned["ImagesDeleted"] or []]
    with pytest.raises(errors.ImageNotFound):
        img.reload()


def test_build_from_a_directory_honours_dockerignore(images: ImageCollection, tmp_path: Path) -> None:
    ctx = tmp_path / "ctx"
    (ctx / "sub").mkdir(parents=True)
    (ctx / "Dockerfile").write_text(
        "FROM busybox:latest\n"
        "ARG GREETING\n"
        "COPY . /ctx\n"
        "RUN test -e /ctx/keep.txt && test ! -e /ctx/secret.txt && test ! -e /ctx/sub/skip.log "
        "&& echo \"context-ok $GREETING\"\n")
    (ctx / ".dockerignore").write_text("secret.txt\n**/*.log\n")
    (ctx / "keep.txt").write_text("keep")
    (ctx / "secret.txt").write_text("secret")
    (ctx / "sub" / "skip.log").write_text("log")
    image, logs = images.build(path=str(ctx), tag=f"{REPO}:built", labels={"dind.session": SESSION},
                               buildargs={"GREETING": "hello"}, forcerm=True)
    text = "".join(chunk.get("stream", "") for chunk in logs)
    assert "context-ok hello" in text
    assert image.labels["dind.session"] == SESSION
    assert f"{REPO}:built" in image.tags

    # The context as seen by the image: the excluded files are absent (save the image and look into its layer).
    members = set()
    raw = b"".join(image.save())
    with tarfile.open(fileobj=io.BytesIO(raw)) as outer:
        for m in outer:
            if m.name.endswith("layer.tar"):
                with tarfile.open(fileobj=outer.extractfile(m)) as layer:
                    members |= set(layer.getnames())
    assert "ctx/keep.txt" in members
    assert "ctx/secret.txt" not in members and "ctx/sub/skip.log" not in members


def test_build_from_a_dockerfile_object_and_a_custom_context(images: ImageCollection) -> None:
    dockerfile = io.BytesIO(f"FROM busybox:latest\nLABEL dind.session={SESSION}\n".encode())
    image, _ = images.build(fileobj=dockerfile, tag=f"{REPO}:fileobj")
    assert image.labels["dind.session"] == SESSION

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        df = f"FROM busybox:latest\nCOPY hello.txt /\nLABEL dind.session={SESSION}\n".encode()
        for name, data in [("Dockerfile", df), ("hello.txt", b"hi\n")]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    buf.seek(0)
    image, logs = images.build(fileobj=buf, custom_context=True, tag=f"{REPO}:custom")
    assert any("COPY hello.txt" in c.get("stream", "") for c in logs)


def test_failing_build_raises_build_error_with_log(images: ImageCollection) -> None:
    dockerfile = io.BytesIO(
        f"FROM busybox:latest\nLABEL dind.session={SESSION}\nRUN echo about-to-fail && false\n".encode())
    with pytest.raises(BuildError) as e:
        images.build(fileobj=dockerfile, tag=f"{REPO}:failed", forcerm=True)
    assert "returned a non-zero code: 1" in e.value.msg
    assert f"{REPO}:failed" in str(e.value)
    log = list(e.value.build_log)
    assert any("about-to-fail" in c.get("stream", "") for c in log)
    assert isinstance(e.value, errors.DockerException)
    with pytest.raises(TypeError):
        images.build()


def test_pull_without_a_registry_names_the_image(images: ImageCollection) -> None:
    name = f"127.0.0.1:9/{REPO}-missing"
    with pytest.raises(errors.APIError) as e:
        images.pull(name, tag="v1", auth_config={"username": "u", "password": "hunter2-secret"})
    assert f"{name}:v1" in str(e.value)
    assert "hunter2" not in str(e.value)


def test_push_without_a_registry_names_the_image(images: ImageCollection) -> None:
    name = f"127.0.0.1:9/{REPO}-push"
    images.get("busybox:latest").tag(name, "v1")
    try:
        with pytest.raises(errors.DockerException) as e:
            images.push(name, tag="v1", auth_config={"username": "u", "password": "hunter2-secret"})
        assert f"{name}:v1" in str(e.value)
        assert "hunter2" not in str(e.value)
    finally:
        images.remove(f"{name}:v1")


def test_container_commit(images: ImageCollection, client: dind.Client) -> None:
    _, _, body = client.request("POST", "/containers/create", body={
        "Image": "busybox:latest", "Cmd": ["true"], "Labels": {"dind.session": SESSION}})
    cid = json.loads(body)["Id"]

    class Box:
        id = cid

    Box.client = client
    try:
        image = container_commit(Box(), repository=REPO, tag="committed", changes=["ENV COMMITTED=1"],
                                 conf={"Labels": {"dind.session": SESSION}})
    finally:
        client.request("DELETE", f"/containers/{cid}", query={"force": "1", "v": "1"})
    assert f"{REPO}:committed" in image.tags
    assert "COMMITTED=1" in image.attrs["Config"]["Env"]
    assert image.labels["dind.session"] == SESSION


def test_ctrl_c_interrupts_a_silent_build_stream(images: ImageCollection) -> None:
    import signal
    import threading

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        df = f"FROM busybox:latest\nLABEL dind.session={SESSION}\nRUN sleep 6\n".encode()
        info = tarfile.TarInfo("Dockerfile")
        info.size = len(df)
        t.addfile(info, io.BytesIO(df))
    stream = images._group.build(context=buf.getvalue(), tag=f"{REPO}:interrupted", nocache=True, forcerm=True)
    seen = []
    timer = None
    with pytest.raises(KeyboardInterrupt):
        for chunk in stream:
            seen.append(chunk.get("stream", ""))
            if "Running in" in seen[-1] and timer is None:  # the engine is now silent for 6 s
                timer = threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT))
                timer.start()
    assert timer is not None
    timer.join()
    assert "Running in" in seen[-1], seen  # interrupted while waiting, not after the step ended
    stream.close()
