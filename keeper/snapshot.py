"""The keeper's data model: one consistent reading of a Ballast deployment, pure.

No I/O and no chain library in this module (no ape, web3 or eth_*, not even
lazily; a test imports it in a fresh interpreter and checks `sys.modules`), so
the allocator and the backtest run on it without a node. `keeper.market` fills
these classes from the chain; everything else only reads them.

Units: floats in human units at this edge, the raw integers stay on-chain.
  USD       the quote asset (the stablecoin, taken at par)
  ETH       units of the underlying (WETH, 18 decimals)
  fraction  0.01 = 1 %; "of NAV" where it says so
  s         seconds; timestamps are the chain's unix seconds
  vol       annualised, 0.6 = 60 %

What is here:
- `SeriesMark`, `Limits`, `Snapshot`: one block's state (vault, book, hedger,
  guard, oracle, pool) and the on-chain limits with the room left under them.
  `Snapshot.validate()` raises `ValueError` naming the first bad field (NaN,
  inf, a non-positive oracle price, a negative size, ...), so nothing decides
  on a bad reading.
- `MarketHistory`: a short history of oracle rounds and pool TWAP intervals,
  and pure helpers over it: `price_points` (realised-vol inputs),
  `realised_vol` (EWMA, `keeper.vol.ewma_vol`) and `trend` (drift and its
  z-score).
- `format_status`: the text `keeper status` prints.
"""
from __future__ import annotations

import math
import numbers
import re
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from keeper.vol import SECONDS_PER_YEAR, ewma_vol

__all__ = [
    "LEVELS", "SeriesMark", "Limits", "Snapshot", "MarketHistory", "Trend",
    "bucket_room", "pool_twaps_from_observations", "price_points", "realised_vol", "trend", "format_status",
]

LEVELS = ("normal", "reduce-only", "withdraw-only", "halted")
HOUR = 3_600  # s: the hedger's hourly bucket drains over this
DAY = 86_400  # s: the daily bucket
LN_TICK = math.log(1.0001)  # a Uniswap V3 tick is a factor 1.0001 of price
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")


# ---------------------------------------------------------------- validation helpers

def _bad(name: str, what: str, value) -> ValueError:
    return ValueError(f"invalid snapshot: {name} {what}, got {value!r}")


def _num(name: str, value, *, gt=None, ge=None, le=None, lt=None, optional=False, integer=False):
    """Check one number; the error names the field (`name`)."""
    if value is None:
        if optional:
            return
        raise _bad(name, "is missing", value)
    kind = numbers.Integral if integer else numbers.Real
    if isinstance(value, bool) or not isinstance(value, kind):
        raise _bad(name, "must be an integer" if integer else "must be a number", value)
    if not math.isfinite(value):
        raise _bad(name, "must be finite", value)
    if gt is not None and not value > gt:
        raise _bad(name, f"must be > {gt}", value)
    if ge is not None and not value >= ge:
        raise _bad(name, f"must be >= {ge}", value)
    if lt is not None and not value < lt:
        raise _bad(name, f"must be < {lt}", value)
    if le is not None and not value <= le:
        raise _bad(name, f"must be <= {le}", value)


def _flag(name: str, value):
    if not isinstance(value, bool):
        raise _bad(name, "must be a bool", value)


def _address(name: str, value):
    if not (isinstance(value, str) and _ADDRESS.fullmatch(value)):
        raise _bad(name, "must be a 0x-prefixed 20-byte hex address", value)


# ---------------------------------------------------------------- one block's state

@dataclass(frozen=True)
class SeriesMark:
    """One live series and its cached mark, as the option book holds it."""

    series_id: int
    strike: float          # USD per ETH
    expiry: int            # unix s
    is_call: bool
    open_interest: float   # ETH of options sold (short)
    vol: float             # implied vol posted by the keeper, annualised
    price: float           # USD per 1 ETH of options
    delta: float           # per 1 ETH of options (buyer's side; the vault is short)
    gamma: float           # per 1 ETH of options, per 1 USD of spot (1/USD): Mark.gamma / 1e18
    vega: float            # USD per 1 ETH of options, per 1.00 of vol: Mark.vega / 1e18
    spot: float            # USD per ETH: the oracle spot the mark was computed at
    mark_age: int          # s since the mark was computed

    def validate(self, name: str = "series") -> None:
        _num(f"{name}.series_id", self.series_id, ge=0, integer=True)
        _num(f"{name}.strike", self.strike, gt=0)
        _num(f"{name}.expiry", self.expiry, gt=0, integer=True)
        _flag(f"{name}.is_call", self.is_call)
        _num(f"{name}.open_interest", self.open_interest, ge=0)
        _num(f"{name}.vol", self.vol, gt=0)
        _num(f"{name}.price", self.price, ge=0)
        _num(f"{name}.delta", self.delta, ge=-1, le=1)
        _num(f"{name}.mark_age", self.mark_age, ge=0, integer=True)
        _num(f"{name}.gamma", self.gamma, ge=0)
        _num(f"{name}.vega", self.vega, ge=0)
        _num(f"{name}.spot", self.spot, gt=0)


@dataclass(frozen=True)
class Limits:
    """The on-chain limits a keeper action must respect, and the room left under them.

    Hedge trade limits are the hedger's (`Hedger.vy`); the band, the deviation
    knob, the TWAP window, the sale limits and the risk budget are the risk
    guard's (`RiskGuard.vy`). `delta_band` is the band in force (the owner's
    band scaled by the risk budget).
    A room is what may still be used now (at the snapshot's block and NAV); it
    is None while NAV cannot be read (the caps are fractions of NAV).
    """

    max_trade: float             # fraction of NAV: notional of one hedge trade
    cooldown: int                # s between two rebalances
    rebalance_wait: int          # s until the next rebalance may land (0: now)
    max_hourly_notional: float   # fraction of NAV: hedge notional per rolling hour
    max_daily_notional: float    # fraction of NAV: hedge notional per rolling day
    hourly_room: float | None    # USD of hedge notional the hourly bucket still takes
    daily_room: float | None     # USD of hedge notional the daily bucket still takes
    delta_band: float            # fraction of NAV: |net delta| x spot allowed after a trade
    max_slippage: float          # fraction: min_out may sit at most this far under the oracle price
    max_deviation: float         # fraction: pool TWAP and pool spot must sit this close to the oracle
    twap_window: int             # s: the pool TWAP the hedger checks against
    max_utilisation: float       # fraction of NAV: the stress margin for sales (at budget 1)
    max_vega_ratio: float        # fraction of NAV: |net vega| per 1.00 vol for sales
    max_gamma_ratio: float       # fraction of NAV: |net cash gamma| per 1 % move for sales
    risk_budget: float | None = None  # fraction 0..1 the keeper has posted on-chain; None: no budget on this chain

    def validate(self, name: str = "limits") -> None:
        _num(f"{name}.max_trade", self.max_trade, gt=0, le=1)
        _num(f"{name}.cooldown", self.cooldown, ge=0, integer=True)
        _num(f"{name}.rebalance_wait", self.rebalance_wait, ge=0, integer=True)
        _num(f"{name}.max_hourly_notional", self.max_hourly_notional, gt=0)
        _num(f"{name}.max_daily_notional", self.max_daily_notional, gt=0)
        _num(f"{name}.hourly_room", self.hourly_room, ge=0, optional=True)
        _num(f"{name}.daily_room", self.daily_room, ge=0, optional=True)
        _num(f"{name}.delta_band", self.delta_band, ge=0, le=1)
        _num(f"{name}.max_slippage", self.max_slippage, gt=0, lt=1)
        _num(f"{name}.max_deviation", self.max_deviation, gt=0, lt=1)
        _num(f"{name}.twap_window", self.twap_window, gt=0, integer=True)
        _num(f"{name}.max_utilisation", self.max_utilisation, ge=0, le=1)
        _num(f"{name}.max_vega_ratio", self.max_vega_ratio, ge=0)
        _num(f"{name}.max_gamma_ratio", self.max_gamma_ratio, ge=0)
        _num(f"{name}.risk_budget", self.risk_budget, ge=0, le=1, optional=True)


@dataclass(frozen=True)
class Snapshot:
    """A Ballast deployment as one block shows it (every read pinned to `block`)."""

    block: int
    timestamp: int                     # unix s of `block`
    vault: str                         # addresses of the deployment's parts
    book: str
    hedger: str
    guard: str
    feed: str
    pool: str
    underlying: str
    asset_decimals: int
    nav: float | None                  # USD; None while the marks are refused
    nav_error: str | None              # why NAV cannot be read (the revert reason)
    total_supply: float                # shares, whole units
    free_collateral: float | None      # USD
    idle: float                        # USD (tracked cash)
    reserved: float                    # USD (settled, unclaimed payoffs)
    hedge_eth: float                   # ETH held as the hedge
    net_delta_eth: float               # ETH: short options + hedge
    oracle_price: float                # USD per ETH
    oracle_age: int                    # s since the latest round was updated
    oracle_round: int                  # the latest round id (Chainlink phase << 64 | round)
    pool_twap: float | None            # USD per ETH over `limits.twap_window`; None if unreadable
    pool_spot: float | None            # USD per ETH
    pool_depth: float | None           # USD to move the pool 1 %
    level: int                         # risk guard level, index into LEVELS
    latched: tuple[str, ...]           # latched breakers
    live: tuple[str, ...]              # breakers whose condition holds now
    keeper_silent_for: int             # s since the last keeper rebalance or ping
    keeper_timeout: int                # s of silence before anyone may rebalance
    paused: bool
    shutdown: bool
    limits: Limits
    series: tuple[SeriesMark, ...] = field(default_factory=tuple)

    @property
    def level_name(self) -> str:
        return LEVELS[self.level]

    @property
    def hedge_room(self) -> float | None:
        """USD of notional the next hedge trade may carry under max_trade and both
        buckets (cooldown and the guard level aside); None while NAV is unreadable."""
        lim = self.limits
        if self.nav is None or lim.hourly_room is None or lim.daily_room is None:
            return None
        return min(lim.max_trade * self.nav, lim.hourly_room, lim.daily_room)

    def validate(self) -> Snapshot:
        """Raise `ValueError` naming the first bad field; return self when all are sound."""
        _num("block", self.block, ge=0, integer=True)
        _num("timestamp", self.timestamp, gt=0, integer=True)
        for name in ("vault", "book", "hedger", "guard", "feed", "pool", "underlying"):
            _address(name, getattr(self, name))
        _num("asset_decimals", self.asset_decimals, ge=0, le=18, integer=True)
        _num("nav", self.nav, ge=0, optional=True)
        if self.nav is None and not self.nav_error:
            raise _bad("nav", "is None without a nav_error", self.nav)
        _num("total_supply", self.total_supply, ge=0)
        _num("free_collateral", self.free_collateral, ge=0, optional=True)
        _num("idle", self.idle, ge=0)
        _num("reserved", self.reserved, ge=0)
        _num("hedge_eth", self.hedge_eth, ge=0)
        _num("net_delta_eth", self.net_delta_eth)
        _num("oracle_price", self.oracle_price, gt=0)
        _num("oracle_age", self.oracle_age, ge=0, integer=True)
        _num("oracle_round", self.oracle_round, ge=0, integer=True)
        _num("pool_twap", self.pool_twap, gt=0, optional=True)
        _num("pool_spot", self.pool_spot, gt=0, optional=True)
        _num("pool_depth", self.pool_depth, ge=0, optional=True)
        _num("level", self.level, ge=0, le=len(LEVELS) - 1, integer=True)
        _num("keeper_silent_for", self.keeper_silent_for, ge=0, integer=True)
        _num("keeper_timeout", self.keeper_timeout, gt=0, integer=True)
        _flag("paused", self.paused)
        _flag("shutdown", self.shutdown)
        if not isinstance(self.limits, Limits):
            raise _bad("limits", "must be a Limits", self.limits)
        self.limits.validate()
        seen = set()
        for i, m in enumerate(self.series):
            m.validate(f"series[{i}]")
            if m.series_id in seen:
                raise _bad(f"series[{i}].series_id", "is listed twice", m.series_id)
            seen.add(m.series_id)
        return self


def bucket_room(cap: float, used: float, window: float, elapsed: float) -> float:
    """Room left in a leaky bucket, in the unit of `cap` (the hedger's `_bucket`).

    The bucket holds at most `cap`, drains at `cap` per `window` seconds, is
    empty once a whole window has passed, and held `used` when last charged,
    `elapsed` seconds ago.
    """
    if elapsed >= window:
        return cap
    drained = cap * max(elapsed, 0) / window
    return max(cap - max(used - drained, 0.0), 0.0)


# ---------------------------------------------------------------- history

@dataclass(frozen=True)
class MarketHistory:
    """A short price history at one block, from the oracle and from the pool.

    `oracle_rounds`: (round id, answer in USD per ETH, updatedAt in unix s), one
    per feed round, oldest first. Chainlink feeds update on a deviation
    threshold or a heartbeat, so these are unevenly spaced and biased towards
    moves; use them for checks and as a second opinion.

    `pool_twaps`: (start, end, price): the pool's geometric-mean price in USD
    per ETH over [start, end] (unix s), oldest first, each interval starting
    where the previous one ended. Derived at the read edge from `observe`'s
    tick cumulatives (their raw integers mean nothing without the pool's token
    order and decimals), and unlike a spot read they cannot be moved by a
    swap inside one block. Interval means smooth the path: see `realised_vol`.

    `pool_error`: why `pool_twaps` is shorter than asked for or empty (a young
    pool without old enough observations), else None.
    """

    block: int
    timestamp: int                                        # unix s of `block`
    oracle_rounds: tuple[tuple[int, float, int], ...] = ()
    pool_twaps: tuple[tuple[int, int, float], ...] = ()
    pool_error: str | None = None

    def validate(self) -> MarketHistory:
        """Raise `ValueError` naming the first bad field; return self when all are sound."""
        _num("block", self.block, ge=0, integer=True)
        _num("timestamp", self.timestamp, gt=0, integer=True)
        prev_id = prev_t = None
        for i, (rid, answer, updated) in enumerate(self.oracle_rounds):
            _num(f"oracle_rounds[{i}].round_id", rid, ge=0, integer=True)
            _num(f"oracle_rounds[{i}].answer", answer, gt=0)
            _num(f"oracle_rounds[{i}].updated_at", updated, gt=0, le=self.timestamp, integer=True)
            if prev_id is not None and rid <= prev_id:
                raise _bad(f"oracle_rounds[{i}].round_id", "must increase", rid)
            if prev_t is not None and updated < prev_t:
                raise _bad(f"oracle_rounds[{i}].updated_at", "must not decrease", updated)
            prev_id, prev_t = rid, updated
        prev_end = None
        for i, (start, end, price) in enumerate(self.pool_twaps):
            _num(f"pool_twaps[{i}].start", start, gt=0, integer=True)
            _num(f"pool_twaps[{i}].end", end, gt=start, le=self.timestamp, integer=True)
            _num(f"pool_twaps[{i}].price", price, gt=0)
            if prev_end is not None and start != prev_end:
                raise _bad(f"pool_twaps[{i}].start", f"must be the previous end ({prev_end})", start)
            prev_end = end
        return self


class Trend(NamedTuple):
    drift: float  # per year: least-squares slope of ln(price) against time
    z: float      # drift over its standard error under a driftless random walk at the realised vol
    span: float   # s covered by the points


def pool_twaps_from_observations(
    timestamp: int, seconds_agos, tick_cumulatives, *, underlying_is_token0: bool,
    asset_decimals: int, underlying_decimals: int = 18,
) -> tuple[tuple[int, int, float], ...]:
    """Uniswap V3 `observe(seconds_agos)` -> `MarketHistory.pool_twaps`.

    `seconds_agos` strictly decreasing (oldest first), `tick_cumulatives` as
    the pool returns them. Each interval's price is 1.0001 ** (mean tick),
    turned into USD per ETH by the token order and decimals; the mean tick is
    exact (not truncated to an integer as on-chain, so it may differ from the
    hedger's TWAP by under one tick, 0.01 %).
    """
    agos = [int(a) for a in seconds_agos]
    ticks = [int(c) for c in tick_cumulatives]
    if len(agos) != len(ticks):
        raise ValueError(f"seconds_agos and tick_cumulatives differ in length ({len(agos)} vs {len(ticks)})")
    if any(b >= a for a, b in zip(agos, agos[1:])):
        raise ValueError("seconds_agos must be strictly decreasing (oldest first)")
    scale = 10.0 ** (underlying_decimals - asset_decimals)
    out = []
    for (a0, c0), (a1, c1) in zip(zip(agos, ticks), zip(agos[1:], ticks[1:])):
        mean_tick = (c1 - c0) / (a0 - a1)
        raw = math.exp(mean_tick * LN_TICK)  # token1 per token0, raw units
        price = raw * scale if underlying_is_token0 else scale / raw
        out.append((timestamp - a0, timestamp - a1, price))
    return tuple(out)


def price_points(history: MarketHistory, source: str = "pool") -> tuple[np.ndarray, np.ndarray]:
    """(times in s, prices in USD per ETH), times strictly increasing: the
    realised-vol inputs of `keeper.vol.ewma_vol` / `realised_vol`.

    source "pool": one point per TWAP interval, at its midpoint. source
    "oracle": one point per round at its updatedAt; rounds sharing an updatedAt
    keep the last one.
    """
    if source == "pool":
        t = [(start + end) / 2 for start, end, _ in history.pool_twaps]
        p = [price for _, _, price in history.pool_twaps]
    elif source == "oracle":
        last = {}
        for _, answer, updated in history.oracle_rounds:
            last[updated] = answer
        t, p = list(last), list(last.values())
    else:
        raise ValueError(f"source must be 'pool' or 'oracle', got {source!r}")
    return np.asarray(t, dtype=float), np.asarray(p, dtype=float)


# Log of a mean over an interval: adjacent interval means of a random walk
# differ with variance 2/3 sigma^2 dt (dt between midpoints, whatever the two
# lengths), so vol from pool points is scaled by sqrt(3/2).
_POOL_VOL_SCALE = math.sqrt(1.5)


def realised_vol(history: MarketHistory, half_life: float, source: str = "pool") -> float | None:
    """Annualised EWMA realised vol (`keeper.vol.ewma_vol`, `half_life` in s) of
    the chosen source; None with fewer than two points.

    From the pool it corrects for the interval means (x sqrt(3/2), exact for a
    random walk in log price sampled on contiguous intervals).
    """
    t, p = price_points(history, source)
    if t.size < 2:
        return None
    vol = ewma_vol(t, p, half_life)
    return vol * _POOL_VOL_SCALE if source == "pool" else vol


def trend(history: MarketHistory, source: str = "pool") -> Trend | None:
    """Drift of ln(price) per year (least squares against time) and its z-score;
    None with fewer than three points.

    The z-score divides the drift by its standard error if ln(price) were a
    driftless random walk sampled at the points' times, with the vol of the
    points' log returns around their mean drift (equal weights; for the pool
    x sqrt(3/2), as in `realised_vol`): about N(0, 1) without a trend, so
    |z| > 2 is a trend worth acting on. For pool points the error is taken at
    the interval midpoints (approximate: interval means are smoother).
    """
    t, p = price_points(history, source)
    if t.size < 3:
        return None
    years = (t - t[0]) / SECONDS_PER_YEAR
    logp = np.log(p)
    x = years - years.mean()
    w = x / np.sum(x * x)                    # least-squares slope = w . ln(p)
    drift = float(w @ logp)
    r, dt = np.diff(logp), np.diff(years)
    mu = r.sum() / dt.sum()
    vol = math.sqrt(float(np.sum((r - mu * dt) ** 2) / dt.sum()))
    if source == "pool":
        vol *= _POOL_VOL_SCALE
    cov = np.minimum.outer(years, years)     # a random walk from t[0], per unit variance
    se = vol * math.sqrt(float(w @ cov @ w))
    z = drift / se if se > 0 else (0.0 if drift == 0 else math.copysign(math.inf, drift))
    return Trend(drift=drift, z=z, span=float(t[-1] - t[0]))


# ---------------------------------------------------------------- status text

def _money(x: float | None) -> str:
    return "unreadable" if x is None else f"{x:,.2f} USD"


def _pct(x: float) -> str:
    return f"{x:.2%}"


def _limits_lines(s: Snapshot) -> list[str]:
    lim = s.limits
    wait = "ready" if lim.rebalance_wait == 0 else f"next in {lim.rebalance_wait} s"
    return [
        f"  hedge limits trade <= {_pct(lim.max_trade)} of NAV (room now {_money(s.hedge_room)}); "
        f"cooldown {lim.cooldown} s ({wait})",
        f"               band +-{_pct(lim.delta_band)} of NAV; slippage {_pct(lim.max_slippage)}; "
        f"oracle/pool deviation {_pct(lim.max_deviation)} (TWAP {lim.twap_window} s)",
        f"  hedge caps   hourly {_pct(lim.max_hourly_notional)} of NAV, room {_money(lim.hourly_room)}; "
        f"daily {_pct(lim.max_daily_notional)} of NAV, room {_money(lim.daily_room)}",
        f"  sale limits  stress margin <= {_pct(lim.max_utilisation)} of NAV; |vega| <= {_pct(lim.max_vega_ratio)} "
        f"of NAV per 1.00 vol; |cash gamma| <= {_pct(lim.max_gamma_ratio)} of NAV per 1 % move",
        "  risk budget  " + ("none on chain (limits apply in full)" if lim.risk_budget is None
                             else f"{lim.risk_budget:.4f} ({_pct(lim.risk_budget)} of the owner's limits)"),
    ]


def format_status(s: Snapshot) -> str:
    """Human-readable status (pure). A snapshot that fails `validate()` gets a
    first line saying why, and is still shown as read."""
    try:
        s.validate()
        problem = None
    except ValueError as err:
        problem = str(err)
    lines = [f"vault {s.vault} at block {s.block} (t={s.timestamp})"]
    if problem:
        lines.append(f"  INVALID      {problem}")
    lines += [
        f"  risk level   {s.level_name if 0 <= s.level < len(LEVELS) else s.level}"
        + (f"; latched: {', '.join(s.latched)}" if s.latched else "")
        + (f"; holding now: {', '.join(s.live)}" if s.live else ""),
        f"  NAV          {_money(s.nav)}" + (f" ({s.nav_error})" if s.nav_error else ""),
        f"  free         {_money(s.free_collateral)}; idle {s.idle:,.2f} USD; claims reserve {s.reserved:,.2f} USD",
        f"  shares       {s.total_supply:,.4f}" + ("; PAUSED" if s.paused else "") + ("; SHUT DOWN" if s.shutdown else ""),
        f"  hedge        {s.hedge_eth:,.6f} ETH; net delta {s.net_delta_eth:+,.6f} ETH",
        f"  oracle       {s.oracle_price:,.2f} USD/ETH, {s.oracle_age} s old (round {s.oracle_round})",
        "  pool         " + ("unreadable" if s.pool_twap is None else
                             f"TWAP {s.pool_twap:,.2f}, spot {s.pool_spot:,.2f}, depth {s.pool_depth:,.0f} USD per 1 %"),
        f"  keeper       last action {s.keeper_silent_for} s ago (fallback opens after {s.keeper_timeout} s)",
        *_limits_lines(s),
        f"  series       {len(s.series)} live",
    ]
    for m in s.series:
        kind = "call" if m.is_call else "put"
        lines.append(
            f"    #{m.series_id} {m.strike:,.0f} {kind} exp {m.expiry}: OI {m.open_interest:,.4f} ETH, "
            f"vol {m.vol:.2%}, mark {m.price:,.4f}, delta {m.delta:+.4f}, gamma {m.gamma:.6f}/USD, "
            f"vega {m.vega:,.2f} USD/vol, mark age {m.mark_age} s"
        )
    return "\n".join(lines)
