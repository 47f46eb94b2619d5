"""Streams against the real engine: logs, attach with stdin, exec_run, stats, events, close() and Ctrl-C."""

from __future__ import annotations

import datetime
import io
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from typing import Any, Callable, List

import pytest

import dind
from dind import errors
from dind.models import streams

SESSION = f"p2-streams-py-{os.getpid()}"
IMAGE = "busybox:latest"


@pytest.fixture(scope="module")
def client(offline_images: Any) -> dind.Client:
    return dind.Client("unix:///var/run/docker.sock")


@pytest.fixture
def make(client: dind.Client) -> Callable[..., Any]:
    """Creates (and by default starts) a labelled busybox container; all are removed at the end of the test."""
    made: List[str] = []

    def _make(cmd: List[str], tty: bool = False, stdin_open: bool = False, start: bool = True,
              labels: Any = None) -> Any:
        body = {"Image": IMAGE, "Cmd": cmd, "Tty": tty, "OpenStdin": stdin_open, "StdinOnce": stdin_open,
                "AttachStdin": stdin_open, "Labels": {"dind.session": SESSION, **(labels or {})}}
        _, _, raw = client.api.request("POST", "/containers/create", body=body)
        import json

        cid = json.loads(raw)["Id"]
        made.append(cid)
        if start:
            client.api.request("POST", f"/containers/{cid}/start")
        return client.containers.get(cid)

    yield _make
    for cid in made:
        try:
            client.api.request("DELETE", f"/containers/{cid}", query={"force": True, "v": True})
        except errors.NotFound:
            pass


def wait_exit(client: dind.Client, c: Any) -> None:
    client.api.request("POST", f"/containers/{c.id}/wait", timeout=60)


# ---- logs ---------------------------------------------------------------------------------------------------------
def test_logs_non_tty(client: dind.Client, make: Any) -> None:
    c = make(["sh", "-c", "echo one; echo err >&2; echo two"])
    wait_exit(client, c)
    assert sorted(c.logs().splitlines()) == [b"err", b"one", b"two"]
    assert c.logs(stderr=False) == b"one\ntwo\n"
    assert c.logs(stdout=False) == b"err\n"
    assert c.logs(demux=True) == (b"one\ntwo\n", b"err\n")
    assert c.logs(stdout=False, demux=True) == (None, b"err\n")
    # tail counts lines of both streams before the stream filter, and their order across streams is not fixed
    assert len(c.logs(tail=1).splitlines()) == 1
    assert c.logs(tail=0) == b""
    stamped = c.logs(timestamps=True, stderr=False).splitlines()
    assert len(stamped) == 2 and stamped[0].endswith(b" one") and stamped[0][:4].isdigit()
    chunks = list(c.logs(stream=True))
    assert all(isinstance(x, bytes) for x in chunks)
    assert sorted(b"".join(chunks).splitlines()) == [b"err", b"one", b"two"]
    pairs = list(c.logs(stream=True, demux=True))
    assert all((o is None) != (e is None) for o, e in pairs)
    assert b"".join(o for o, _ in pairs if o) == b"one\ntwo\n"
    assert b"".join(e for _, e in pairs if e) == b"err\n"


def test_logs_since_until(client: dind.Client, make: Any) -> None:
    c = make(["sh", "-c", "echo early; sleep 2; echo late"])
    wait_exit(client, c)
    now = datetime.datetime.now()
    assert c.logs(since=now + datetime.timedelta(seconds=2)) == b""  # whole seconds, as docker-py sends them
    assert c.logs(until=now - datetime.timedelta(hours=1)) == b""
    assert c.logs(since=int(time.time()) - 3600) == b"early\nlate\n"


def test_logs_tty_are_raw(client: dind.Client, make: Any) -> None:
    # Bytes that look like a multiplexed frame header must come through a TTY container's logs untouched.
    c = make(["sh", "-c", r"printf '\001\000\000\000\000\000\000\003abc'; echo; echo line"], tty=True)
    wait_exit(client, c)
    expected = b"\x01\x00\x00\x00\x00\x00\x00\x03abc\r\nline\r\n"
    assert c.logs() == expected
    assert b"".join(c.logs(stream=True)) == expected
    assert c.logs(demux=True) == (expected, None)
    assert c.logs(tail=1) == b"line\r\n"


def test_logs_follow_ends_when_container_is_killed(client: dind.Client, make: Any) -> None:
    c = make(["sh", "-c", "echo started; sleep 300"])
    it = c.logs(stream=True, follow=True)
    assert next(it) == b"started\n"
    threading.Timer(0.3, c.kill).start()
    rest = list(it)  # must end, not hang
    assert rest == []


def test_logs_batches_keep_bytes_shape_and_order(client: dind.Client, make: Any) -> None:
    # Batching must not change what the stream yields as a whole. How many batches depends on how far the engine
    # (which decodes its log file line by line) is ahead of the reader, so only tests/cpp/test_streams.cpp, with
    # bytes that have all arrived, asserts the batch count.
    c = make(["sh", "-c", "seq 1 3000 | sed s/^/out/; sleep 0.5; echo err >&2; sleep 0.5; seq 1 10"])
    wait_exit(client, c)
    whole = c.logs()
    chunks = list(c.logs(stream=True))
    assert b"".join(chunks) == whole and whole.endswith(b"out3000\nerr\n1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n")
    pairs = list(c.logs(stream=True, demux=True))
    assert all(isinstance(p, tuple) and len(p) == 2 and (p[0] is None) != (p[1] is None) for p in pairs)
    sides = [0 if o is not None else 1 for o, _ in pairs]
    runs = [s for i, s in enumerate(sides) if i == 0 or sides[i - 1] != s]
    assert runs == [0, 1, 0]  # stdout, then stderr, then stdout: arrival order kept across the batches
    assert b"".join(e for _, e in pairs if e) == b"err\n"
    assert b"".join(o for o, _ in pairs if o) == whole.replace(b"err\n", b"")


def test_logs_follow_gets_a_line_without_waiting_for_a_batch(client: dind.Client, make: Any) -> None:
    # The container writes "second" only once the test has "first": a stream that waited for more would hang,
    # and the watchdog (kill) would then end it with the flag set.
    c = make(["sh", "-c", "echo first; until [ -e /tmp/go ]; do sleep 0.05; done; echo second; sleep 300"])
    stuck = threading.Event()

    def watchdog() -> None:
        stuck.set()
        c.kill()

    timer = threading.Timer(120, watchdog)
    timer.start()
    try:
        it = c.logs(stream=True, follow=True)
        assert next(it) == b"first\n" and not stuck.is_set()
        c.exec_run(["touch", "/tmp/go"])
        assert next(it) == b"second\n" and not stuck.is_set()
    finally:
        timer.cancel()


# ---- exec -----------------------------------------------------------------------------------------------------------
def test_exec_run_exit_code_and_output(make: Any) -> None:
    c = make(["sleep", "300"])
    script = ["sh", "-c", "echo out; echo err >&2; exit 3"]
    code, out = c.exec_run(script)
    assert code == 3 and sorted(out.splitlines()) == [b"err", b"out"]
    assert c.exec_run(script, demux=True) == (3, (b"out\n", b"err\n"))
    assert c.exec_run(script, stderr=False) == (3, b"out\n")
    assert c.exec_run("sh -c 'echo $FOO $BAR'", environment={"FOO": "f", "BAR": 1}).output == b"f 1\n"
    assert c.exec_run(["env"], environment=["X=y"]).output.count(b"X=y\n") == 1
    assert c.exec_run(["pwd"], workdir="/tmp").output == b"/tmp\n"
    assert c.exec_run(["id", "-u"], user="1234").output == b"1234\n"
    assert c.exec_run(["sh", "-c", "echo tty; echo e >&2"], tty=True) == (0, b"tty\r\ne\r\n")
    assert c.exec_run(["sh", "-c", "echo tty"], tty=True, demux=True) == (0, (b"tty\r\n", None))
    r = c.exec_run(["sleep", "1"], detach=True)
    assert r.exit_code is None


def test_exec_run_stream_has_exit_code_after_exhaustion(make: Any) -> None:
    c = make(["sleep", "300"])
    r = c.exec_run(["sh", "-c", "echo a; echo b >&2; exit 7"], stream=True, demux=True)
    assert r.exit_code is None  # not known before the output ended
    frames = list(r.output)
    assert b"".join(o for o, _ in frames if o) == b"a\n"
    assert b"".join(e for _, e in frames if e) == b"b\n"
    assert r.exit_code == 7 and r.output.exit_code == 7
    code, output = r
    assert code == 7 and output is r.output
    r2 = c.exec_run(["sh", "-c", "echo x; exit 0"], stream=True)
    assert b"".join(r2.output) == b"x\n" and r2.exit_code == 0


def test_exec_run_stdin(make: Any) -> None:
    c = make(["sleep", "300"])
    assert c.exec_run(["cat"], stdin=b"from bytes\n") == (0, b"from bytes\n")
    assert c.exec_run(["wc", "-c"], stdin=io.BytesIO(b"x" * 300000)).output.strip() == b"300000"
    sock = c.exec_run(["sh", "-c", "cat; echo done >&2"], stdin=True, socket=True).output
    sock.write(b"over the socket\n")
    sock.close_write()
    assert sock.read_all(demux=True) == (b"over the socket\n", b"done\n")
    sock.close()


def test_exec_200mb_demuxed(make: Any) -> None:
    c = make(["sleep", "300"])
    r = c.exec_run(["sh", "-c", "head -c 200000000 /dev/zero; echo tail >&2"], stream=True, demux=True)
    out = err = 0
    for o, e in r.output:
        out += len(o or b"")
        err += len(e or b"")
    assert (out, err, r.exit_code) == (200000000, 5, 0)


def test_exec_tty_output_is_whole_in_batches(make: Any) -> None:
    c = make(["sleep", "300"])
    r = c.exec_run(["sh", "-c", "head -c 20000000 /dev/zero; echo end"], tty=True, stream=True)
    chunks = list(r.output)
    assert sum(len(x) for x in chunks) == 20000000 + 5 and b"".join(chunks[-2:]).endswith(b"end\r\n")
    assert r.exit_code == 0


# ---- attach ---------------------------------------------------------------------------------------------------------
def test_attach_socket_stdin_half_close(client: dind.Client, make: Any) -> None:
    c = make(["cat"], stdin_open=True, start=False)
    with c.attach_socket() as sock:
        c.start()
        sock.write(b"hello\n")
        sock.close_write()
        got = b""
        while True:
            piece = sock.read()
            if not piece:
                break
            got += piece
    assert got == b"hello\n"
    c.reload()
    assert c.attrs["State"]["Running"] is False  # cat saw EOF, exited, and the stream ended with it


def test_attach_stream_and_logs(client: dind.Client, make: Any) -> None:
    c = make(["sh", "-c", "echo first; sleep 1; echo second >&2"])
    pairs = list(c.attach(stream=True, logs=True, demux=True))
    assert b"".join(o for o, _ in pairs if o) == b"first\n"
    assert b"".join(e for _, e in pairs if e) == b"second\n"
    c2 = make(["sh", "-c", "sleep 3; echo done"])
    assert c2.attach() == b"done\n"


# ---- stats ----------------------------------------------------------------------------------------------------------
def test_stats(make: Any) -> None:
    c = make(["sleep", "300"])
    one = c.stats(stream=False, one_shot=True)
    assert isinstance(one, dict) and "memory_stats" in one
    s = c.stats(decode=True)
    first, second = next(s), next(s)
    s.close()
    assert "cpu_stats" in first and "precpu_stats" in second
    raw = c.stats()
    line = next(raw)
    raw.close()
    assert isinstance(line, bytes) and line.startswith(b"{")
    assert list(raw) == []


# ---- events ---------------------------------------------------------------------------------------------------------
def test_events_filtered_by_type_and_label(client: dind.Client, make: Any) -> None:
    tag = uuid.uuid4().hex
    events = client.events(filters={"type": "container", "label": f"p2.events={tag}"}, decode=True)
    c = make(["true"], labels={"p2.events": tag})
    seen = []
    for ev in events:
        assert ev["id"] == c.id and ev["Type"] == "container"
        seen.append(ev["Action"])
        if ev["Action"] == "die":
            break
    events.close()
    assert seen[0] == "create" and "start" in seen and seen[-1] == "die"
    # A bounded window replays and ends by itself; since/until take datetimes and ints.
    until = datetime.datetime.now() + datetime.timedelta(seconds=1)
    replay = list(client.events(since=int(time.time()) - 60, until=until,
                                filters={"label": [f"p2.events={tag}"]}))
    assert replay and all(isinstance(line, bytes) for line in replay)
    assert b'"create"' in replay[0]


def test_events_close_from_another_thread(client: dind.Client) -> None:
    events = client.events(filters={"label": f"p2.none={uuid.uuid4().hex}"}, decode=True)
    got: List[Any] = []
    done = threading.Event()

    def consume() -> None:
        got.extend(events)
        done.set()

    t = threading.Thread(target=consume, daemon=True)
    t.start()
    time.sleep(0.3)
    events.close()
    assert done.wait(10), "iteration did not end after close()"  # a hang detector, not a timing assertion
    assert got == []


def test_ctrl_c_interrupts_a_blocked_events_stream(client: dind.Client, tmp_path: Any) -> None:
    script = tmp_path / "events.py"
    script.write_text(textwrap.dedent(f"""
        import sys, dind
        client = dind.Client("unix:///var/run/docker.sock")
        events = client.events(filters={{"label": "p2.none={uuid.uuid4().hex}"}})
        print("ready", flush=True)
        for ev in events:
            print(ev, flush=True)
    """))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        assert proc.stdout.readline().strip() == b"ready"
        time.sleep(0.5)  # let it block in the read
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode != 0
    assert b"KeyboardInterrupt" in err, err.decode(errors="replace")


def test_stream_errors_are_typed(client: dind.Client) -> None:
    class Missing:
        id = "p2-no-such-container"
        attrs: dict = {}

    Missing.client = client
    with pytest.raises(errors.NotFound):
        streams.container_logs(Missing())
    with pytest.raises(errors.NotFound):
        streams.container_exec_run(Missing(), ["true"])


def test_streams_work_when_the_signal_wakeup_fd_is_taken(client: dind.Client, make: Any) -> None:
    # An asyncio loop owns the wakeup fd: reads then run on a helper thread, and close() still ends them.
    r, w = os.pipe()
    os.set_blocking(w, False)
    old = signal.set_wakeup_fd(w)
    try:
        c = make(["sleep", "300"])
        assert c.exec_run(["sh", "-c", "echo hi; exit 4"], demux=True) == (4, (b"hi\n", None))
        events = client.events(filters={"label": f"p2.none={uuid.uuid4().hex}"})
        threading.Timer(0.3, events.close).start()
        assert list(events) == []
    finally:
        signal.set_wakeup_fd(old)
        os.close(r)
        os.close(w)
