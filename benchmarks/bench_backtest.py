"""Backtest simulator speed: path-steps per second for each strategy, on the same seeded paths.

One process, one core (OMP/MKL/OPENBLAS/NUMBA threads pinned to 1 before
numpy loads). The market (Merton paths, 4,000 x 30 days at 60-minute steps)
and the buyer flow are built once; each strategy then runs the full
simulator (settlement, marks, guard, policy, hedger, sales) over all of
them, timed from the first step to the last (market generation and the
numba compile are excluded; a warm-up run compiles). Best of 3, wall clock
and CPU time of this process (the latter is what a busy machine disturbs
least), and the CPU time split between the policy call and the simulator.

    .venv/bin/python benchmarks/bench_backtest.py [--paths N] [--days D] [--step-minutes M]
"""
import os

for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[var] = "1"

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _chain import write_section  # noqa: E402  (its ape import is inside a function)

STRATEGIES = ("no_hedge", "hedge_every:4", "fixed_band:0.01", "dynamic")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--paths", type=int, default=4000)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--step-minutes", type=int, default=60)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md alone")
    args = ap.parse_args(argv)

    from keeper.backtest import Simulator, StaticConfig, StrategyUnavailable, make_market, resolve_strategy
    from keeper.params import Params

    params = Params.from_constants()
    t0 = time.perf_counter()
    market = make_market("merton", args.paths, args.days, args.step_minutes, args.seed, params=params)
    sim = Simulator(market, params, seed=args.seed + 1)
    t_market = time.perf_counter() - t0
    static = StaticConfig(vol=market.nominal_vol, step_seconds=market.step_seconds)
    small = Simulator(make_market("merton", 4, 2, args.step_minutes, 0, params=params), params, seed=0)

    rows, skipped = [], []
    for spec in STRATEGIES:
        try:
            name, policy, cfg = resolve_strategy(spec)
        except StrategyUnavailable as err:
            skipped.append(f"{spec}: {err}")
            continue
        from keeper.backtest import _fit_policy_cfg

        cfg = static if isinstance(cfg, StaticConfig) else _fit_policy_cfg(cfg, market.step_seconds, params, sim.cfg)
        small.run(name, policy, cfg)  # compile / warm up
        in_policy = [0.0]

        def timed(state, p, c, _policy=policy):
            t = time.process_time()
            out = _policy(state, p, c)
            in_policy[0] += time.process_time() - t
            return out

        best_wall = best_cpu = best_pol = float("inf")
        for _ in range(args.repeat):
            in_policy[0] = 0.0
            w, c = time.perf_counter(), time.process_time()
            res = sim.run(name, timed, cfg)
            best_wall = min(best_wall, time.perf_counter() - w)
            best_cpu = min(best_cpu, time.process_time() - c)
            best_pol = min(best_pol, in_policy[0])
        ps = res.path_steps
        rows.append((name, ps, ps / best_wall, ps / best_cpu, best_pol / ps * 1e9, (best_cpu - best_pol) / ps * 1e9))

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    lines = [
        "| strategy | path-steps | wall (M path-steps/s) | CPU time (M path-steps/s) | policy (ns / path-step) "
        "| simulator (ns / path-step) |",
        "|---|---:|---:|---:|---:|---:|",
        *[f"| {n} | {ps:,} | {w / 1e6:.2f} | {c / 1e6:.2f} | {pol:.0f} | {simu:.0f} |"
          for n, ps, w, c, pol, simu in rows],
    ]
    table = "\n".join(lines)
    static = [r for r in rows if r[0] != "dynamic"]
    worst = min(r[2] for r in static)
    note = (
        f"Merton paths ({args.paths:,} x {args.days} days at {args.step_minutes}-minute steps; market generated in "
        f"{t_market:.1f} s, not counted). Every step runs settlement, the marks refresh (Black-Scholes for every live "
        "series), the guard's six breakers, the policy (numpy in, numpy out), budget and vol posts, the hedger's "
        "checks and the buyers' sales with the stress-grid limits. Best of "
        f"{args.repeat}; load average at the end {load:.1f} on {os.cpu_count()} CPUs (other jobs share the machine: "
        "the wall figures move with them, CPU time less)."
    )
    goal = (
        f"Goal >= 2 M path-steps/s on one core with the full strategy logic: slowest static strategy "
        f"{worst / 1e6:.2f} M (wall), " + ("met" if worst >= 2e6 else "not met on this run's wall clock") + "."
    )
    dyn = [r for r in rows if r[0] == "dynamic"]
    if dyn:
        n, ps, w, c, pol, simu = dyn[0]
        goal += (
            f" dynamic: {w / 1e6:.2f} M (wall), " + ("met" if w >= 2e6 else "not met") + f": keeper.allocator.allocate "
            f"takes {pol:.0f} ns per path-step and its vol and budget posts every step re-mark the book "
            f"(simulator {simu:.0f} ns against {min(r[5] for r in static):.0f} for the static strategies)."
        )
    if skipped:
        note += " Not run: " + "; ".join(skipped) + "."
    cmd = "`.venv/bin/python benchmarks/bench_backtest.py" + (
        "" if argv is None and len(sys.argv) == 1 else " " + " ".join(sys.argv[1:] if argv is None else argv)
    ) + "`"
    print(table)
    print(note)
    print(goal)
    if not args.no_write:
        write_section(
            "Backtest simulator speed (bench_backtest.py)",
            f"Command: {cmd}. One process, one core (thread env vars set to 1), the same seeded paths and buyer flow "
            "for every strategy.\n\n" + table + "\n\n" + note + "\n\n" + goal,
        )


if __name__ == "__main__":
    main()
