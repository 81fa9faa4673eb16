"""The risk guard is the one reader of the oracle and the pool, once per transaction
(transient storage): every contract in a transaction sees the same reading, and
nobody can make the guard see two different ones."""
import pytest
from eth_utils import function_signature_to_4byte_selector as selector

from scripts.market import FEE, pool_price, sqrt_price_x96
from tests.integration.helpers import USD, WAD, buy_usdc, seed

READS = {
    "latestRoundData": selector("latestRoundData()").hex(),
    "observe": selector("observe(uint32[])").hex(),
    "slot0": selector("slot0()").hex(),
}


@pytest.fixture
def h(hedged, depositor, buyer, keeper, chain):
    return seed(hedged, depositor, buyer, keeper, chain)


def calls_to(chain, tx, address):
    """{method: count} of the calls a mined transaction made to `address` (callTracer)."""
    root = chain.provider.make_request("debug_traceTransaction", [tx.txn_hash, {"tracer": "callTracer"}])
    counts = dict.fromkeys(READS, 0)
    stack = [root]
    while stack:
        call = stack.pop()
        stack.extend(call.get("calls", []))
        if call.get("to", "").lower() == address.lower():
            for name, sel in READS.items():
                if call.get("input", "").lower().removeprefix("0x").startswith(sel):
                    counts[name] += 1
    return counts


def test_a_hedge_and_a_sale_read_the_oracle_and_the_pool_once(h, keeper, buyer, chain):
    """A rebalance pokes the guard (which measures), checks the deviation, values
    the book and the vault (NAV at the oracle), and checks the band: one reading.
    A sale pokes, prices at the reading's spot and checks the sale limits: one reading."""
    tx = buy_usdc(h, keeper, chain, 15_000 * USD)
    assert calls_to(chain, tx, h.feed.address)["latestRoundData"] == 1
    pool = calls_to(chain, tx, h.m.pool.address)
    assert pool["observe"] == 1 and pool["slot0"] == 1

    tx = h.options.buy(h.sid, WAD, 10**12, chain.pending_timestamp + 60, sender=buyer)
    assert calls_to(chain, tx, h.feed.address)["latestRoundData"] == 1
    pool = calls_to(chain, tx, h.m.pool.address)
    assert pool["observe"] == 1 and pool["slot0"] == 1


def test_one_transaction_cannot_make_the_guard_read_twice(project, h, owner, attacker, chain):
    m, g = h.m, h.guard
    reader = project.ReadTwice.deploy(sender=attacker)
    m.usdc.mint(reader, 10**9 * USD, sender=attacker)
    limit = sqrt_price_x96(3_600, m.pool.token0() == m.weth.address)  # +20 %, inside the liquidity
    reader.attack(m.router, m.usdc, m.weth, FEE, g, h.feed, 10**9 * USD, limit, 3_600 * 10**8, sender=attacker)
    first, second, live = reader.first(), reader.second(), reader.live()
    # Between the two reads the pool moved 20 % and the feed answered 3,600:
    assert abs(live.pool_spot / WAD - 3_600) < 5 and live.spot == 3_600 * WAD
    # ... yet the guard's reading of the transaction is the first one, field for field,
    assert tuple(second) == tuple(first) != tuple(live)
    assert first.spot == 3_000 * WAD and abs(first.pool_spot / WAD - 3_000) < 5 and first.fresh
    # ... as is spot(), which the vault values NAV with, and the poke measured from it.
    assert reader.spot_seen() == 3_000 * WAD and reader.level_seen() == 0
    assert abs(pool_price(m) - 3_000) < 30  # the attacker swapped back
    # The next transaction reads afresh: the feed's 3,600 is what the guard sees now.
    assert g.reading().spot == 3_600 * WAD
    h.feed.set_answer(3_000 * 10**8, sender=owner)
