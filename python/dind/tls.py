"""docker-py's ``docker.tls.TLSConfig``: the TLS files a client uses, checked when made (missing files raise
``errors.TLSParameterError``, as docker-py does). ``dind.Client(tls=TLSConfig(...))`` hands them to the core, which
reads them and trusts only the CA given (``cpp/include/dind/tls.hpp``)."""
from __future__ import annotations

import os
from typing import Any, Dict, Optional, Tuple, Union

from . import errors

__all__ = ["TLSConfig"]


class TLSConfig:
    """TLS settings: ``client_cert=(cert, key)`` paths, ``ca_cert`` path, ``verify`` (bool, or a CA path).

    Unlike docker-py, an unspecified ``verify`` with a ``ca_cert`` verifies the engine against that CA (docker-py
    then does not verify at all); ``verify=False`` turns verification off.
    """

    cert: Optional[Tuple[str, str]] = None
    ca_cert: Optional[str] = None
    verify: Union[bool, str, None] = None

    def __init__(self, client_cert: Optional[Tuple[str, str]] = None, ca_cert: Optional[str] = None,
                 verify: Union[bool, str, None] = None) -> None:
        if client_cert:
            try:
                cert, key = client_cert
            except (TypeError, ValueError):
                raise errors.TLSParameterError(
                    f"client_cert must be a tuple of (client certificate, key file), got {client_cert!r}") from None
            for what, path in (("client certificate", cert), ("client key", key)):
                if not path or not os.path.isfile(path):
                    raise errors.TLSParameterError(
                        f"Path to a certificate and key files must be provided through the client_cert param: "
                        f"the {what} {path!r} is not a file")
            self.cert = (str(cert), str(key))
        self.ca_cert = ca_cert
        self.verify = verify
        if verify and ca_cert and not os.path.isfile(ca_cert):
            raise errors.TLSParameterError(f"Invalid CA certificate provided for `ca_cert`: {ca_cert!r} is not a file")

    @property
    def client_cert(self) -> Optional[Tuple[str, str]]:
        """The (cert, key) pair, as given."""
        return self.cert

    def as_dict(self) -> Dict[str, Any]:
        """The core's TLS options (``ca_cert``, ``client_cert``, ``verify``)."""
        return tls_options(self)

    def __repr__(self) -> str:
        return f"TLSConfig(client_cert={self.cert!r}, ca_cert={self.ca_cert!r}, verify={self.verify!r})"


def tls_options(tls: Any) -> Dict[str, Any]:
    """A TLSConfig-like object (this one or docker-py's: ``cert``/``client_cert``, ``ca_cert``, ``verify``) → the
    core's TLS dict. ``verify`` as a path names the CA; unset, it is on exactly when a CA is given."""
    out: Dict[str, Any] = {}
    cert = getattr(tls, "cert", None) or getattr(tls, "client_cert", None)
    if cert:
        out["client_cert"] = tuple(cert)
    ca_cert = getattr(tls, "ca_cert", None)
    verify = getattr(tls, "verify", None)
    if isinstance(verify, str):
        ca_cert, verify = ca_cert or verify, True
    if ca_cert:
        out["ca_cert"] = ca_cert
    out["verify"] = bool(ca_cert) if verify is None else bool(verify)
    return out
