"""deposit -> sell -> hedge -> settle on a forked chain (`ethereum:mainnet-fork:foundry`).

Used by `tests/fork/test_fork_flow.py`, which forks a local upstream anvil
(chain id 1) holding the local market. The market's addresses come from the
environment variable BALLAST_MARKET (JSON: weth, usdc, pool, router, feed).
Prints one `fork:` line per step and `FORK FLOW OK` at the end; any failed
check exits non-zero.
"""
import json
import os
import sys
from pathlib import Path

from ape import accounts, chain, project
from ape.logging import logger

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from keeper.allocator import hedge_order  # noqa: E402
from scripts.market import _container  # noqa: E402
from scripts.vault import deploy_ballast  # noqa: E402

USD = 10**6
WAD = 10**18
DAY = 86_400


def main():
    logger.set_level("WARNING")
    addr = json.loads(os.environ["BALLAST_MARKET"])
    owner, keeper, guardian, depositor, buyer = accounts.test_accounts[:5]
    usdc = project.TestToken.at(addr["usdc"])
    feed = project.MockAggregator.at(addr["feed"])
    weth = _container("v2-periphery/build/WETH9.json", "WETH9").at(addr["weth"])
    print(f"fork: chain {chain.chain_id}, block {chain.blocks.head.number}, pool {addr['pool']}")
    assert chain.chain_id == 1, "fork flow: expected the chain id 1 upstream"

    b = deploy_ballast(project, owner, keeper, guardian, usdc, feed, addr["router"], addr["pool"], weth)
    vault, book, options, hedger = b.vault, b.book, b.options, b.hedger
    chain.pending_timestamp += 700  # TWAP history on the forked pool
    feed.set_answer(3_000 * 10**8, sender=owner)

    for who, amount in ((depositor, 500_000 * USD), (buyer, 100_000 * USD)):
        usdc.mint(who, amount, sender=who)
        usdc.approve(vault, 2**256 - 1, sender=who)
    vault.deposit(500_000 * USD, sender=depositor)
    print(f"fork: deposit NAV {vault.totalAssets()}")

    expiry = chain.pending_timestamp + 7 * DAY
    sid = book.create_series(3_000 * WAD, expiry, True, 6 * 10**17, sender=keeper).return_value
    premium = options.buy(sid, 20 * WAD, 10**12, chain.pending_timestamp + 60, sender=buyer).return_value
    assert premium > 0
    print(f"fork: sold 20 calls for {premium}")

    delta_before = hedger.net_delta()
    # 15,000 USDC of WETH, converted by the allocator's hedge_order (the one home of the oracle floor)
    order = hedge_order(15_000 / 3_000, 3_000.0, max_slippage=hedger.max_slippage() / WAD, cost_fraction=0.005,
                        now=chain.pending_timestamp, spot_wad=3_000 * WAD)
    got = hedger.rebalance(order.buy, order.amount_in, order.min_out, order.deadline, sender=keeper).return_value
    assert got >= order.min_out_floor and abs(hedger.net_delta()) < abs(delta_before)
    print(f"fork: hedged {got} wei WETH, delta {delta_before} -> {hedger.net_delta()}")

    chain.pending_timestamp = expiry + 60
    feed.set_answer(3_200 * 10**8, sender=owner)
    options.settle(sid, feed.latest_round(), sender=buyer)
    before = usdc.balanceOf(buyer)
    options.claim(sid, sender=buyer)
    paid = usdc.balanceOf(buyer) - before
    assert paid == 20 * 200 * USD, paid
    print(f"fork: settled at 3,200, buyer claimed {paid}")
    print("FORK FLOW OK")
