"""The network and volume calls of ``APIClient`` in docker-py's shapes, on the models' collections
(``models/networks.py``, ``models/volumes.py``), so the argument checks and conversions have one owner."""
from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional

from .. import _core
from ..models.networks import Network, NetworkCollection
from .container import resource_id


class NetworkApiMixin:
    """``networks``, ``create_network``, ``inspect_network``, ``remove_network``, ``connect_container_to_network``,
    ``disconnect_container_from_network``."""

    _core: Any

    def networks(self, names: Optional[List[str]] = None, ids: Optional[List[str]] = None,
                 filters: Optional[Dict[str, Any]] = None) -> List[Dict[str, Any]]:
        """``GET /networks``: the list entries, filtered by ``names``, ``ids`` and ``filters``."""
        return [n.attrs for n in NetworkCollection(self._core).list(names=names, ids=ids, filters=filters)]

    def create_network(self, name: str, driver: Optional[str] = None, options: Optional[Dict[str, str]] = None,
                       ipam: Optional[Mapping[str, Any]] = None, check_duplicate: Optional[bool] = None,
                       internal: bool = False, labels: Optional[Dict[str, str]] = None, enable_ipv6: bool = False,
                       attachable: Optional[bool] = None, scope: Optional[str] = None,
                       ingress: Optional[bool] = None) -> Dict[str, Any]:
        """``POST /networks/create``: ``{'Id': ..., 'Warning': ...}`` (``ipam``: a ``dind.types.IPAMConfig``)."""
        net = NetworkCollection(self._core).create(name, driver=driver, options=options, ipam=ipam,
                                                   check_duplicate=check_duplicate, internal=internal, labels=labels,
                                                   enable_ipv6=enable_ipv6, attachable=attachable, scope=scope,
                                                   ingress=ingress)
        return {"Id": net.id, "Warning": ""}

    def inspect_network(self, net_id: Any, verbose: Optional[bool] = None,
                        scope: Optional[str] = None) -> Dict[str, Any]:
        """``GET /networks/{id}``; ``errors.NotFound`` if there is none."""
        return NetworkCollection(self._core).get(resource_id(net_id, "network"), verbose, scope).attrs

    def remove_network(self, net_id: Any) -> None:
        """``DELETE /networks/{id}``."""
        self._network(net_id).remove()

    def connect_container_to_network(self, container: Any, net_id: Any, ipv4_address: Optional[str] = None,
                                     ipv6_address: Optional[str] = None, aliases: Optional[List[str]] = None,
                                     links: Any = None, link_local_ips: Optional[List[str]] = None,
                                     driver_opt: Optional[Dict[str, str]] = None,
                                     mac_address: Optional[str] = None) -> None:
        """``POST /networks/{id}/connect``, with the container's aliases, links and addresses there."""
        self._network(net_id).connect(resource_id(container), ipv4_address=ipv4_address, ipv6_address=ipv6_address,
                                      aliases=aliases, links=links, link_local_ips=link_local_ips,
                                      driver_opt=driver_opt, mac_address=mac_address)

    def disconnect_container_from_network(self, container: Any, net_id: Any, force: bool = False) -> None:
        """``POST /networks/{id}/disconnect``."""
        self._network(net_id).disconnect(resource_id(container), force=force)

    def _network(self, net_id: Any) -> Network:
        return Network(attrs={"Id": resource_id(net_id, "network")}, client=self._core)


class VolumeApiMixin:
    """``volumes``, ``create_volume``, ``inspect_volume``, ``remove_volume``."""

    _core: Any

    def volumes(self, filters: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
        """``GET /volumes``: ``{'Volumes': [...], 'Warnings': ...}``."""
        out: Dict[str, Any] = _core.Volumes(self._core).list(filters)
        return out

    def create_volume(self, name: Optional[str] = None, driver: Optional[str] = None,
                      driver_opts: Optional[Dict[str, str]] = None,
                      labels: Optional[Dict[str, str]] = None) -> Dict[str, Any]:
        """``POST /volumes/create``: the volume (``Name``, ``Driver``, ``Mountpoint``, ``Labels``, ...)."""
        out: Dict[str, Any] = _core.Volumes(self._core).create(name, driver, driver_opts, labels)
        return out

    def inspect_volume(self, name: str) -> Dict[str, Any]:
        """``GET /volumes/{name}``; ``errors.NotFound`` if there is none."""
        out: Dict[str, Any] = _core.Volumes(self._core).inspect(resource_id(name, "volume"))
        return out

    def remove_volume(self, name: str, force: bool = False) -> None:
        """``DELETE /volumes/{name}``."""
        _core.Volumes(self._core).remove(resource_id(name, "volume"), force)
