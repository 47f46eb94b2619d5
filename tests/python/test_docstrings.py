"""Every public function and class of the API has a docstring that help() shows: what ``dind.__all__`` names, the
models' public classes and functions with their public methods and properties, ``dind.errors``, the CLI's ``main``,
the pytest plugin's fixtures and factories, and every class and function of the extension ``dind._core`` (whose
docstrings live in cpp/bindings/*.cpp; pybind11 puts a signature line first, which does not count)."""
from __future__ import annotations

import importlib
import inspect
import pydoc
import re
from typing import Any, Iterator, List, Tuple

import dind
import dind._core
import dind.cli
import dind.errors
import dind.pytest_plugin

MODELS = ["archive", "container_config", "containers", "images", "networks", "resource", "streams", "system",
          "volumes"]
# pybind11's own members of every enum and of every class (not the bindings' to document).
PYBIND11_OWN = {"name", "value"}
# A pybind11 signature line: `name(arg: type, ...) -> type`, or the overload header.
SIGNATURE = re.compile(r"^\s*(\d+\. )?[A-Za-z_][A-Za-z_0-9]*\(.*\)( -> .+)?$")


def _text(obj: Any) -> str:
    """The docstring without pybind11's signature lines."""
    doc = inspect.getdoc(obj) or ""
    lines = [line for line in doc.splitlines()
             if not SIGNATURE.match(line) and line.strip() not in ("Overloaded function.",)]
    return "\n".join(lines).strip()


def _members(cls: type, module_prefix: str) -> Iterator[Tuple[str, Any]]:
    """A class's public methods and properties, its own and those inherited from classes of `module_prefix`."""
    for klass in cls.__mro__:
        if not klass.__module__.startswith(module_prefix):
            continue
        for name, value in vars(klass).items():
            if name.startswith("_") or (module_prefix == "dind._core" and name in PYBIND11_OWN):
                continue
            if isinstance(value, (staticmethod, classmethod)):
                value = value.__func__
            if callable(value) or isinstance(value, property) or type(value).__name__ == "instancemethod":
                yield f"{cls.__name__}.{name}", value


def _public(module: Any) -> Iterator[Tuple[str, Any]]:
    """The classes and functions a module defines (no underscore), with their members."""
    names = getattr(module, "__all__", None) or [n for n in vars(module) if not n.startswith("_")]
    for name in names:
        value = getattr(module, name)
        if inspect.ismodule(value):
            continue
        own = getattr(value, "__module__", None) == module.__name__
        if inspect.isclass(value) and (own or module is dind):
            yield f"{module.__name__}.{name}", value
            prefix = "dind._core" if value.__module__ == "dind._core" else "dind"
            for member, obj in _members(value, prefix):
                yield f"{module.__name__}.{member}", obj
        elif callable(value) and (own or module is dind or module.__name__ == "dind._core"):
            yield f"{module.__name__}.{name}", value


def _undocumented(items: Iterator[Tuple[str, Any]]) -> List[str]:
    return sorted({name for name, obj in items if not _text(obj)})


def test_the_public_python_api_is_documented() -> None:
    items: List[Tuple[str, Any]] = list(_public(dind)) + list(_public(dind.errors))
    for name in MODELS:
        items += _public(importlib.import_module(f"dind.models.{name}"))
    items.append(("dind.cli.main", dind.cli.main))
    plugin = dind.pytest_plugin
    for fixture in plugin.FIXTURES:
        items.append((f"dind.pytest_plugin.{fixture}", getattr(plugin, fixture)))
    for cls in (plugin.DindFactory, plugin.JobFactory):
        items.append((f"dind.pytest_plugin.{cls.__name__}", cls))
        items += [(f"dind.pytest_plugin.{n}", o) for n, o in _members(cls, "dind")]
    assert len(items) > 150, f"the walk found only {len(items)} objects: it no longer reaches the API"
    missing = _undocumented(iter(items))
    assert missing == [], f"{len(missing)} public objects have no docstring: {', '.join(missing)}"


def test_the_extension_is_documented() -> None:
    items = list(_public(dind._core))
    assert len(items) > 100, f"the walk found only {len(items)} objects of dind._core"
    missing = _undocumented(iter(items))
    assert missing == [], (f"{len(missing)} classes, functions, methods or properties of dind._core have no docstring "
                           f"(cpp/bindings/*.cpp): {', '.join(missing)}")


def test_help_shows_the_docstrings() -> None:
    def words(text: str) -> str:
        return " ".join(text.split())

    client = words(pydoc.render_doc(dind.Client, renderer=pydoc.plaintext))
    assert words(_text(dind.Client.ping)) in client
    core = words(pydoc.render_doc(dind._core.Containers, renderer=pydoc.plaintext))
    assert words(_text(dind._core.Containers)) in core and words(_text(dind._core.Containers.list)) in core
