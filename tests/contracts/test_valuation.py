"""OptionBook.valuation(spot, hedge): the book valued at any spot from its cached
aggregates (SPEC.md, "Valuation at spot S"), and when those may be used (fresh)."""
import pytest

from tests.conftest import USD
from tests.contracts.conftest import DAY, GRID, GRID_UNIT, WAD, new_series, post, sdiv, taylor


@pytest.fixture
def b(s, chain, keeper, buyer, fund_system):
    """The funded system with calls and puts sold in three series."""
    fund_system(buyer, 100_000 * USD)
    for strike, is_call, days, size in ((3_000, True, 7, 2 * WAD), (2_800, False, 7, 3 * WAD), (3_300, True, 14, WAD)):
        sid, _ = new_series(s, keeper, chain, strike, is_call, days=days)
        s.options.buy(sid, size, 10**12, chain.pending_timestamp + 60, sender=buyer)
    return s


def test_liability_at_the_cache_spot_is_the_aggregate(b):
    book = b.book
    s0, t0, _ = book.cache()
    liability, delta, gamma, vega, grid = book.aggregates()
    v = book.valuation(s0, 0)
    assert v.liability == liability > 0
    assert v.delta == delta and v.vega == vega
    assert v.cash_gamma == gamma * s0 // WAD * s0 // WAD // 100
    assert v.intrinsic == grid[8] * GRID_UNIT
    assert v.settle_need == 0 and v.fresh
    assert book.liability_at(s0) == (liability, True)
    # the vault books that liability, rounded up to asset units
    assert b.vault.totalAssets() == b.vault.total_idle() - -(-liability // 10**12)


MOVES = [-0.9, -0.2, -0.049, -0.001, 0.0005, 0.02, 0.049, 0.3, 2.0]


def test_liability_follows_the_taylor_formula_at_a_moved_spot(b):
    """L(S) = max(0, L + D (S - S0) + G (S - S0)^2 / 2); delta D + G (S - S0)."""
    book = b.book
    s0 = book.cache()[0]
    liability, delta, gamma, vega, _ = book.aggregates()
    for move in MOVES:
        spot = int(s0 * (1 + move))
        ds = spot - s0
        v = book.valuation(spot, 0)
        assert v.liability == taylor(liability, delta, gamma, ds), move
        assert v.delta == delta + sdiv(gamma * ds, WAD)
        assert v.cash_gamma == gamma * spot // WAD * spot // WAD // 100
        assert v.vega == vega
        assert book.liability_at(spot)[0] == v.liability
        assert v.fresh == (abs(move) <= 0.05)


def test_unreadable_oracle_values_at_the_cache_spot_and_is_not_fresh(b):
    book = b.book
    v = book.valuation(0, 0)
    assert v.liability == book.aggregates()[0] and not v.fresh
    assert book.liability_at(0) == (book.aggregates()[0], False)


def test_stress_margin_is_the_worst_grid_loss_net_of_the_hedge(b):
    """M = max(0, max_k(grid_k - hedge x S0 x GRID[k]))."""
    book = b.book
    s0 = book.cache()[0]
    grid = book.aggregates()[4]
    for hedge in (0, WAD, 3 * WAD, 50 * WAD):
        losses = [g * GRID_UNIT - sdiv(hedge * sdiv(s0 * shock, WAD), WAD) for g, shock in zip(grid, GRID)]
        assert book.valuation(s0, hedge).margin == max(0, max(losses)), hedge
    # spot -> 0 is on the grid: the puts (3 x 2,800) pay their whole strike there
    assert grid[0] * GRID_UNIT >= 3 * 2_800 * WAD


def test_fresh_goes_false_on_age(b, chain):
    book = b.book
    s0, t0, _ = book.cache()
    age = book.max_mark_age()
    chain.mine(timestamp=t0 + age)
    assert book.valuation(s0, 0).fresh
    chain.mine(timestamp=t0 + age + 1)
    assert not book.valuation(s0, 0).fresh
    assert not book.liability_at(s0)[1]
    assert not b.vault.nav_status().fresh


def test_fresh_goes_false_on_drift(b):
    book = b.book
    s0 = book.cache()[0]
    room = book.max_spot_drift() * s0 // WAD
    assert book.valuation(s0 + room, 0).fresh and book.valuation(s0 - room, 0).fresh
    assert not book.valuation(s0 + room + 1, 0).fresh
    assert not book.valuation(s0 - room - 1, 0).fresh


def test_fresh_goes_false_on_an_expiry_after_the_cache_time(b, chain, keeper, owner, stranger):
    """An expiry since the cache changes what the book owes (the series stops having
    Greeks and joins the settlement need): the aggregates are stale until a refresh,
    even young and at the same spot."""
    book = b.book
    short, expiry = new_series(b, keeper, chain, 3_000, True, seconds=2 * 3_600)
    s0, t0, next_expiry = book.cache()
    assert next_expiry == expiry and expiry - t0 < book.max_mark_age()
    chain.mine(timestamp=expiry - 1)
    assert book.valuation(s0, 0).fresh
    chain.mine(timestamp=expiry)
    assert not book.valuation(s0, 0).fresh
    post(b.feed, owner, 3_000)
    book.update_marks(sender=stranger)
    assert book.valuation(s0, 0).fresh
    assert book.cache()[2] > expiry  # the expired series (nobody held it) left the live set
    assert not book.is_open(short)


def test_fresh_with_no_open_interest_whatever_the_age(s, chain, keeper, owner, depositor, fund_system):
    book = s.book
    new_series(s, keeper, chain, 3_000, True, days=2)  # live, nobody holds it
    s0, t0, next_expiry = book.cache()
    chain.mine(timestamp=next_expiry + 30 * DAY)
    for spot in (s0, 10 * s0, s0 // 10, 0):
        v = book.valuation(spot, 0)
        assert v.fresh and v.liability == 0 and v.margin == 0
    assert book.liability_at(0) == (0, True)
    # the vault is fresh too: a deposit needs only a fresh oracle, no refresh
    post(s.feed, owner, 3_000)
    fund_system(depositor, 100 * USD)
    s.vault.deposit(100 * USD, sender=depositor)
    assert s.vault.nav_status().fresh
