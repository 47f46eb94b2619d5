"""pytest plugin: throwaway Docker-in-Docker daemons as fixtures (entry point ``pytest11: dind``).

Fixtures:
  ``dind``          one daemon for the test session, a ``dind.Dind`` (with pytest-xdist: one per worker, or one
                    for all workers with ``--dind-share``)
  ``dind_client``   its ``dind.Client``
  ``dind_factory``  ``dind_factory(**Dind_kwargs) -> Dind``: new daemons on demand, all removed after the test
  ``dind_job``      ``dind_job(command, **Job_kwargs) -> Job``: CI job containers beside a dind sidecar (workspace:
                    the test's ``tmp_path`` unless given), all ended and removed after the test

Options (python/dind/plugin_options.py): ``--dind-image``, ``--dind-keep`` (leave the session daemon running and
print its env), ``--dind-timeout``, ``--dind-job-image``, ``--dind-share`` (with pytest-xdist: one session daemon,
started by the controller, for every worker), ``--dind-arg ARG`` (a dockerd flag), ``--dind-option KEY=VALUE`` (any
``dind.Dind`` keyword), ``--dind-reuse[=KEY]``/``--dind-cache NAME`` (README), ``--dind-lazy`` (no background start).

The session daemon is started on a background thread as the session starts, while tests are collected and imported;
the ``dind`` fixture then only waits for the rest of that start (a start failure is raised there, with its own
error). If the collected tests do not use ``dind``/``dind_client``, the start is cancelled and what it made removed
at once. SIGTERM, Ctrl-C and interpreter exit during the background start leave nothing either.

A run that uses these fixtures first reaps what killed runs left behind (``dind.reap()``: objects whose owner
process is gone), so Ctrl-C, SIGKILL or a crashed CI job leak nothing past the next run. When a test that used a
daemon fails, the tail of that daemon's log is added to its report.
"""
from __future__ import annotations

import shlex
import sys
import time
import warnings
from typing import TYPE_CHECKING, Any, Dict, Generator, Iterator, List, Optional

import pytest

from . import plugin_options

if TYPE_CHECKING:  # pragma: no cover
    from pluggy import Result

    from .client import Client
    from .daemon import Dind, Starting
    from .job import Job

FIXTURES = ("dind", "dind_client", "dind_factory", "dind_job")
SESSION_FIXTURES = ("dind", "dind_client")  # what the background start is for
LOG_LINES = 50


def _close_all(things: List[Any]) -> None:
    """Closes each (newest first); all are tried, the first failure is raised."""
    failures = []
    for thing in reversed(things):
        try:
            thing.close()
        except Exception as e:  # noqa: BLE001 - close the others, report the first failure
            failures.append(e)
    if failures:
        raise failures[0]


class DindFactory:
    """Callable returned by the ``dind_factory`` fixture; ``daemons`` lists what it made (all closed at teardown)."""

    def __init__(self, defaults: Dict[str, Any]) -> None:
        self.defaults = defaults
        self.daemons: List["Dind"] = []

    def __call__(self, **kwargs: Any) -> "Dind":
        from .daemon import Dind

        d = Dind(**{**self.defaults, **kwargs})
        self.daemons.append(d)
        return d

    def close(self) -> None:
        """Removes every daemon this factory made (newest first)."""
        _close_all(self.daemons)


class JobFactory:
    """Callable returned by the ``dind_job`` fixture; ``jobs`` lists what it made (all closed at teardown)."""

    def __init__(self, defaults: Dict[str, Any]) -> None:
        self.defaults = defaults
        self.jobs: List["Job"] = []

    def __call__(self, command: Any = None, **kwargs: Any) -> "Job":
        from .job import Job

        job = Job(command, **{**self.defaults, **kwargs})
        self.jobs.append(job)
        return job

    def close(self) -> None:
        """Ends and removes every job this factory made (newest first)."""
        _close_all(self.jobs)


class _State:
    """Per-session plugin state, kept in ``config.stash``."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.session_daemon: Optional["Dind"] = None
        self.shared_daemon: Optional["Dind"] = None  # xdist controller with --dind-share: the one all workers use
        self.reaped = False
        self.starting: Optional["Starting"] = None  # the background start of the session daemon, until joined
        self.notes: List[str] = []  # what the background start has to say, said when the fixture joins it
        self.figures: Dict[str, float] = {}  # "start", "wait": see session_daemon_figures()
        self.kept: List[Dict[str, Any]] = []  # {"name": ..., "env": {...}} of daemons left running

    # -- options --------------------------------------------------------------------------------------------------
    @property
    def image(self) -> str:
        return str(self.config.getoption("dind_image"))

    @property
    def timeout(self) -> float:
        return float(self.config.getoption("dind_timeout"))

    @property
    def keep(self) -> bool:
        return bool(self.config.getoption("dind_keep"))

    @property
    def share(self) -> bool:
        return bool(self.config.getoption("dind_share"))

    def defaults(self) -> Dict[str, Any]:
        """Keywords of every daemon the fixtures make: the options, then --dind-option, then --dind-arg."""
        options: Dict[str, Any] = {"image": self.image, "start_timeout": self.timeout}
        options.update(self.config.getoption("dind_options") or [])
        args = list(self.config.getoption("dind_args") or [])
        if args:
            options["dockerd_args"] = list(options.get("dockerd_args") or ()) + args
        return options

    def session_options(self) -> Dict[str, Any]:
        options: Dict[str, Any] = {"owner": "self", **self.defaults(), **plugin_options.session_reuse_and_cache(self.config)}
        if self.keep:
            # A kept daemon must outlive this run, and the next run's reap must spare it: it belongs to the terminal
            # session (or CI job) pytest runs in, not to pytest, nor to a wrapper such as make, tox or an xdist
            # controller.
            options.update(owner="session")
        return options

    def start_session_daemon(self) -> "Dind":
        """Starts the session's daemon here and now (progress on the terminal); with --dind-keep it outlives the
        run."""
        from .daemon import Dind

        t0 = time.monotonic()
        self.reap_once()
        self.say(f"dind: starting a daemon ({self.image})")
        d = Dind(**self.session_options())
        self.figures = {"start": time.monotonic() - t0, "wait": time.monotonic() - t0}
        return self.ready(d)

    def start_in_background(self) -> None:
        """Main thread, before collection: the reap and the session daemon's start go on on a thread."""
        from .daemon import Starting

        self.starting = Starting(self.session_options(), before=lambda: self.reap_once(quiet=True))

    def join_session_daemon(self) -> "Dind":
        """The background start's daemon (waiting for the rest of it), or its error."""
        starting, self.starting = self.starting, None
        assert starting is not None
        t0 = time.monotonic()
        try:
            d = starting.result()
        finally:
            self.figures = {"start": starting.seconds or 0.0, "wait": time.monotonic() - t0}
            for note in self.notes:
                self.say(note)
            self.notes.clear()
        return self.ready(d)

    def cancel_background_start(self) -> None:
        """Abandons the background start (removing what it made); its error, if any, is nobody's concern."""
        starting, self.starting = self.starting, None
        if starting is not None:
            starting.cancel()

    def ready(self, d: "Dind") -> "Dind":
        self.say(f"dind: daemon {d.name} ready on {d.host} in {self.figures['start']:.2f} s (the first test waited "
                 f"{self.figures['wait']:.2f} s)")
        if self.keep:
            d.keep()
        return d

    def end_session_daemon(self, d: "Dind") -> None:
        """Removes it, or with --dind-keep records it for the terminal summary (a worker's goes to the controller)."""
        if not self.keep:
            d.close()
            return
        self.kept.append({"name": d.name, "env": d.env})
        workeroutput = getattr(self.config, "workeroutput", None)
        if workeroutput is not None:
            workeroutput.setdefault("dind_kept", []).append({"name": d.name, "env": d.env})

    # -- terminal -------------------------------------------------------------------------------------------------
    def say(self, line: str, always: bool = False) -> None:
        """A line on the terminal (outside output capture): on a TTY or with -v, or when ``always``."""
        tr = self.config.pluginmanager.get_plugin("terminalreporter")
        if tr is None:
            return
        isatty = getattr(tr, "isatty", False)
        if callable(isatty):
            isatty = isatty()
        if not (always or isatty or self.config.getoption("verbose") > 0):
            return
        capman = self.config.pluginmanager.get_plugin("capturemanager")
        if capman is not None:
            with capman.global_and_fixture_disabled():
                tr.write_line(line)
        else:
            tr.write_line(line)

    # -- reaping --------------------------------------------------------------------------------------------------
    def reap_once(self, quiet: bool = False) -> None:
        """Removes what dead sessions left behind; once per process, never fatal to the run. ``quiet`` (on the
        background thread): what it has to say is kept in ``notes`` (the terminal and warnings are the main
        thread's)."""
        if self.reaped:
            return
        self.reaped = True
        try:
            from .daemon import reap

            removed = reap(**plugin_options.reap_scope(self.defaults()))
        except Exception as e:  # noqa: BLE001 - an engine problem shows up when the fixture starts a daemon
            if quiet:
                self.notes.append(f"dind: could not reap leftovers of earlier runs: {e}")
            else:
                warnings.warn(f"dind: could not reap leftovers of earlier runs: {e}", stacklevel=2)
            return
        n = sum(len(v) for v in removed.values())
        if n:
            what = ", ".join(f"{len(v)} {k}" for k, v in removed.items() if v)
            line = f"dind: removed leftovers of dead sessions: {what}"
            if quiet:
                self.notes.append(line)
            else:
                self.say(line)


_STATE = pytest.StashKey[_State]()


def _state(config: pytest.Config) -> _State:
    return config.stash[_STATE]


def session_daemon_figures(config: pytest.Config) -> Dict[str, float]:
    """Seconds the session daemon took to start (``"start"``, the reap before it included) and the first test that
    used it waited for it (``"wait"``); empty until the ``dind`` fixture has it (or with --dind-share)."""
    return dict(_state(config).figures)


# -- hooks --------------------------------------------------------------------------------------------------------
def pytest_addoption(parser: pytest.Parser) -> None:
    """The plugin's options: --dind-image, --dind-keep, --dind-timeout, --dind-job-image, --dind-share,
    --dind-arg, --dind-option, --dind-lazy (python/dind/plugin_options.py)."""
    plugin_options.add_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    """Sets up the plugin's per-run state."""
    config.stash[_STATE] = _State(config)


@pytest.hookimpl(trylast=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    """Starts the session daemon in the background (on the main thread first: the SIGTERM handler)."""
    state = _state(session.config)
    if plugin_options.background_start_wanted(session.config):
        state.start_in_background()


def pytest_collection_finish(session: pytest.Session) -> None:
    # Reap at the start of a run that uses the fixtures (not on every pytest run of a project that merely has the
    # plugin installed: those may have no engine at all).
    """Cancels the background start unless a collected test uses the session daemon; reaps what killed runs left,
    when the collected tests use the plugin's fixtures."""
    state = _state(session.config)
    used = {name for item in session.items for name in getattr(item, "fixturenames", ())}
    if not used & set(SESSION_FIXTURES):
        state.cancel_background_start()
    if used & set(FIXTURES):
        state.reap_once()


def _daemons_of(item: pytest.Item) -> List["Dind"]:
    """The daemons a test used: through its fixtures (directly or via other fixtures)."""
    daemon_module = sys.modules.get(__package__ + ".daemon")
    if daemon_module is None:  # no daemon was ever made in this process (and the extension need not load)
        return []
    dind_class = daemon_module.Dind

    funcargs = getattr(item, "funcargs", None) or {}
    state = _state(item.config)
    found: List["Dind"] = []
    for value in funcargs.values():
        if isinstance(value, dind_class):
            found.append(value)
        elif isinstance(value, DindFactory):
            found.extend(value.daemons)
        elif isinstance(value, JobFactory):
            found.extend(j.dind for j in value.jobs if j.dind is not None)
    if "dind_client" in funcargs and state.session_daemon is not None:
        found.append(state.session_daemon)
    unique: List["Dind"] = []
    for d in found:
        if all(d is not u for u in unique):
            unique.append(d)
    return unique


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item,
                               call: pytest.CallInfo[None]) -> Generator[None, "Result[pytest.TestReport]", None]:
    """Adds the log tail of the daemons a failed test used (or of a daemon that failed to start) to its report."""
    outcome = yield
    report = outcome.get_result()
    if not report.failed or call.when == "teardown":
        return
    from .errors import DaemonStartError

    if call.excinfo is not None and isinstance(call.excinfo.value, DaemonStartError):
        tail = call.excinfo.value.log_tail
        if tail:
            report.sections.append(("dind: log of the daemon that failed to start", tail))
    for d in _daemons_of(item):
        if d.closed:
            continue
        try:
            text = d.logs(tail=LOG_LINES)
        except Exception as e:  # noqa: BLE001 - the report must not fail because the log could not be read
            text = f"(could not read the log of {d.name}: {e})"
        report.sections.append((f"dind log: {d.name} (last {LOG_LINES} lines)", text))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Prints the environment of the daemons kept running (--dind-keep); with -v, the session daemon's start time
    and the first test's wait for it."""
    state = _state(terminalreporter.config)
    if state.figures and terminalreporter.config.getoption("verbose") > 0:
        terminalreporter.write_line(f"dind: the session daemon started in {state.figures['start']:.2f} s; the first "
                                    f"test waited {state.figures['wait']:.2f} s for it")
    for kept in state.kept:
        terminalreporter.write_sep("-", f"dind: daemon {kept['name']} kept running")
        for key, value in kept["env"].items():
            terminalreporter.write_line(f"export {key}={shlex.quote(value)}")
        terminalreporter.write_line(f"# remove it with: dind down {kept['name']}")


# -- fixtures -----------------------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def dind(request: pytest.FixtureRequest) -> Iterator["Dind"]:
    """One throwaway Docker daemon for the session (per xdist worker, or shared by all of them with --dind-share);
    removed at the end unless --dind-keep."""
    state = _state(request.config)
    shared = (getattr(request.config, "workerinput", None) or {}).get("dind_shared")
    if shared:
        # The controller owns it (and removes it when every worker is done): attach, never remove it here.
        from .daemon import Dind

        state.reap_once()
        d = Dind.attach(shared)
        state.say(f"dind: using the shared daemon {d.name} on {d.host}")
    elif state.starting is not None:
        d = state.join_session_daemon()
    else:
        d = state.start_session_daemon()
    state.session_daemon = d
    try:
        yield d
    finally:
        state.session_daemon = None
        if shared:
            d.close()  # attached, hence kept: close() leaves it running for the controller to remove
        else:
            state.end_session_daemon(d)


@pytest.fixture(scope="session")
def dind_client(dind: "Dind") -> "Client":
    """The ``dind.Client`` of the session daemon (mutual TLS)."""
    return dind.client


@pytest.fixture
def dind_factory(request: pytest.FixtureRequest) -> Iterator[DindFactory]:
    """``dind_factory(**kwargs) -> dind.Dind``: new daemons (defaults from the options), removed after the test."""
    state = _state(request.config)
    state.reap_once()
    factory = DindFactory(state.defaults())
    try:
        yield factory
    finally:
        factory.close()


@pytest.fixture
def dind_job(request: pytest.FixtureRequest) -> Iterator[JobFactory]:
    """``dind_job(command, **kwargs) -> dind.Job``: CI job containers (image from --dind-job-image, sidecar from
    --dind-image, workspace the test's ``tmp_path`` unless given), ended and removed after the test."""
    state = _state(request.config)
    state.reap_once()
    factory = JobFactory({"image": request.config.getoption("dind_job_image"), "dind_image": state.image,
                          "start_timeout": state.timeout, "workspace": request.getfixturevalue("tmp_path")})
    try:
        yield factory
    finally:
        factory.close()


# -- pytest-xdist: the controller prints workers' kept daemons, and owns the shared daemon of --dind-share --------
@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """Controller side, once per worker before it starts: with --dind-share, the first call starts the daemon."""
    state = _state(node.config)
    if not state.share:
        return
    if state.shared_daemon is None:
        state.shared_daemon = state.start_session_daemon()
    node.workerinput["dind_shared"] = state.shared_daemon.name


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Abandons a background start no test joined (an interrupted or failed collection); removes the shared daemon
    of --dind-share once every worker is done."""
    state = _state(session.config)
    state.cancel_background_start()
    if state.shared_daemon is not None:  # the controller of --dind-share: every worker is done with it
        d, state.shared_daemon = state.shared_daemon, None
        state.end_session_daemon(d)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """Collects the kept daemons a pytest-xdist worker reports."""
    kept = (getattr(node, "workeroutput", None) or {}).get("dind_kept") or []
    config = getattr(node, "config", None)
    if config is not None and _STATE in config.stash:
        _state(config).kept.extend(kept)
    else:  # pragma: no cover - defensive: print at least
        for k in kept:
            sys.stderr.write(f"dind: daemon {k['name']} kept running: {k['env']}\n")
