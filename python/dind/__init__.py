"""dind: throwaway Docker-in-Docker daemons for CI and tests, and a fast Docker Engine API client."""
from __future__ import annotations

from . import errors

__all__ = ["errors"]
__version__ = "0.1.0"
