"""Gas of every user and keeper action with 1, 16 and 64 live series.

One fresh anvil, the real local Uniswap V3 market (scripts/market.py), Ballast
deployed by `deploy_ballast` for each book size; every live series holds open
interest, so the aggregates are really in use. snekmate's plain ERC-4626 runs
in the same process on the same asset and amounts, as the deposit peer.
Figures are `gasUsed` of the receipt: the whole transaction (21,000 base and
calldata included). Deployable contract sizes are the code as deployed
(runtime bytecode and Vyper's immutables), read back from the chain.

    .venv/bin/python benchmarks/gas_ballast.py      (or: make bench)
"""
import sys
from pathlib import Path

from _chain import ROOT, on_local_chain, write_section

sys.path.insert(0, str(ROOT))

USD = 10**6
WAD = 10**18
DAY = 86_400
SIZES = (1, 16, 64)
GOALS = {"deposit": "<= 1.5x snekmate", "withdraw": "<= 120,000", "buy": "<= 200,000",
         "poke": "<= 60,000", "rebalance (warm)": "<= 220,000", "update_marks per series": "<= 35,000"}
DEPLOYABLE = ("Vault", "RiskGuard", "OptionBook", "OptionMarket", "Hedger", "Pricer")


def _book_of(project, actors, market, n):
    from ape import chain

    from scripts.vault import deploy_ballast

    owner, keeper, guardian, depositor, buyer = actors[:5]
    b = deploy_ballast(project, owner, keeper, guardian, market.usdc, market.feed, market.router, market.pool, market.weth)
    # more than the default 8 new series a day: the owner loosens the limit through the timelock
    for _ in range(2):
        b.book.set_series_limits(5 * 10**17, 90 * DAY, 64, sender=owner)
        chain.pending_timestamp += DAY + 1
    chain.pending_timestamp += 700
    market.feed.set_answer(3_000 * 10**8, sender=owner)
    for who in (depositor, buyer):
        market.usdc.mint(who, 10**9 * USD, sender=who)
        market.usdc.approve(b.vault, 2**256 - 1, sender=who)
    b.vault.deposit(5_000_000 * USD, sender=depositor)  # pool depth ~144k USD per 1 %: >= 1 % of NAV
    expiry = chain.pending_timestamp + 7 * DAY
    sids = [b.book.create_series((1_600 + 40 * i) * WAD, expiry + i * 3_600, i % 2 == 0, 6 * 10**17, sender=keeper).return_value
            for i in range(n)]
    for sid in sids:
        b.options.buy(sid, WAD, 10**15, chain.pending_timestamp + 60, sender=buyer)
    return b, sids, expiry


def measure(project, actors):
    from ape import chain

    from scripts.market import deploy_market

    owner, keeper, guardian, depositor, buyer = actors[:5]
    market = deploy_market(owner)
    rows = {}
    for n in SIZES:
        b, sids, expiry = _book_of(project, actors, market, n)
        g = {}
        g["deposit"] = b.vault.deposit(1_000 * USD, sender=depositor).gas_used
        g["withdraw"] = b.vault.withdraw(1_000 * USD, sender=depositor).gas_used
        g["redeem"] = b.vault.redeem(10**9, sender=depositor).gas_used
        g["buy"] = b.options.buy(sids[n // 2], WAD, 10**15, chain.pending_timestamp + 60, sender=buyer).gas_used
        b.guard.poke(sender=depositor)
        g["poke"] = b.guard.poke(sender=depositor).gas_used
        delta = b.hedger.net_delta()
        spot = 3_000
        if delta <= WAD // 10:
            usdc_in = max(min(-delta * spot // WAD // 10**12, 2_000_000 * USD), 1_000 * USD)
            floor = usdc_in * 10**12 * WAD // (spot * WAD) * 99 // 100
            g["rebalance"] = b.hedger.rebalance(True, usdc_in, floor, chain.pending_timestamp + 60, sender=keeper).gas_used
        else:
            weth_in = min(delta, 500 * WAD)
            floor = weth_in * spot // WAD // 10**12 * 99 // 100
            g["rebalance"] = b.hedger.rebalance(False, weth_in, floor, chain.pending_timestamp + 60, sender=keeper).gas_used
        # a warm rebalance: the router approval, the vault's WETH balance and the hedger's
        # slots already exist (what a keeper pays from the second trade on)
        chain.pending_timestamp += 301
        market.feed.set_answer(3_000 * 10**8, sender=owner)
        usdc_in = 1_000 * USD
        floor = usdc_in * 10**12 * WAD // (spot * WAD) * 99 // 100
        g["rebalance (warm)"] = b.hedger.rebalance(True, usdc_in, floor, chain.pending_timestamp + 60, sender=keeper).gas_used
        chain.pending_timestamp += 600
        market.feed.set_answer(3_000 * 10**8, sender=owner)
        g["update_marks"] = b.book.update_marks(sender=depositor).gas_used
        g["update_marks per series"] = (g["update_marks"] - 21_000) // n
        chain.pending_timestamp = expiry + 1
        market.feed.set_answer(3_100 * 10**8, sender=owner)
        g["settle"] = b.options.settle(sids[0], market.feed.latest_round(), sender=buyer).gas_used
        g["claim"] = b.options.claim(sids[0], sender=buyer).gas_used
        rows[n] = g
        chain.pending_timestamp += 60
        market.feed.set_answer(3_000 * 10**8, sender=owner)

    usdc = market.usdc
    plain = project.PlainERC4626.deploy(usdc, 6, sender=owner)
    usdc.approve(plain, 2**256 - 1, sender=depositor)
    plain.deposit(10_000 * USD, depositor, sender=depositor)
    peer = {"deposit": plain.deposit(1_000 * USD, depositor, sender=depositor).gas_used,
            "withdraw": plain.withdraw(1_000 * USD, depositor, depositor, sender=depositor).gas_used}

    # the code as deployed (runtime bytecode plus Vyper's immutables): what EIP-170 limits
    sizes = {}
    for name, part in zip(DEPLOYABLE, ("vault", "guard", "book", "options", "hedger", "pricer")):
        sizes[name] = len(chain.provider.get_code(getattr(b, part).address))
    return rows, peer, sizes


def main():
    rows, peer, sizes = on_local_chain(measure)
    actions = ("deposit", "withdraw", "redeem", "buy", "poke", "rebalance", "rebalance (warm)", "update_marks",
               "update_marks per series", "settle", "claim")
    lines = ["| action | " + " | ".join(f"{n} live" for n in SIZES) + " | goal (16 live) |",
             "|---|" + "---:|" * len(SIZES) + "---|"]
    for a in actions:
        goal = GOALS.get(a, "")
        lines.append(f"| {a} | " + " | ".join(f"{rows[n][a]:,}" for n in SIZES) + f" | {goal} |")
    lines.append(f"| snekmate plain ERC-4626 deposit / withdraw (peer) | {peer['deposit']:,} / {peer['withdraw']:,} | | | |")
    ratio = rows[16]["deposit"] / peer["deposit"]
    table = "\n".join(lines)
    size_lines = ["| contract | deployed code bytes | under EIP-170 (24,576) |", "|---|---:|---:|"]
    for name, size in sizes.items():
        size_lines.append(f"| {name} | {size:,} | {24_576 - size:,} |")
    sizes_table = "\n".join(size_lines)
    print(table)
    print(f"deposit / snekmate deposit with 16 live series: {ratio:.2f}x")
    print(sizes_table)
    write_section(
        "Ballast gas by book size (gas_ballast.py)",
        "Command: `make bench` (runs `.venv/bin/python benchmarks/gas_ballast.py`).\n\n"
        "Whole-transaction `gasUsed` (21,000 base and calldata included) on one fresh anvil with the "
        "real local Uniswap V3 market, a Ballast deployment per book size, every live series holding "
        "open interest. deposit/withdraw/redeem: a depositor already in; buy: one more sale into a "
        "series that already has open interest; poke: a second poke in the next block with nothing "
        "changing; rebalance: the keeper's first hedge of the book's delta (capped at 2M USDC / 500 ETH; pays "
        "the one-time router approval and zero-to-nonzero slots); rebalance (warm): a 1,000 USDC trade 301 s later; "
        "update_marks: every live series re-marked (per series: (total - 21,000) / n); settle: an "
        "in-the-money series with the first oracle round after expiry; claim: its holder. "
        "snekmate's plain ERC-4626 (contracts/test/PlainERC4626.vy) on the same asset and amounts is "
        f"the deposit peer: deposit with 16 live series = {ratio:.2f}x its deposit.\n\n" + table
        + "\n\nDeployable contract sizes (code as deployed: runtime bytecode and immutables):\n\n" + sizes_table,
    )


if __name__ == "__main__":
    main()
