"""The one interface between a decision maker and whoever runs it.

A *policy* maps the state of N independent vaults (N paths in the backtest,
N = 1 for the live bot) to what the keeper does next. Every field is a numpy
array of shape (N,), so the backtest runs a policy over all paths at once and
the live bot runs the very same function on one row. Pure: no I/O, no clock,
no randomness; the same inputs give the same outputs.

    policy(state: BookState, params: keeper.params.Params, cfg) -> PolicyOutput

Units: USD, ETH (the underlying), seconds, fractions (0.6 = 60 %). The vault's
own delta is `hedge_eth - option_delta_eth` (the book is short the options).
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Callable, Protocol

import numpy as np

# Why a hedge was (not) proposed: one code per path, named in REASONS.
NO_TRADE_IN_BAND = 0
TRADE_TO_BAND = 1
TRADE_TO_TARGET = 2
BLOCKED_LEVEL = 3        # the guard's level forbids it (or allows reduce-only)
BLOCKED_COOLDOWN = 4
BLOCKED_CAPS = 5         # hourly/daily bucket or per-trade cap left no room
BLOCKED_DEVIATION = 6    # pool vs oracle too far apart, or oracle stale
TOO_SMALL = 7            # below the minimum worth its gas and fees
SETTLEMENT_CASH = 8      # selling hedge to cover expired in-the-money payoffs
REASONS = (
    "inside the no-trade band", "trade back to the band edge", "trade to the delta target",
    "blocked by the risk level", "hedger cooldown", "notional caps exhausted",
    "pool deviates from oracle / oracle stale", "trade too small for its costs",
    "raise settlement cash",
)


@dataclass
class BookState:
    """What a policy may look at, per vault (arrays of shape (N,))."""

    t: np.ndarray                  # unix seconds (or seconds since the path start)
    spot: np.ndarray               # oracle price, USD per ETH
    oracle_fresh: np.ndarray       # bool
    pool_price: np.ndarray         # pool spot, USD per ETH
    pool_depth: np.ndarray         # USD of quote that moves the pool 1 %
    pool_fee: np.ndarray           # pool fee tier, fraction (0.0005)
    nav: np.ndarray                # USD
    nav_per_share: np.ndarray      # USD per share
    nav_per_share_hwm: np.ndarray  # high-water mark of nav_per_share
    cash: np.ndarray               # USD (idle stablecoin)
    hedge_eth: np.ndarray          # WETH held as the hedge
    option_delta_eth: np.ndarray   # buyers' delta of the open options (the vault is short it)
    gamma_eth_per_usd: np.ndarray  # buyers' gamma
    vega_usd: np.ndarray           # buyers' vega, USD per 1.00 of vol
    stress_margin: np.ndarray      # USD, the on-chain stress-grid loss net of the hedge
    settle_need: np.ndarray        # USD of expired in-the-money payoffs not yet covered by cash
    implied_vol: np.ndarray        # the book's posted ATM vol
    rv_short: np.ndarray           # realised vol, short half-life (annualised)
    rv_long: np.ndarray            # realised vol, long-run (annualised)
    trend: np.ndarray              # drift estimate, annualised log-return
    trend_accel: np.ndarray        # change of the drift estimate (annualised, per day)
    level: np.ndarray              # guard level 0..3
    budget: np.ndarray             # effective on-chain risk budget now, 0..1
    hedge_room_usd: np.ndarray     # min(hourly room, daily room, per-trade cap), USD
    cooldown_left: np.ndarray      # seconds until a rebalance may land
    gas_price_gwei: np.ndarray

    @property
    def n(self) -> int:
        return int(self.spot.shape[0])

    def row(self, i: int) -> "BookState":
        """Path i as a batch of one."""
        return BookState(**{f.name: getattr(self, f.name)[i : i + 1] for f in fields(self)})


@dataclass
class PolicyOutput:
    """What the keeper does next, per vault (arrays of shape (N,))."""

    budget_target: np.ndarray      # risk budget to post, 0..1 (the chain bounds and rate-limits it)
    atm_vol: np.ndarray            # ATM vol to post (skew per strike: keeper.allocator.vol_for_strike)
    delta_target_eth: np.ndarray   # the vault delta the hedge aims at
    band_eth: np.ndarray           # half-width of the no-trade band around the target
    trade_eth: np.ndarray          # signed hedge trade: + buys ETH, - sells; 0 = none
    reason: np.ndarray             # int codes, see REASONS


class Policy(Protocol):
    def __call__(self, state: BookState, params, cfg) -> PolicyOutput: ...


PolicyFn = Callable[[BookState, object, object], PolicyOutput]
