"""Project-wide fixtures built on dind's pytest plugin.

Installed with pip, dind's plugin loads itself (entry point ``pytest11``); from a source checkout run pytest with
``-p dind.pytest_plugin``. Choose the dind image with ``--dind-image`` (or ``$DIND_IMAGE``); ``--dind-keep`` leaves the
session daemon running after the run and prints its environment.

The plugin gives:
  dind          one throwaway daemon for the whole session (``dind.Dind``); with pytest-xdist one per worker
  dind_client   its ``dind.Client``
  dind_factory  ``dind_factory(**options) -> dind.Dind``: extra daemons for one test, removed after it
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from dind import Dind

TEST_IMAGE = "busybox:latest"  # present on the outer engine; streamed into the throwaway daemon, no registry needed


@pytest.fixture(scope="session")
def inner_busybox(dind: Dind) -> str:
    """The session daemon with the test image loaded into it (once per session)."""
    dind.load_images([TEST_IMAGE])
    return TEST_IMAGE
