"""The commands about layer caches: cache ls, cache rm (the rules are the core's: cpp/include/dind/cache.hpp)."""
from __future__ import annotations

import argparse
import json

from .common import CliError, age, engine_client, error, progress


def cmd_cache_ls(args: argparse.Namespace) -> int:
    """``dind cache ls``: the layer caches on the engine, with the containers that use them."""
    from ..daemon import list_caches

    caches = list_caches(engine_client())
    if args.json:
        print(json.dumps(caches, indent=2))
        return 0
    rows = [("NAME", "CREATED", "USED BY", "MOUNTPOINT")]
    for c in caches:
        rows.append((c["name"], age(c.get("created", 0)), ", ".join(c.get("users", ())) or "-",
                     c.get("mountpoint") or "-"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(col.ljust(w) for col, w in zip(r, widths)).rstrip())
    return 0


def cmd_cache_rm(args: argparse.Namespace) -> int:
    """``dind cache rm NAME...``: removes caches; one in use is refused, the others still go."""
    from .. import errors
    from ..daemon import remove_cache

    engine = engine_client()
    failed = 0
    for name in args.names:
        try:
            progress(f"removing cache {name} ...")
            if not remove_cache(name, client=engine):
                raise CliError(f"no cache named {name!r} on {engine.base_url} (see `dind cache ls`)")
            print(f"removed cache {name}")
        except (CliError, errors.DockerException) as e:
            error("cache rm", str(e))
            failed += 1
    return 1 if failed else 0
