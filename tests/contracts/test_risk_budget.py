"""The keeper's risk budget (RiskGuard.post_risk_budget): a target in [budget_floor, 1];
lower applies at once, higher is approached at budget_rate per hour; it scales the
sale limits and the hedge band."""
import ape
import pytest

from tests.conftest import USD
from tests.contracts.conftest import WAD, new_series

HOUR = 3_600


def test_only_the_keeper_posts_a_budget(system, owner, guardian, attacker):
    for who in (owner, guardian, attacker):
        with ape.reverts("guard: caller is not the keeper"):
            system.guard.post_risk_budget(WAD // 2, sender=who)


def test_budget_bounds(system, keeper):
    guard = system.guard
    floor = guard.budget_floor()
    assert floor == WAD // 10 and guard.risk_budget() == WAD
    with ape.reverts("guard: risk budget out of bounds"):
        guard.post_risk_budget(floor - 1, sender=keeper)
    with ape.reverts("guard: risk budget out of bounds"):
        guard.post_risk_budget(WAD + 1, sender=keeper)
    guard.post_risk_budget(floor, sender=keeper)
    assert guard.risk_budget() == floor
    guard.post_risk_budget(WAD, sender=keeper)  # allowed; approached at the rate
    assert guard.budget_target() == WAD


def test_a_lower_budget_applies_at_once_and_tightens_the_sale_limits(s, chain, keeper, buyer, fund_system):
    guard = s.guard
    fund_system(buyer, 100_000 * USD)
    call, _ = new_series(s, keeper, chain, 3_000, True)
    # 5 calls lock 5 x 6,000 (spot +200 %) = 30 % of a NAV of about 100,000: inside
    # max_utilisation (50 %) at budget 1, outside it at budget 1/2 (25 %).
    with chain.isolate():
        s.options.buy(call, 5 * WAD, 10**12, chain.pending_timestamp + 60, sender=buyer)
        assert s.book.open_interest(call) == 5 * WAD
    band = guard.band()
    tx = guard.post_risk_budget(WAD // 2, sender=keeper)
    (ev,) = tx.events.filter(guard.RiskBudgetPosted)
    assert (ev.keeper, ev.target, ev.effective) == (keeper.address, WAD // 2, WAD // 2)
    assert guard.risk_budget() == WAD // 2  # at once
    assert guard.band() == band // 2 == guard.delta_band() // 2
    with ape.reverts("guard: stress margin above limit"):
        s.options.buy(call, 5 * WAD, 10**12, chain.pending_timestamp + 60, sender=buyer)
    # smaller sales still go through within the scaled limit
    s.options.buy(call, 2 * WAD, 10**12, chain.pending_timestamp + 60, sender=buyer)


def test_a_higher_budget_is_approached_at_budget_rate_per_hour(system, chain, keeper):
    guard = system.guard
    rate = guard.budget_rate()
    assert rate == WAD // 10  # 10 % of full budget per hour
    guard.post_risk_budget(2 * WAD // 10, sender=keeper)
    assert guard.risk_budget() == 2 * WAD // 10
    tx = guard.post_risk_budget(WAD, sender=keeper)
    (ev,) = tx.events.filter(guard.RiskBudgetPosted)
    assert (ev.target, ev.effective) == (WAD, 2 * WAD // 10)  # the effective value now
    t = tx.timestamp
    assert guard.risk_budget() == 2 * WAD // 10
    chain.mine(timestamp=t + HOUR // 2)
    assert guard.risk_budget() == 2 * WAD // 10 + rate // 2  # 0.25 after 30 min
    chain.mine(timestamp=t + 2 * HOUR)
    assert guard.risk_budget() == 2 * WAD // 10 + 2 * rate  # 0.40 after 2 h
    chain.mine(timestamp=t + 8 * HOUR)
    assert guard.risk_budget() == WAD  # capped at the target
    # a lower target mid-way applies at once; a higher one ramps from the effective value
    chain.pending_timestamp = t + 8 * HOUR + 10
    guard.post_risk_budget(3 * WAD // 10, sender=keeper)
    assert guard.risk_budget() == 3 * WAD // 10


def test_the_floor_bounds_the_effective_budget(system, chain, owner, keeper):
    """The owner's budget_floor: a lower floor is a tightening (at once)... and the
    effective budget never falls below the floor in force."""
    guard = system.guard
    tx = guard.set_budget_rules(5 * 10**16, guard.budget_rate(), sender=owner)
    assert [(e.name, e.value) for e in tx.events.filter(guard.ParameterSet)] == [
        ("budget_floor", 5 * 10**16), ("budget_rate", 10**17)
    ]
    guard.post_risk_budget(5 * 10**16, sender=keeper)
    assert guard.risk_budget() == 5 * 10**16
    # a higher floor or a faster rate would let the keeper take risk sooner: timelocked
    tx = guard.set_budget_rules(2 * 10**17, guard.budget_rate(), sender=owner)
    assert tx.events.filter(guard.ChangeQueued) and guard.budget_floor() == 5 * 10**16
    with ape.reverts("guard: budget_floor out of bounds"):
        guard.set_budget_rules(10**16 - 1, guard.budget_rate(), sender=owner)
    with ape.reverts("guard: budget_rate out of bounds"):
        guard.set_budget_rules(10**17, 2 * WAD, sender=owner)


@pytest.mark.parametrize(
    "limits,message",
    [
        # (max_utilisation, max_vega_ratio, max_gamma_ratio, delta_band), each a tightening
        ((5 * 10**17, 8 * 10**15, 5 * 10**16, 10**16), "guard: net vega above limit"),
        ((5 * 10**17, 25 * 10**16, 8 * 10**14, 10**16), "guard: net gamma above limit"),
    ],
)
def test_the_budget_scales_the_vega_and_gamma_limits_too(s, chain, owner, keeper, buyer, fund_system, limits, message):
    """One 60-day at-the-money put: margin 3,000 (3 % of NAV), vega about 480 per 1.00
    of vol (0.48 %), cash gamma about 49 per 1 % (0.05 %). With the vega (gamma) limit
    at 0.8 % (0.08 %) of NAV it sells at budget 1 and breaks that limit, alone, at 1/2."""
    fund_system(buyer, 100_000 * USD)
    put, _ = new_series(s, keeper, chain, 3_000, False, days=60)
    s.guard.set_limits(*limits, sender=owner)
    with chain.isolate():
        s.options.buy(put, WAD, 10**12, chain.pending_timestamp + 60, sender=buyer)
        v = s.book.valuation(3_000 * WAD, 0)
        nav = s.vault.totalAssets() * 10**12
        used, limit = (v.vega, limits[1]) if "vega" in message else (v.cash_gamma, limits[2])
        assert used * WAD <= nav * limit  # inside at budget 1
        assert used * WAD > nav * limit // 2  # outside at budget 1/2
    s.guard.post_risk_budget(WAD // 2, sender=keeper)
    with ape.reverts(message):
        s.options.buy(put, WAD, 10**12, chain.pending_timestamp + 60, sender=buyer)
