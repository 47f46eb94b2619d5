"""docker-py's low-level client, ``docker.APIClient`` (also ``client.api``): one method per Engine API call, taking
ids (or ``{'Id': ...}`` dicts) and returning the engine's JSON as dicts, built on the same core groups and option
conversions as the high-level models."""
from .client import APIClient

__all__ = ["APIClient"]
