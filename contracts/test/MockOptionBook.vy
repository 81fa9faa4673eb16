# pragma version 0.4.3
"""
@title Option-book stand-in for vault tests
@notice Reports a settable liability, stress margin and freshness through the
        book's `valuation` surface, so vault tests can move NAV down (a loss)
        and back up (a gain), lock collateral and make the aggregates stale,
        without the real option book.
@custom:kill Test contract; nothing to disable.
"""

from ..interfaces import IOptionBook

liability: public(uint256)      # wad USD
stress_margin: public(uint256)  # wad USD
stale: public(bool)


@external
def set_liability(amount: uint256):
    self.liability = amount


@external
def set_stress_margin(amount: uint256):
    self.stress_margin = amount


@external
def set_stale(stale_: bool):
    self.stale = stale_


@view
@external
def valuation(spot: uint256, hedge: uint256) -> IOptionBook.Valuation:
    v: IOptionBook.Valuation = empty(IOptionBook.Valuation)
    v.liability = self.liability
    v.margin = self.stress_margin
    v.fresh = not self.stale
    return v


@view
@external
def cache() -> (uint256, uint256, uint256):
    return 0, 0, 0


@view
@external
def liability_at(spot: uint256) -> (uint256, bool):
    return self.liability, not self.stale
