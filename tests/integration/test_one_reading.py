"""The risk guard is the one reader of the oracle and the pool: a hedge reads each
once (the reading is cached in transient storage for the hedger's calls), a sale
reads the oracle once and the pool not at all, and an outside contract cannot seed
the cache with a reading it then makes stale."""
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
    A sale reads the level and the oracle once (quick), prices at that spot and
    checks the sale limits; it does not read the pool (changed: sales no longer
    measure the breakers)."""
    tx = buy_usdc(h, keeper, chain, 15_000 * USD)
    assert calls_to(chain, tx, h.feed.address)["latestRoundData"] == 1
    pool = calls_to(chain, tx, h.m.pool.address)
    assert pool["observe"] == 1 and pool["slot0"] == 1

    tx = h.options.buy(h.sid, WAD, 10**12, chain.pending_timestamp + 60, sender=buyer)
    assert 1 <= calls_to(chain, tx, h.feed.address)["latestRoundData"] <= 2
    pool = calls_to(chain, tx, h.m.pool.address)
    assert pool["observe"] == 0 and pool["slot0"] == 0


def test_an_outside_contract_cannot_seed_the_guards_reading(project, h, owner, attacker, chain):
    m, g = h.m, h.guard
    reader = project.ReadTwice.deploy(sender=attacker)
    m.usdc.mint(reader, 10**9 * USD, sender=attacker)
    limit = sqrt_price_x96(3_600, m.pool.token0() == m.weth.address)  # +20 %, inside the liquidity
    reader.attack(m.router, m.usdc, m.weth, FEE, g, h.feed, 10**9 * USD, limit, 3_600 * 10**8, sender=attacker)
    first, second = reader.first(), reader.second()
    assert first.spot == 3_000 * WAD and abs(first.pool_spot / WAD - 3_000) < 5 and first.fresh
    # Between the two reads the pool moved 20 % and the feed answered 3,600; the
    # second read is live, not the first one cached for the attacker:
    assert second.spot == 3_600 * WAD and abs(second.pool_spot / WAD - 3_600) < 5
    assert reader.spot_seen() == 3_600 * WAD
    # the poke measured the live, manipulated pool: the deviation shows at once
    assert abs(pool_price(m) - 3_000) < 30  # the attacker swapped back
    assert g.read.call().spot == 3_600 * WAD
    h.feed.set_answer(3_000 * 10**8, sender=owner)
