"""Defect 9: settlement assumed round `id - 1` exists. At a Chainlink phase boundary
(round ids phase << 64 | n, n restarting at 1) the first round of the new phase has
no predecessor in its phase, so a series expiring just before an aggregator upgrade
could never settle. Now the phase's first round is accepted; a later round is still
refused, and so is a round before expiry."""
import ape

from scripts.vault import deploy_ballast

DAY = 86_400


def test_a_series_expiring_at_a_phase_boundary_settles_from_the_new_phase(project, market, owner, keeper, guardian, chain):
    feed = project.PhasedAggregator.deploy(8, 3_000 * 10**8, sender=owner)
    b = deploy_ballast(project, owner, keeper, guardian, market.usdc, feed, market.router, market.pool, market.weth)
    chain.pending_timestamp += 60
    feed.set_answer(3_010 * 10**8, sender=owner)             # phase 1, round 2
    expiry = chain.pending_timestamp + 600
    last_old = feed.latest_round()
    chain.pending_timestamp = expiry + 30
    feed.new_phase(sender=owner)
    feed.set_answer(3_100 * 10**8, sender=owner)             # phase 2, round 1: the first after expiry
    first_new = feed.latest_round()
    chain.pending_timestamp += 60
    feed.set_answer(3_300 * 10**8, sender=owner)             # phase 2, round 2: a later, better round for a call
    later = feed.latest_round()
    assert first_new == (2 << 64) | 1 and later == (2 << 64) | 2

    assert b.guard.settlement_price(first_new, expiry) == 3_100 * 10**18
    with ape.reverts("oracle: not the first round after the time"):
        b.guard.settlement_price(later, expiry)
    with ape.reverts("oracle: round is before the time"):
        b.guard.settlement_price(last_old, expiry)
