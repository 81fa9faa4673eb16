"""Gas of on-chain Black-Scholes.

One `_greeks` evaluation (call and put price, delta, gamma, vega), measured
inside the EVM by `BlackScholesHarness.greeks_gas` with `msg.gas` before and
after: execution only (no 21,000 base, no calldata, no dispatch or ABI
decoding, no storage). Sampled over the accuracy-test domain. The refresh of
the whole book (`update_marks`, per live series) is in gas_ballast.py.

    .venv/bin/python benchmarks/gas_black_scholes.py      (or: make bench)
"""
import random
import statistics

from _chain import on_local_chain, write_section

WAD = 10**18
YEAR = 31_536_000
DAY = 86_400


def greeks_gas(project, actors):
    harness = project.BlackScholesHarness.deploy(sender=actors[0])
    rng = random.Random(7)
    samples = []
    for _ in range(200):
        spot = int(rng.uniform(0.5, 100_000) * WAD)
        strike = int(spot * rng.uniform(0.2, 5))
        tau = rng.randint(3_600, 2 * YEAR)
        vol = int(rng.uniform(0.05, 3.0) * WAD)
        rate = int(rng.uniform(-0.05, 0.2) * WAD)
        samples.append(harness.greeks_gas(spot, strike, tau, rate, vol))
    at_money = harness.greeks_gas(3_000 * WAD, 3_000 * WAD, 30 * DAY, 0, 6 * 10**17)
    return samples, at_money


def measure(project, actors):
    return greeks_gas(project, actors)


def main():
    samples, at_money = on_local_chain(measure)
    med = int(statistics.median(samples))
    lines = [
        "| measurement | gas |",
        "|---|---:|",
        f"| `_greeks` (call+put price, delta, gamma, vega), execution only: min / median / max of 200 | {min(samples):,} / {med:,} / {max(samples):,} |",
        f"| `_greeks` at the money (S=K=3,000, 30 days, 60 %) | {at_money:,} |",
    ]
    table = "\n".join(lines)
    print(table)
    write_section(
        "On-chain Black-Scholes gas (gas_black_scholes.py)",
        "Command: `make bench` (runs `.venv/bin/python benchmarks/gas_black_scholes.py`).\n\n"
        "`_greeks` figures are execution gas measured in the EVM with `msg.gas` around the "
        "internal call (no 21,000 base, calldata, dispatch, ABI or storage), over 200 random "
        "inputs from the accuracy domain (spot 0.5..100,000, K/S 0.2..5, 1 h..2 y, vol 5..300 %, "
        "rate -5..20 %). Goal: <= 20,000. For scale, measured here: Lyra v1's library as deployed "
        "spends ~57,000 on prices+delta+vega. The book refresh per series is in the "
        "gas_ballast.py section.\n\n" + table,
    )


if __name__ == "__main__":
    main()
