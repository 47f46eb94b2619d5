"""The layout rules of ARCHITECTURE.md, checked: no include in cpp/src runs from a lower layer to a higher one, no
source file grows past one idea (450 lines, with the exceptions named below), no function past one screen (60
lines, with the exceptions named below), and no comment cites an issue number or a document outside the repo."""
from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Dict, List

REPO = Path(__file__).resolve().parents[2]
SRC = REPO / "cpp" / "src"

# The folders of cpp/src, by layer (ARCHITECTURE.md, "The layers of the core").
FOLDER_LAYER = {"core": 0, "transport": 2, "http": 3, "codec": 4, "api": 5, "kube": 5, "dind": 6}
# Each public header's layer. Layer 1 (where the engine is) shares the transport folder with layer 2.
HEADER_LAYER = {
    "errors": 0,
    "endpoint": 1, "context": 1, "tls": 1, "client_config": 1, "kubeconfig": 1,
    "connection": 2, "pool": 2, "forwarder": 2,
    "http": 3,
    "demux": 4, "jsonlines": 4, "base64": 4, "tar": 4, "extract": 4, "build_context": 4, "dockerignore": 4,
    "path_stat": 4, "websocket": 4,
    "client": 5, "containers": 5, "images": 5, "networks": 5, "volumes": 5, "system": 5, "exec": 5, "events": 5,
    "streams": 5, "frames": 5, "credentials": 5, "archive": 5, "filters": 5, "tunnel": 5, "wait": 5, "body_source": 5, "json_stream": 5,
    "kube": 5,
    "certs": 6, "private_dir": 6, "daemon": 6, "reach": 6, "session": 6, "job": 6, "cache": 6,
    "dind": 7,  # the umbrella header: nothing in cpp/src includes it
}
# Files allowed past 450 lines, and why.
LONG_FILES: Dict[str, str] = {}
# Functions allowed past 60 lines, and why: each is a table (one registration or one option per line), not logic.
LONG_FUNCTIONS: Dict[str, str] = {
    "PYBIND11_MODULE": "the Client class's .def() table and the module's constants",
    "DIND_BINDINGS": "a binding group's table of .def() lines, one per endpoint",
    "build_parser": "the CLI's argparse table, one add_argument per flag",
}
INCLUDE = re.compile(r'#include\s+"([^"]+)"')


def _layer_of_include(name: str) -> int:
    if name.startswith("dind/"):
        stem = Path(name).stem
        assert stem in HEADER_LAYER, f"public header {name} has no layer in test_layout.py (add it)"
        return HEADER_LAYER[stem]
    folder = name.split("/")[0] if "/" in name else None
    return FOLDER_LAYER[folder] if folder in FOLDER_LAYER else -1  # a private header of the same folder


def test_no_include_runs_from_a_lower_layer_to_a_higher_one() -> None:
    wrong: List[str] = []
    for path in sorted(SRC.rglob("*.[ch]pp")):
        folder = path.relative_to(SRC).parts[0]
        own = FOLDER_LAYER[folder]
        for name in INCLUDE.findall(path.read_text()):
            if name.startswith(folder + "/") or "/" not in name:
                continue  # a private header of its own folder
            layer = _layer_of_include(name)
            # transport holds layers 1 and 2: a layer-1 file may not reach layer 2 either
            stem = path.stem
            mine = HEADER_LAYER.get(stem, own) if folder == "transport" else own
            if layer > mine:
                wrong.append(f"{path.relative_to(REPO)} (layer {mine}) includes {name} (layer {layer})")
    for path in sorted((REPO / "cpp" / "include" / "dind").glob("*.hpp")):
        mine = HEADER_LAYER[path.stem]
        for name in INCLUDE.findall(path.read_text()):
            layer = _layer_of_include(name)
            if layer > mine:
                wrong.append(f"{path.relative_to(REPO)} (layer {mine}) includes {name} (layer {layer})")
    assert wrong == []


def test_no_source_file_past_450_lines_but_the_named_ones() -> None:
    long = []
    for path in sorted(list((REPO / "cpp").rglob("*.[ch]pp")) + list((REPO / "python" / "dind").rglob("*.py"))):
        n = len(path.read_text().splitlines())
        rel = str(path.relative_to(REPO))
        if n > 450 and rel not in LONG_FILES:
            long.append(f"{rel}: {n} lines")
    assert long == []


# A C++ function definition: a line at column 0 that ends in ") ... {" (or a bindings block); it ends at its brace.
CPP_FUNCTION = re.compile(r"^(?:[A-Za-z].*\)\s*(?:const)?\s*(?:noexcept)?\s*(?:override)?\s*\{|(DIND_BINDINGS|PYBIND11_MODULE)\b.*\{)\s*$")
CPP_NAME = re.compile(r"([A-Za-z_][\w:~]*)\s*\(")


def _cpp_functions(path: Path) -> List[tuple]:
    """(name, lines) of each top-level C++ function definition in ``path``, by brace counting."""
    lines = path.read_text().splitlines()
    found, i = [], 0
    while i < len(lines):
        m = CPP_FUNCTION.match(lines[i])
        if m:
            depth, j = 0, i
            while j < len(lines):
                depth += lines[j].count("{") - lines[j].count("}")
                if depth <= 0 and j > i:
                    break
                j += 1
            name = m.group(1) or (CPP_NAME.findall(lines[i]) or ["?"])[0]
            found.append((name, j - i + 1))
            i = j
        i += 1
    return found


def test_no_function_past_60_lines_but_the_named_ones() -> None:
    long = []
    for path in sorted((REPO / "cpp").rglob("*.[ch]pp")):
        if "tests" in path.relative_to(REPO).parts:
            continue
        for name, n in _cpp_functions(path):
            if n > 60 and name.split("::")[-1] not in LONG_FUNCTIONS:
                long.append(f"{path.relative_to(REPO)}: {name} {n} lines")
    for path in sorted((REPO / "python" / "dind").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name not in LONG_FUNCTIONS:
                n = (node.end_lineno or node.lineno) - node.lineno + 1
                if n > 60:
                    long.append(f"{path.relative_to(REPO)}: {node.name} {n} lines")
    assert long == []


def test_comments_point_into_the_repo() -> None:
    cites = re.compile(r"DESIGN\.md|\bissues? [0-9]+\b|/work/shared", re.IGNORECASE)
    found = []
    for pattern in ("cpp/**/*.[ch]pp", "python/**/*.py", "tests/**/*.py", "tests/**/*.cpp", "fuzz/*.cpp",
                    "bench/*.py", "scripts/**/*.sh", "scripts/*", "*.md", "bench/*.md"):
        for path in REPO.glob(pattern):
            if not path.is_file() or path.name == "test_layout.py":
                continue
            for i, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
                if cites.search(line):
                    found.append(f"{path.relative_to(REPO)}:{i}: {line.strip()[:100]}")
    assert found == []
