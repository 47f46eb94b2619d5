"""The errors dind raises; the names follow docker-py so that ``except docker.errors.X`` ports as is."""
from __future__ import annotations

# typing is imported only by the type checker: at run time it alone would cost `import dind` ~1.7 MB of RSS
# (bench/client_bench.py's import row), and the annotations are strings here (from __future__ import annotations).
TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Any, Dict, Iterable, Optional


class DockerException(Exception):
    """Base of every error dind raises."""


class ConnectionError(DockerException):  # noqa: A001 - docker-py users expect this name here
    """The engine could not be reached, or the connection broke."""


class TimeoutError(DockerException):  # noqa: A001
    """A deadline passed."""


class TLSError(DockerException):
    """TLS set-up or handshake failed (cert files, CA, host name, protocol mismatch)."""


class TLSParameterError(TLSError):
    """TLS settings that cannot be used, found before any connection (``dind.tls.TLSConfig``: a file missing)."""


class StreamError(DockerException):
    """A stream carried an error frame or an ``errorDetail``, or was malformed."""


class APIError(DockerException):
    """The engine answered with an error status."""

    def __init__(self, message: str, status_code: Optional[int] = None, explanation: Optional[str] = None,
                 method: Optional[str] = None, path: Optional[str] = None) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.explanation = explanation
        self.method = method
        self.path = path

    @property
    def response(self) -> Optional["ErrorResponse"]:
        """docker-py hands the HTTP response here; this is a small stand-in with its ``status_code``, ``reason``,
        ``url`` (the request path) and ``text``/``json()`` (the engine's message)."""
        if self.status_code is None:
            return None
        return ErrorResponse(self.status_code, self.explanation or "", self.method, self.path)

    def is_error(self) -> bool:
        """True for every engine error status (docker-py's name)."""
        return self.is_client_error() or self.is_server_error()

    def is_client_error(self) -> bool:
        """True for a 4xx status."""
        return self.status_code is not None and 400 <= self.status_code < 500

    def is_server_error(self) -> bool:
        """True for a 5xx status."""
        return self.status_code is not None and 500 <= self.status_code < 600


class ErrorResponse:
    """What ``APIError.response`` gives: the status, reason and the engine's message of a failed call."""

    def __init__(self, status_code: int, text: str, method: Optional[str], path: Optional[str]) -> None:
        from http import HTTPStatus

        self.status_code = status_code
        self.text = text
        self.content = text.encode()
        self.url = path or ""
        self.method = method
        try:
            self.reason = HTTPStatus(status_code).phrase
        except ValueError:
            self.reason = ""

    def json(self) -> Dict[str, Any]:
        """The engine's error body: ``{'message': ...}``."""
        return {"message": self.text}

    def __repr__(self) -> str:
        return f"<ErrorResponse [{self.status_code}]>"


class BadRequest(APIError):
    """400."""


class Unauthorized(APIError):
    """401."""


class Forbidden(APIError):
    """403."""


class NotFound(APIError):
    """404."""


class ImageNotFound(NotFound):
    """404 for an image."""


class Conflict(APIError):
    """409."""


class ServerError(APIError):
    """5xx."""


class ContainerError(DockerException):
    """A container run by ``containers.run`` exited non-zero; carries its output like docker-py."""

    def __init__(self, container: object, exit_status: int, command: object, image: str, stderr: Optional[bytes]):
        self.container = container
        self.exit_status = exit_status
        self.command = command
        self.image = image
        self.stderr = stderr
        err = f": {stderr.decode(errors='replace')}" if stderr else ""
        super().__init__(f"Command '{command}' in image '{image}' returned non-zero exit status {exit_status}{err}")


class ContainerExited(ContainerError):
    """A container exited (or was removed) while a wait for it ran; ``exit_status`` is -1 when it was removed."""

    def __init__(self, message: str, container: str, exit_status: int, log_tail: str = "") -> None:
        DockerException.__init__(self, message)
        self.container = container
        self.exit_status = exit_status
        self.command = None
        self.image = ""
        self.log_tail = log_tail
        self.stderr = log_tail.encode()


class InvalidArgument(DockerException):
    """An argument has a value the call cannot use (docker-py's ``docker.errors.InvalidArgument``)."""


class InvalidVersion(DockerException):
    """An option needs a newer API version than the client uses (docker-py's name)."""


class InvalidRepository(DockerException):
    """An image reference that cannot be parsed (docker-py's name)."""


class NullResource(DockerException, ValueError):
    """A call that names a container or image got None (docker-py's name)."""


class DeprecatedMethod(DockerException):
    """A docker-py call form that engines no longer support (e.g. HostConfig passed to ``start``)."""


class BuildError(DockerException):
    """A build failed: ``msg`` is the engine's reason, ``build_log`` the log lines (dicts) up to the failure."""

    def __init__(self, reason: str, build_log: Iterable[Dict[str, Any]], message: Optional[str] = None) -> None:
        super().__init__(message or reason)
        self.msg = reason
        self.build_log = build_log


class ImageLoadError(DockerException):
    """``images.load`` got an error from the engine."""


class ImageFileNotFound(ImageLoadError, FileNotFoundError):
    """``images.load(path)`` named a file that is not there: an ``ImageLoadError`` (what docker-py raises when the
    engine cannot read what it was sent) and a ``FileNotFoundError`` (``filename`` is the path)."""


class DaemonStartError(DockerException):
    """A dind daemon did not become ready; ``log_tail`` holds the last lines of its log."""

    def __init__(self, message: str, log_tail: str = "") -> None:
        super().__init__(message)
        self.log_tail = log_tail


class InsecureWarning(UserWarning):
    """A daemon was asked to run without TLS: its API port then lets in anyone who can reach it."""


class ReuseWarning(UserWarning):
    """``Dind(reuse=KEY)`` started a new daemon because the earlier one of that key did not serve (the message says
    why: it had stopped, did not answer, or its certs were gone)."""
