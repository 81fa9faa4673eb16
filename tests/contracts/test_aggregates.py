"""The book's cached aggregates: a sale adds exactly term(q + size) - term(q) to each,
settlement removes exactly term(q), and update_marks recomputes them from scratch;
incremental and refreshed aggregates agree to the wei.

A refresh recomputes every mark at (oracle spot, block time). To compare it with
the incremental aggregates, every transaction of a test is mined in the same
second as the cache point (anvil accepts equal block timestamps) and the oracle
is back at the cache spot before the refresh, so the refresh sees the very marks
the sales used.
"""
import ape
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import USD
from tests.contracts.conftest import WAD, new_series, post, term


def from_marks(book):
    """The aggregates recomputed in Python from the live series' cached marks."""
    s0 = book.cache()[0]
    total = [0, 0, 0, 0, [0] * 16]
    for j in range(book.live_count()):
        sid = book.live_series(j)
        strike, _, is_call = book.series(sid)
        t = term(book.open_interest(sid), book.marks(sid), strike, is_call, s0)
        for i in range(4):
            total[i] += t[i]
        total[4] = [a + b for a, b in zip(total[4], t[4])]
    return tuple(total)


def as_tuple(agg):
    return (agg[0], agg[1], agg[2], agg[3], list(agg[4]))


SERIES = ((2_800, False, 7), (3_000, True, 7), (3_000, False, 14), (3_300, True, 14))


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    steps=st.lists(
        st.one_of(
            st.tuples(st.just("buy"), st.integers(0, 3), st.integers(1, 2 * WAD)),
            # the oracle moves within the DEX deviation bound: sales are priced at the
            # new spot, but the aggregates take the cached marks' terms
            st.tuples(st.just("spot"), st.integers(-190, 190), st.just(0)),
            st.tuples(st.just("refresh"), st.just(0), st.just(0)),
        ),
        min_size=2,
        max_size=8,
    )
)
def test_incremental_aggregates_equal_a_refresh(chain, system, usdc, owner, keeper, depositor, buyer, steps):
    s, book = system, system.book
    with chain.isolate():
        post(s.feed, owner, 3_000)
        usdc.mint(depositor, 200_000 * USD, sender=depositor)
        usdc.approve(s.vault, 2**256 - 1, sender=depositor)
        s.vault.deposit(200_000 * USD, sender=depositor)
        usdc.mint(buyer, 10**6 * USD, sender=buyer)
        usdc.approve(s.vault, 2**256 - 1, sender=buyer)
        sids = [new_series(s, keeper, chain, k, c, days=d)[0] for k, c, d in SERIES]
        s0, t0, _ = book.cache()

        def pin():
            chain.pending_timestamp = t0

        # one sale in every series, then the drawn sequence
        for kind, a, b in [("buy", i, WAD // (i + 1)) for i in range(4)] + steps:
            pin()
            if kind == "buy":
                try:
                    s.options.buy(sids[a], b, 10**12, t0 + 60, sender=buyer)
                except ape.exceptions.ContractLogicError as err:
                    assert str(err).startswith("guard: "), str(err)
            elif kind == "spot":
                post(s.feed, owner, 3_000 * (10_000 + a) / 10_000)
            else:
                # a refresh at the cache point changes nothing
                before = book.aggregates()
                post(s.feed, owner, 3_000)
                pin()
                book.update_marks(sender=depositor)
                assert book.aggregates() == before
        incremental = book.aggregates()
        assert all(book.open_interest(sid) > 0 for sid in sids) and incremental[0] > 0
        assert as_tuple(incremental) == from_marks(book)
        assert book.cache()[:2] == (s0, t0)

        post(s.feed, owner, 3_000)
        pin()
        book.update_marks(sender=depositor)
        assert book.cache()[:2] == (s0, t0)
        assert book.aggregates() == incremental
        assert book.settle_need() == 0


def _book_with_three_series(s, chain, keeper, buyer, fund_system):
    fund_system(buyer, 100_000 * USD)
    a, expiry_a = new_series(s, keeper, chain, 3_000, True, days=1)
    b, _ = new_series(s, keeper, chain, 2_900, False, days=7)
    c, _ = new_series(s, keeper, chain, 3_200, True, days=7)
    for sid, size in ((a, 2 * WAD), (b, 3 * WAD), (c, WAD)):
        s.options.buy(sid, size, 10**12, chain.pending_timestamp + 60, sender=buyer)
    return a, expiry_a


def _minus(agg, t):
    return (agg[0] - t[0], agg[1] - t[1], agg[2] - t[2], agg[3] - t[3], [x - y for x, y in zip(agg[4], t[4])])


def test_settlement_after_a_refresh_removes_exactly_the_series_terms(s, chain, owner, keeper, buyer, stranger, fund_system):
    """The refresh after expiry counts the expired series at its intrinsic value (and
    in the settlement need); settling it removes exactly those terms, and a refresh
    in the same second finds the same aggregates without it."""
    book = s.book
    a, expiry = _book_with_three_series(s, chain, keeper, buyer, fund_system)
    t = expiry + 10
    chain.pending_timestamp = t
    post(s.feed, owner, 3_100)  # the first round after expiry: the call pays 100
    chain.pending_timestamp = t
    book.update_marks(sender=stranger)
    mark = book.marks(a)
    assert (mark.price, mark.delta, mark.gamma, mark.vega) == (100 * WAD, 0, 0, 0)
    assert book.settle_need() == 2 * 100 * WAD
    before = book.aggregates()
    expected = _minus(as_tuple(before), term(2 * WAD, mark, 3_000 * WAD, True, 3_100 * WAD))

    chain.pending_timestamp = t
    tx = s.options.settle(a, s.feed.latest_round(), sender=stranger)
    assert tx.events.filter(book.SeriesClosed)[0].open_interest == 2 * WAD
    assert as_tuple(book.aggregates()) == expected
    assert book.settle_need() == 0
    assert as_tuple(book.aggregates()) == from_marks(book)
    after = book.aggregates()

    chain.pending_timestamp = t
    book.update_marks(sender=stranger)
    assert book.aggregates() == after
    assert book.settle_need() == 0


def test_settlement_without_a_refresh_removes_exactly_the_series_terms(s, chain, owner, keeper, buyer, stranger, fund_system):
    """Settled before any refresh saw the expiry: the terms removed are the ones the
    sales added (the marks of the pre-expiry cache); the settlement need is untouched."""
    book = s.book
    a, expiry = _book_with_three_series(s, chain, keeper, buyer, fund_system)
    s0 = book.cache()[0]
    mark = book.marks(a)
    before = book.aggregates()
    chain.pending_timestamp = expiry + 10
    post(s.feed, owner, 3_100)
    s.options.settle(a, s.feed.latest_round(), sender=stranger)
    assert as_tuple(book.aggregates()) == _minus(as_tuple(before), term(2 * WAD, mark, 3_000 * WAD, True, s0))
    assert as_tuple(book.aggregates()) == from_marks(book)
    assert book.settle_need() == 0
    assert book.live_count() == 2
