"""``lifhw design`` benchmark: design time and simulations per spec (single corner).

    .venv/bin/python -m benchmarks.bench_design [--workers 2] [--specs fast_neuron,middle]

Each spec of :data:`verification.test_design.SPECS` is designed from scratch at tt
(simulation cache off, so every ngspice run is counted and timed); prints one
Markdown row per spec: wall time, ngspice runs, loop iterations, candidates tried,
the chosen comparator bias, energy per spike and area, and the worst acceptance
error the loop measured.
"""

from __future__ import annotations

import argparse
import os
import time

from lifhw.analog import design as d
from verification.test_design import SPECS, spec_of


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--specs", default=",".join(SPECS))
    args = parser.parse_args()
    print(f"cores {os.cpu_count()}, load {os.getloadavg()[0]:.1f}, workers {args.workers}")
    print("| spec | tau, C, t_ref, max rate | wall (s) | ngspice runs | iterations | "
          "candidates | comparator bias | energy/spike | area (um^2) | worst ISI error |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name in args.specs.split(","):
        spec = spec_of(name)
        start = time.time()
        try:
            result = d.design(spec, name=name, workers=args.workers, cache=False)
        except d.DesignInfeasible as err:
            print(f"| {name} | {', '.join(SPECS[name])} | {time.time() - start:.0f} | | | | | "
                  f"| | refused: {err} |")
            continue
        worst = max(abs(e) for e in result.loop.errors["isi"].values())
        print(f"| {name} | {', '.join(SPECS[name])} | {result.seconds:.0f} | "
              f"{result.simulations} | {result.iterations} | {len(result.candidates_tried)} | "
              f"{result.candidate['comparator_bias_current'] * 1e9:g} nA | "
              f"{result.energy_per_spike_j * 1e12:.3g} pJ | {result.area_um2:.0f} | "
              f"{worst * 100:.2f} % |", flush=True)


if __name__ == "__main__":
    main()
