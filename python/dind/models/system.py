"""System endpoints that are not on the core client itself: ``client.df()``."""
from __future__ import annotations

from typing import Any, Dict

from .. import _core
from .resource import core_client


def df(client: Any) -> Dict[str, Any]:
    """``GET /system/df``: data usage of images, containers, volumes and the build cache (like docker-py's df)."""
    return _core.df(core_client(client))


client_df = df  # the name the lead may wire as ``Client.df``
