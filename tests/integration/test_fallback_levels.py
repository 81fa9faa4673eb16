"""The keeper-silence fallback under each risk level: reduce-only lets it shrink
|delta|, withdraw-only lets it only sell the hedge, halted stops it; the keeper's
trades obey the same rules."""
import ape
import pytest

from tests.integration.helpers import USD, WAD, buy_usdc, later, seed, sell_weth


@pytest.fixture
def h(hedged, depositor, buyer, keeper, chain):
    return seed(hedged, depositor, buyer, keeper, chain)


def silence(h, owner, chain):
    """The keeper stays silent past its timeout; the oracle is live and anyone refreshes the marks."""
    later(h, owner, chain, h.hedger.keeper_timeout() + 1)


def fallback(h, stranger):
    tx = h.hedger.fallback_rebalance(sender=stranger)
    (ev,) = tx.events.filter(h.hedger.Rebalanced)
    assert ev.kind == 1 and abs(ev.delta_after) < abs(ev.delta_before)
    return ev


def test_fallback_when_short_delta_reduce_only_yes_withdraw_only_no_halted_no(h, owner, guardian, keeper, stranger, chain):
    g = h.guard
    silence(h, owner, chain)
    assert h.hedger.net_delta() < -9 * WAD  # a short book: the fallback would buy
    with chain.isolate():
        g.trip(1, sender=guardian)
        ev = fallback(h, stranger)  # reduce-only: a trade that shrinks |delta| is fine
        assert ev.buy_underlying and g.level() == 1
    with chain.isolate():
        g.trip(2, sender=guardian)
        with ape.reverts("hedger: withdraw-only: may only sell the hedge"):
            h.hedger.fallback_rebalance(sender=stranger)
    g.trip(3, sender=guardian)
    with ape.reverts("hedger: vault halted"):
        h.hedger.fallback_rebalance(sender=stranger)
    with ape.reverts("hedger: vault halted"):
        buy_usdc(h, keeper, chain, 1_000 * USD)
    with ape.reverts("hedger: vault halted"):
        h.hedger.raise_settlement_cash(sender=stranger)


def test_fallback_when_long_delta_sells_the_hedge_in_withdraw_only(h, owner, guardian, keeper, stranger, chain):
    g = h.guard
    buy_usdc(h, keeper, chain, 45_000 * USD)  # over-hedged: about +5 ETH (|delta| still shrank from -10)
    assert h.hedger.net_delta() > 4 * WAD
    silence(h, owner, chain)
    g.trip(2, sender=guardian)
    hedge, nav = h.vault.hedge_units(), h.vault.totalAssets()
    ev = fallback(h, stranger)
    assert not ev.buy_underlying and h.vault.hedge_units() == hedge - ev.amount_in
    assert ev.amount_in * 3_000 * USD // WAD <= nav // 100 + 1  # at most 1 % of NAV


def test_keeper_trades_in_reduce_only_and_withdraw_only(h, owner, guardian, keeper, chain):
    g = h.guard
    got = buy_usdc(h, keeper, chain, 15_000 * USD).return_value  # -10 -> about -5 ETH
    later(h, owner, chain, h.hedger.cooldown() + 1)
    g.trip(1, sender=guardian)
    # reduce-only: selling hedge would grow the short delta; buying past zero by more than before too
    with ape.reverts("hedger: reduce-only: trade must shrink |delta|"):
        sell_weth(h, keeper, chain, got // 2)
    with ape.reverts("hedger: reduce-only: trade must shrink |delta|"):
        buy_usdc(h, keeper, chain, 45_000 * USD)
    g.trip(2, sender=guardian)
    # withdraw-only: no buying at all, selling whatever it does to delta
    with ape.reverts("hedger: withdraw-only: may only sell the hedge"):
        buy_usdc(h, keeper, chain, 1_000 * USD)
    before = h.hedger.net_delta()
    tx = sell_weth(h, keeper, chain, got // 2)
    (ev,) = tx.events.filter(h.hedger.Rebalanced)
    assert ev.delta_before == before and abs(ev.delta_after) > abs(before)
