"""Volumes, with docker-py's names: ``client.volumes.create/get/list/prune`` and the ``Volume`` model."""
from __future__ import annotations

from typing import Any, Dict, List, Optional, cast

from .. import _core
from .resource import Collection, Model


class Volume(Model):
    """A volume on the engine; its id is its name."""

    id_attribute = "Name"

    @property
    def name(self) -> str:
        """The volume's name."""
        return cast(str, self.attrs["Name"])

    def remove(self, force: bool = False) -> None:
        """Remove this volume (``errors.Conflict`` while a container uses it)."""
        self._group.remove(self.id, bool(force))


class VolumeCollection(Collection[Volume]):
    """The volumes of an engine: ``client.volumes``."""

    model = Volume
    group_type = _core.Volumes
    _group: _core.Volumes

    def create(self, name: Optional[str] = None, driver: Optional[str] = None,
               driver_opts: Optional[Dict[str, str]] = None, labels: Optional[Dict[str, str]] = None) -> Volume:
        """Create a volume (the engine names it if ``name`` is None) and return it."""
        if driver_opts is not None and not isinstance(driver_opts, dict):
            raise TypeError("driver_opts must be a dictionary")
        if labels is not None and not isinstance(labels, dict):
            raise TypeError("labels must be a dictionary")
        return self.prepare_model(self._group.create(name, driver, driver_opts, labels))

    def get(self, volume_id: str) -> Volume:
        """A volume by name; ``errors.NotFound`` if there is none."""
        return self.prepare_model(self._group.inspect(volume_id))

    def list(self, filters: Optional[Dict[str, Any]] = None) -> List[Volume]:
        """Volumes, optionally filtered (``name``, ``label``, ``dangling``, ``driver``)."""
        resp = self._group.list(filters)
        return [self.prepare_model(v) for v in (resp.get("Volumes") or [])]

    def prune(self, filters: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
        """Remove unused volumes; returns ``{"VolumesDeleted": [...], "SpaceReclaimed": n}``."""
        return self._group.prune(filters)


Volume.collection_type = VolumeCollection
