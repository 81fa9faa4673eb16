# pragma version 0.4.3
"""
@title Option-book stand-in for vault tests
@notice Reports a settable liability and stress margin, so vault tests can
        move NAV down (a loss) and back up (a gain) and lock collateral,
        without the real option book.
@custom:kill Test contract; nothing to disable.
"""

liability: public(uint256)
stress_margin: public(uint256)


@external
def set_liability(amount: uint256):
    self.liability = amount


@external
def set_stress_margin(amount: uint256):
    self.stress_margin = amount
