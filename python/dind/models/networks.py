"""Networks, with docker-py's names: ``client.networks.create/get/list/prune`` and the ``Network`` model."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, Iterable, List, Mapping, Optional, Tuple, Union

from .. import _core
from .resource import Collection, Model

if TYPE_CHECKING:  # pragma: no cover
    from .containers import Container

LinksArg = Union[None, Mapping[str, str], Iterable[Union[str, Tuple[str, str]]]]


def _container_id(container: Any) -> str:
    """An id or name from a ``Container`` model (anything with ``.id``) or a string."""
    if isinstance(container, Model):
        return str(container.id)
    return str(container)


def _normalize_links(links: LinksArg) -> Optional[List[str]]:
    """docker-py's link forms (dict, (name, alias) pairs, "name" or "name:alias") as "name:alias" strings."""
    if links is None:
        return None
    items = links.items() if isinstance(links, Mapping) else links
    out: List[str] = []
    for link in items:
        if isinstance(link, str):
            out.append(link if ":" in link else f"{link}:{link}")
        else:
            name, alias = link
            out.append(f"{name}:{alias or name}")
    return out


class Network(Model):
    """A network on the engine."""

    @property
    def name(self) -> Optional[str]:
        """The network's name."""
        return self.attrs.get("Name")

    @property
    def containers(self) -> List["Container"]:
        """The containers attached to the network (as of ``attrs``; ``reload()`` first for fresh data)."""
        ids = list((self.attrs.get("Containers") or {}).keys())
        if not ids:
            return []
        collection = getattr(self.client, "containers", None)
        if collection is None:  # a bare client without the lead's properties: build the collection ourselves
            from .containers import ContainerCollection

            collection = ContainerCollection(self.client)
        return [collection.get(cid) for cid in ids]

    def connect(self, container: Any, ipv4_address: Optional[str] = None, ipv6_address: Optional[str] = None,
                aliases: Optional[List[str]] = None, links: LinksArg = None,
                link_local_ips: Optional[List[str]] = None, driver_opt: Optional[Dict[str, str]] = None,
                mac_address: Optional[str] = None) -> None:
        """Attach a container (a ``Container`` model, id or name) to this network. The positional order is
        docker-py's (``connect_container_to_network``): ipv4_address, ipv6_address, aliases, links, ..."""
        if driver_opt is not None and not isinstance(driver_opt, dict):
            raise TypeError("driver_opt must be a dictionary")
        self._group.connect(self.id, _container_id(container), aliases, _normalize_links(links), ipv4_address,
                             ipv6_address, link_local_ips, driver_opt, mac_address)

    def disconnect(self, container: Any, force: bool = False) -> None:
        """Detach a container (a ``Container`` model, id or name) from this network."""
        self._group.disconnect(self.id, _container_id(container), bool(force))

    def remove(self) -> None:
        """Remove this network (``Conflict``-like APIError while containers use it)."""
        self._group.remove(self.id)


class NetworkCollection(Collection[Network]):
    """The networks of an engine: ``client.networks``."""

    model = Network
    group_type = _core.Networks
    _group: _core.Networks

    def create(self, name: str, driver: Optional[str] = None, options: Optional[Dict[str, str]] = None,
               ipam: Optional[Mapping[str, Any]] = None, check_duplicate: Optional[bool] = None,
               internal: bool = False, labels: Optional[Dict[str, str]] = None, enable_ipv6: bool = False,
               attachable: Optional[bool] = None, scope: Optional[str] = None,
               ingress: Optional[bool] = None) -> Network:
        """Create a network (like ``docker network create``) and return it. ``ipam`` is a dict in the API's shape
        (``{"Driver": "default", "Config": [{"Subnet": ...}]}``), e.g. docker-py's ``IPAMConfig``."""
        if options is not None and not isinstance(options, dict):
            raise TypeError("options must be a dictionary")
        if labels is not None and not isinstance(labels, dict):
            raise TypeError("labels must be a dictionary")
        resp = self._group.create(name, driver, options, dict(ipam) if ipam is not None else None, check_duplicate,
                                 bool(internal), labels, bool(enable_ipv6), attachable, scope, ingress)
        return self.get(resp["Id"])

    def get(self, network_id: str, verbose: Optional[bool] = None, scope: Optional[str] = None) -> Network:
        """A network by id or name; ``errors.NotFound`` if there is none."""
        return self.prepare_model(self._group.inspect(network_id, verbose, scope))

    def list(self, names: Optional[List[str]] = None, ids: Optional[List[str]] = None,
             filters: Optional[Dict[str, Any]] = None, greedy: bool = False) -> List[Network]:
        """Networks, filtered by ``names``, ``ids`` and ``filters`` (``driver``, ``label``, ``type``, ...).
        ``greedy`` inspects each one, which fills in ``Containers``."""
        f: Dict[str, Any] = dict(filters or {})
        if names:
            f["name"] = list(names)
        if ids:
            f["id"] = list(ids)
        networks = [self.prepare_model(item) for item in self._group.list(f or None)]
        if greedy:
            for net in networks:
                net.reload()
        return networks

    def prune(self, filters: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
        """Remove unused networks; returns ``{"NetworksDeleted": [...]}``."""
        return self._group.prune(filters)


Network.collection_type = NetworkCollection
