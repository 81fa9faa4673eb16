"""Gas of a hedge rebalance on the real Uniswap V3 pool.

Whole-transaction `gasUsed` (21,000 base included) of `Hedger.rebalance`: oracle
read, pool `observe` (TWAP) and `slot0`, NAV through the vault and the book,
net delta before and after, and the vault's swap through the SwapRouter
(`exactInputSingle` on the 0.05 % pool), with 1 live series; every rebalance
also runs the risk guard's six breakers (`RiskGuard.poke`), measured alone too.

    .venv/bin/python benchmarks/gas_hedger.py      (or: make bench)
"""
import sys

from _chain import ROOT, on_local_chain, write_section

sys.path.insert(0, str(ROOT))

WAD = 10**18
USD = 10**6
DAY = 86_400


def measure(project, actors):
    from ape import chain

    from scripts.market import deploy_market
    from scripts.vault import deploy_ballast

    owner, keeper, guardian, depositor, buyer = actors[:5]
    m = deploy_market(owner)
    b = deploy_ballast(project, owner, keeper, guardian, m.usdc, m.feed, m.router, m.pool, m.weth)
    vault, book, options, hedger, guard = b.vault, b.book, b.options, b.hedger, b.guard
    chain.pending_timestamp += 700
    m.feed.set_answer(3_000 * 10**8, sender=owner)
    for who, amount in ((depositor, 500_000 * USD), (buyer, 100_000 * USD)):
        m.usdc.mint(who, amount, sender=who)
        m.usdc.approve(vault, 2**256 - 1, sender=who)
    vault.deposit(500_000 * USD, sender=depositor)
    sid = book.create_series(3_000 * WAD, chain.pending_timestamp + 7 * DAY, True, 6 * 10**17, sender=keeper).return_value
    options.buy(sid, 20 * WAD, 10**12, chain.pending_timestamp + 60, sender=buyer)
    deposit = vault.deposit(1_000 * USD, sender=buyer).gas_used
    buy = options.buy(sid, WAD, 10**12, chain.pending_timestamp + 60, sender=buyer).gas_used
    usdc_in = 15_000 * USD
    floor = usdc_in * 10**12 * WAD // (3_000 * WAD) * 99 // 100
    first = hedger.rebalance(True, usdc_in, floor, chain.pending_timestamp + 60, sender=keeper).gas_used
    chain.pending_timestamp += 301
    m.feed.set_answer(3_000 * 10**8, sender=owner)
    second = hedger.rebalance(True, usdc_in, floor, chain.pending_timestamp + 60, sender=keeper).gas_used
    quiet = guard.poke(sender=depositor).gas_used
    chain.pending_timestamp += 3_601  # the feed misses its heartbeat: the poke trips oracle_stale
    trip = guard.poke(sender=depositor).gas_used
    return first, second, quiet, trip, deposit, buy


def main():
    first, second, quiet, trip, deposit, buy = on_local_chain(measure)
    table = "\n".join(
        [
            "| measurement | gas |",
            "|---|---:|",
            f"| `rebalance` buy 15,000 USDC of WETH, first (hedge slot cold, zero -> non-zero) | {first:,} |",
            f"| `rebalance` buy 15,000 USDC of WETH, second | {second:,} |",
            f"| `RiskGuard.poke` all six breakers clear, nothing changes | {quiet:,} |",
            f"| `Vault.deposit` with the guard's breakers (1 live series) | {deposit:,} |",
            f"| `OptionMarket.buy` with the guard's breakers (1 live series) | {buy:,} |",
            f"| `RiskGuard.poke` trips `oracle_stale` (latch, event, level 0 -> 2) | {trip:,} |",
        ]
    )
    print(table)
    write_section(
        "Hedge rebalance and breaker gas (gas_hedger.py)",
        "Command: `make bench` (runs `.venv/bin/python benchmarks/gas_hedger.py`).\n\n"
        "Whole-transaction `gasUsed` on the real Uniswap V3 0.05 % pool (1,000 ETH of liquidity "
        "in +-25 %), one live series in the book.\n\n" + table,
    )


if __name__ == "__main__":
    main()
