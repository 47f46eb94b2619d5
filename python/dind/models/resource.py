"""Base classes for docker-py style resource models and their collections."""

from __future__ import annotations

from typing import Any, Dict, Generic, List, Optional, Type, TypeVar, cast


def core_client(client: Any) -> Any:
    """The ``dind._core.Client`` behind a ``dind.Client`` (or that core client itself)."""
    return getattr(client, "_api", client)


class Model:
    """One object on the engine (container, image, network, volume), backed by its raw API JSON."""

    #: Key of ``attrs`` that holds the object's id.
    id_attribute = "Id"
    #: The collection class of this kind (set by each module), whose core group a model without a collection uses.
    collection_type: Optional[Type["Collection[Any]"]] = None

    def __init__(
        self,
        attrs: Optional[Dict[str, Any]] = None,
        client: Any = None,
        collection: Optional["Collection[Any]"] = None,
    ) -> None:
        self.client = client
        self.collection: Optional[Collection[Any]] = collection
        self.attrs: Dict[str, Any] = attrs if attrs is not None else {}

    def __repr__(self) -> str:
        return f"<{type(self).__name__}: {self.short_id}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, type(self)) and self.id == other.id

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.id))

    @property
    def id(self) -> Optional[str]:
        """The full id of the object."""
        value: Optional[str] = self.attrs.get(self.id_attribute)
        return value

    @property
    def short_id(self) -> str:
        """The id truncated to 12 characters (models with ``sha256:`` ids override this)."""
        return (self.id or "")[:12]

    @property
    def _group(self) -> Any:
        """The core's endpoint group (``dind._core.Containers``, ...) this object's calls go through."""
        if self.collection is not None:
            return self.collection._group
        assert self.collection_type is not None and self.collection_type.group_type is not None
        return self.collection_type.group_type(core_client(self.client))

    def reload(self) -> None:
        """Fetch the object from the engine again and replace ``attrs``."""
        if self.collection is None:
            raise RuntimeError(f"cannot reload {self!r}: it belongs to no collection")
        if self.id is None:
            raise RuntimeError(f"cannot reload {self!r}: it has no {self.id_attribute}")
        self.attrs = self.collection.get(self.id).attrs


M = TypeVar("M", bound=Model)


class Collection(Generic[M]):
    """All objects of one kind on an engine; subclasses set ``model`` (``Collection[Container]``, ...)."""

    model: Type[M]
    #: The core's endpoint group class of this kind (``dind._core.Containers``, ...).
    group_type: Any = None

    def __init__(self, client: Any = None) -> None:
        self.client = client
        self._group: Any = type(self).group_type(core_client(client)) if type(self).group_type is not None else None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError(f"'{type(self).__name__}' object is not callable")

    def get(self, key: str) -> M:
        """The object named ``key`` (an id or a name); ``errors.NotFound`` if there is none."""
        raise NotImplementedError

    def list(self, *args: Any, **kwargs: Any) -> List[M]:
        """The objects of this kind on the engine."""
        raise NotImplementedError

    def prepare_model(self, attrs: Any) -> M:
        """Wrap raw API attributes (or re-home an existing model) as this collection's model."""
        if isinstance(attrs, Model):
            attrs.client = self.client
            attrs.collection = self
            return cast(M, attrs)
        if isinstance(attrs, dict):
            return self.model(attrs=attrs, client=self.client, collection=self)
        raise TypeError(f"cannot make a {self.model.__name__} from {attrs!r}")
