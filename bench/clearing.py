"""Clearing engines head to head: merit order, the exact MILP (HiGHS) and NSGA-II (DEAP) on
realistic sessions of 100, 1,000 and 10,000 offers over 96 MTUs
(``market.domain.clearing.instances``). Needs no services.

Run ``python -m bench.clearing [--sizes 100,1000] [--seed 1]``; prints progress and a
table, and as its last line one JSON object: per size the engines' seconds, NSGA-II's
cost gap to the MILP (%), its unserved gap (kW summed over MTUs), its front's size; and
``ratio_nsga2_to_milp_s`` per size.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from market.domain.clearing.groups import flatten
from market.domain.clearing.instances import realistic_problem
from market.domain.clearing.merit_order import MeritOrder
from market.domain.clearing.milp import Milp
from market.domain.clearing.nsga2 import Nsga2
from market.domain.clearing.problem import ClearingResult

SIZES = (100, 1_000, 10_000)
# The MILP reference: served stages to 1e-7, cost stage to 1e-5 relative (0.001 %), far
# inside the 1 % NSGA-II is held to; a cap per solve keeps 10,000 offers within minutes.
MILP_OPTIONS: dict[str, Any] = {"cost_rel_gap": 1e-5, "time_limit": 120.0}


def _timed(label: str, run: Any) -> tuple[ClearingResult, float]:
    print(f"  {label:<12}", end="", flush=True)
    started = time.perf_counter()
    result = run()
    seconds = time.perf_counter() - started
    o = result.objectives
    print(f"{seconds:8.2f} s  cost {o.cost_eur:11.2f} €  unserved {o.unserved:9.2f} kW·MTU"
          f"  (DSO {o.unserved_dso:8.2f})  risk {o.risk:10.2f}", flush=True)
    return result, seconds


def bench_size(offers: int, seed: int) -> dict[str, Any]:
    """Clear one generated session with the three engines."""
    print(f"== {offers} offers", flush=True)
    started = time.perf_counter()
    problem = realistic_problem(offers, seed=seed)
    flat = flatten(problem)
    print(f"  generated in {time.perf_counter() - started:.1f} s: {len(problem.needs)} requests, "
          f"{len(problem.bids)} bids ({sum(len(b.steps) for b in problem.bids)} steps), "
          f"{len(problem.blocks)} blocks; {flat.pairs} eligible pairs in "
          f"{len(flat.groups)} groups", flush=True)
    merit, merit_s = _timed("merit order", lambda: MeritOrder().clear(problem))
    exact, milp_s = _timed("milp", lambda: Milp(**MILP_OPTIONS).clear(problem))
    chosen, nsga2_s = _timed("nsga2", lambda: Nsga2().clear(problem))
    o, m = chosen.objectives, exact.objectives
    row = {
        "offers": offers, "pairs": flat.pairs, "groups": len(flat.groups),
        "nsga2_s": round(nsga2_s, 2), "milp_s": round(milp_s, 2), "merit_s": round(merit_s, 2),
        "cost_gap_pct": round(100 * (o.cost_eur - m.cost_eur) / m.cost_eur, 3)
        if m.cost_eur else 0.0,
        "unserved_gap_kw": round(o.unserved - m.unserved, 3) + 0.0,  # no -0.0
        "unserved_dso_gap_kw": round(o.unserved_dso - m.unserved_dso, 3) + 0.0,
        "merit_cost_gap_pct": round(100 * (merit.objectives.cost_eur - m.cost_eur)
                                    / m.cost_eur, 3) if m.cost_eur else 0.0,
        "merit_unserved_gap_kw": round(merit.objectives.unserved - m.unserved, 3),
        "pareto_points": len(chosen.pareto_front),
        "nsga2_evaluations": chosen.statistics.get("evaluations"),
        "milp_time_limited": exact.statistics.get("time_limited"),
    }
    print(f"  NSGA-II vs MILP: cost {row['cost_gap_pct']:+.3f} %, unserved "
          f"{row['unserved_gap_kw']:+.3f} kW·MTU, {row['pareto_points']} front points; "
          f"merit order: cost {row['merit_cost_gap_pct']:+.3f} %, unserved "
          f"{row['merit_unserved_gap_kw']:+.3f} kW·MTU", flush=True)
    return row


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)),
                        help="offer counts, comma separated (default: 100,1000,10000)")
    parser.add_argument("--seed", type=int, default=1, help="instance seed")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    rows = [bench_size(n, args.seed) for n in sizes]

    print()
    header = (f"{'offers':>7} {'pairs':>8} {'merit s':>8} {'milp s':>8} {'nsga2 s':>8} "
              f"{'ratio':>6} {'cost gap %':>10} {'unserved gap':>12} {'front':>5}")
    print(header)
    print("-" * len(header))
    for r in rows:
        ratio = r["nsga2_s"] / r["milp_s"] if r["milp_s"] else float("nan")
        print(f"{r['offers']:>7} {r['pairs']:>8} {r['merit_s']:>8.2f} {r['milp_s']:>8.2f} "
              f"{r['nsga2_s']:>8.2f} {ratio:>6.2f} {r['cost_gap_pct']:>10.3f} "
              f"{r['unserved_gap_kw']:>12.3f} {r['pareto_points']:>5}")
    summary: dict[str, Any] = {
        str(r["offers"]): {k: r[k] for k in ("nsga2_s", "milp_s", "merit_s", "cost_gap_pct",
                                             "unserved_gap_kw", "pareto_points")}
        for r in rows}
    summary["ratio_nsga2_to_milp_s"] = {
        str(r["offers"]): round(r["nsga2_s"] / r["milp_s"], 3) if r["milp_s"] else None
        for r in rows}
    print(json.dumps(summary, sort_keys=True))
    return summary


if __name__ == "__main__":
    main()
