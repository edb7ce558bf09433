"""Run every benchmark module in turn: ``python -m benchmarks``."""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path


def main() -> int:
    here = Path(__file__).parent
    status = 0
    for info in sorted(pkgutil.iter_modules([str(here)]), key=lambda m: m.name):
        if not info.name.startswith("bench_"):
            continue
        print(f"== benchmarks.{info.name} ==", flush=True)
        module = importlib.import_module(f"benchmarks.{info.name}")
        try:
            module.main([])
        except Exception as err:  # keep going: one broken benchmark must not hide others
            print(f"benchmarks.{info.name} failed: {err!r}")
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
