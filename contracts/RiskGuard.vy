# pragma version 0.4.3
# pragma nonreentrancy on
"""
@title Ballast RiskGuard: every risk rule, and the one reader of oracle and pool
@notice The one contract that answers "may we take this risk":
        - circuit breakers and the vault's graduated level;
        - sale limits (stress margin, net vega, net cash gamma vs NAV);
        - the hedge band and the deposit cap;
        - the keeper's risk budget, which scales the sale limits and the band;
        - the oracle staleness knob (`oracle_heartbeat`) and the oracle/DEX
          deviation knob (`max_deviation`), one each, used by every contract.
        It is also the one reader of the Chainlink-style feed and the Uniswap
        V3 pool: `read()` measures both once per transaction (transient
        storage) and hands the same `Reading` to every caller in it.

          breaker               trips when                                   sends to
          oracle_stale          feed unreadable or older than oracle_heartbeat  withdraw-only
          oracle_dex_deviation  |pool TWAP - oracle| > max_deviation x oracle   reduce-only
          spot_move             |spot - anchor| > max_spot_move x anchor,
                                anchors taken each spot_move_window           reduce-only
          nav_drawdown          NAV per share below its peak over
                                drawdown_window by > max_drawdown            withdraw-only
          marks_stale           the book's aggregates not fresh (open interest) reduce-only
          thin_liquidity        pool depth per 1 % < min_pool_depth x NAV    reduce-only

        Levels: 0 normal, 1 reduce-only (no sales, no deposits, hedges shrink
        |delta|), 2 withdraw-only (the keeper may only sell the hedge), 3 halted
        (guardian only). Down at once to the worst latched breaker; a latch
        clears once its condition has been clear for `cooldown`; up one level
        per `cooldown`. The guardian's halts draw on a budget of MAX_HALT
        seconds per HALT_EPOCH and end by themselves when it is spent.

        Risk budget: the keeper posts a target in [budget_floor, 1]; a lower
        target applies at once, a higher one is approached at `budget_rate`
        per hour (curve-std's bounded value), so a stolen keeper key can stop
        sales at once but never open risk faster than that rate.

        Parameters: owner only (the vault's owner), inside hard bounds from
        `constants`; loosening waits the `param_timelock` delay.
        Units: fractions in wad (1e18 = 100 %), times in seconds, prices in wad
        USD per underlying, NAV in the vault asset's units.
@custom:kill The guardian calls `trip(3)` (halted, within the halt budget);
        the vault's `shutdown()` remains the one-way exit.
"""

from interfaces import IRiskGuard
from interfaces import IVault
from interfaces import IOptionBook
from interfaces import IUniswapV3Pool
from ethereum.ercs import IERC20Detailed
from snekmate.utils import math
import constants as c
import oracle
import param_timelock

implements: IRiskGuard

initializes: param_timelock
exports: (param_timelock.queued, param_timelock.cancel_change)


N_BREAKERS: constant(uint256) = 6
ORACLE_STALE: constant(uint256) = 0
ORACLE_DEX_DEVIATION: constant(uint256) = 1
SPOT_MOVE: constant(uint256) = 2
NAV_DRAWDOWN: constant(uint256) = 3
MARKS_STALE: constant(uint256) = 4
THIN_LIQUIDITY: constant(uint256) = 5
# The level each breaker sends the vault to.
LEVELS: constant(uint8[N_BREAKERS]) = [2, 1, 1, 2, 1, 1]

WAD: constant(uint256) = c.WAD
LN_1_0001: constant(int256) = 99995000333308       # ln(1.0001) in wad
Q192: constant(uint256) = 2**192
# sqrt(1.01) - 1 and 1 - 1/sqrt(1.01) in wad: the change of sqrt(price)
# (resp. 1/sqrt(price)) for a 1 % price move, for the pool depth.
DEPTH_UP: constant(uint256) = 4987562112089027
DEPTH_DOWN: constant(uint256) = 4962809790009914
M32: constant(uint256) = 2**32 - 1
M64: constant(uint256) = 2**64 - 1
M128: constant(uint256) = 2**128 - 1

vault: public(immutable(address))
feed: public(immutable(address))
pool: public(immutable(address))
FEED_DECIMALS: immutable(uint8)
ASSET_SCALE: immutable(uint256)          # 10**(18 - asset decimals)
UNDERLYING_IS_TOKEN0: immutable(bool)

# Storage is packed; every field has a getter of its own name below.
# _p_oracle:   oracle_heartbeat (32) | twap_window (32) | max_deviation (64) | min_pool_depth (64)
# _p_breakers: spot_move_window (32) | drawdown_window (32) | cooldown (32) |
#              max_spot_move (64) | max_drawdown (64)
# _p_limits:   max_utilisation | max_vega_ratio | max_gamma_ratio | delta_band (64 each)
# _p_budget:   budget_floor (64) | budget_rate (64)
# _budget:     target (64) | base (64) | posted_at (64)
# _state:      level (8) | guardian_floor (8) | latched (8) | level_since (64) |
#              spot_anchor_time (64) | pps_bucket_start (64)
# _anchors:    spot_anchor | spot_prev_anchor (128 each)
# _peaks:      pps_peak | pps_prev_peak (128 each)
# _halt:       halt_spent (64) | halt_epoch_start (64) | halt_until (64)
_p_oracle: uint256
_p_breakers: uint256
_p_limits: uint256
_p_budget: uint256
_budget: uint256
_state: uint256
_anchors: uint256
_peaks: uint256
_halt: uint256
deposit_cap: public(uint256)                 # asset units of NAV accepted through deposits
last_seen: public(uint256[N_BREAKERS])       # last time each condition held

# the reading of this transaction
_tx_reading: transient(IRiskGuard.Reading)
_tx_read: transient(bool)


struct Params:
    oracle_heartbeat: uint256
    twap_window: uint256
    max_deviation: uint256
    spot_move_window: uint256
    drawdown_window: uint256
    cooldown: uint256
    max_spot_move: uint256
    max_drawdown: uint256
    min_pool_depth: uint256


struct State:
    level: uint8
    guardian_floor: uint8
    latched: uint256
    level_since: uint256
    spot_anchor_time: uint256
    pps_bucket_start: uint256
    spot_anchor: uint256
    spot_prev_anchor: uint256
    pps_peak: uint256
    pps_prev_peak: uint256


struct Measured:
    bits: uint256           # conditions that hold now
    spot: uint256
    pps: uint256            # NAV per share (wad), 0 if not measured
    values: uint256[N_BREAKERS]


@deploy
def __init__(vault_: address, feed_: address, pool_: address, underlying_: address, deposit_cap_: uint256):
    """
    @param vault_ The vault (holds the money; its owner owns the parameters).
    @param feed_ The Chainlink-style feed of the underlying in USD.
    @param pool_ The Uniswap V3 pool of the underlying against the vault's asset.
    @param underlying_ The underlying token (18 decimals) in that pool.
    @param deposit_cap_ Maximum NAV accepted through deposits, asset units.
    """
    assert vault_.is_contract, "guard: vault not a contract"
    assert pool_.is_contract, "guard: pool not a contract"
    vault = vault_
    feed = feed_
    pool = pool_
    FEED_DECIMALS = oracle._feed_decimals(feed_)
    asset_decimals: uint8 = staticcall IERC20Detailed(staticcall IVault(vault_).asset()).decimals()
    ASSET_SCALE = 10 ** convert(18 - asset_decimals, uint256)
    assert staticcall IERC20Detailed(underlying_).decimals() == 18, "guard: underlying must have 18 decimals"
    token0: address = staticcall IUniswapV3Pool(pool_).token0()
    UNDERLYING_IS_TOKEN0 = token0 == underlying_
    assert deposit_cap_ <= c.MAX_DEPOSIT_CAP_UNITS * 10 ** convert(asset_decimals, uint256), "guard: deposit_cap out of bounds"
    param_timelock.__init__(vault_)

    self._store_params(Params(
        oracle_heartbeat=c.DEFAULT_ORACLE_HEARTBEAT, twap_window=c.DEFAULT_TWAP_WINDOW,
        max_deviation=c.DEFAULT_MAX_DEVIATION, spot_move_window=c.DEFAULT_SPOT_MOVE_WINDOW,
        drawdown_window=c.DEFAULT_DRAWDOWN_WINDOW, cooldown=c.DEFAULT_COOLDOWN,
        max_spot_move=c.DEFAULT_MAX_SPOT_MOVE, max_drawdown=c.DEFAULT_MAX_DRAWDOWN,
        min_pool_depth=c.DEFAULT_MIN_POOL_DEPTH,
    ))
    self._p_limits = (
        c.DEFAULT_MAX_UTILISATION | (c.DEFAULT_MAX_VEGA_RATIO << 64)
        | (c.DEFAULT_MAX_GAMMA_RATIO << 128) | (c.DEFAULT_DELTA_BAND << 192)
    )
    self._p_budget = c.DEFAULT_BUDGET_FLOOR | (c.DEFAULT_BUDGET_RATE << 64)
    self._budget = WAD | (WAD << 64) | (block.timestamp << 128)
    self.deposit_cap = deposit_cap_
    st: State = empty(State)
    st.level_since = block.timestamp
    self._store_state(st)
    self._halt = block.timestamp << 64


# ---------------------------------------------------------------- packing

@view
@internal
def _load_params() -> Params:
    a: uint256 = self._p_oracle
    b: uint256 = self._p_breakers
    return Params(
        oracle_heartbeat=a & M32, twap_window=(a >> 32) & M32, max_deviation=(a >> 64) & M64,
        spot_move_window=b & M32, drawdown_window=(b >> 32) & M32, cooldown=(b >> 64) & M32,
        max_spot_move=(b >> 96) & M64, max_drawdown=(b >> 160) & M64, min_pool_depth=(a >> 128) & M64,
    )


@internal
def _store_params(p: Params):
    # every field is inside its hard bound, which fits its width
    self._p_oracle = p.oracle_heartbeat | (p.twap_window << 32) | (p.max_deviation << 64) | (p.min_pool_depth << 128)
    self._p_breakers = (
        p.spot_move_window | (p.drawdown_window << 32) | (p.cooldown << 64)
        | (p.max_spot_move << 96) | (p.max_drawdown << 160)
    )


@view
@internal
def _load_state() -> State:
    x: uint256 = self._state
    a: uint256 = self._anchors
    b: uint256 = self._peaks
    return State(
        level=convert(x & 255, uint8), guardian_floor=convert((x >> 8) & 255, uint8),
        latched=(x >> 16) & 255, level_since=(x >> 24) & M64,
        spot_anchor_time=(x >> 88) & M64, pps_bucket_start=(x >> 152) & M64,
        spot_anchor=a & M128, spot_prev_anchor=a >> 128, pps_peak=b & M128, pps_prev_peak=b >> 128,
    )


@internal
def _store_state(st: State):
    x: uint256 = (
        convert(st.level, uint256) | (convert(st.guardian_floor, uint256) << 8) | (st.latched << 16)
        | (st.level_since << 24) | (st.spot_anchor_time << 88) | (st.pps_bucket_start << 152)
    )
    a: uint256 = min(st.spot_anchor, M128) | (min(st.spot_prev_anchor, M128) << 128)
    b: uint256 = min(st.pps_peak, M128) | (min(st.pps_prev_peak, M128) << 128)
    # write only what changed: a poke that changes nothing writes nothing
    if x != self._state:
        self._state = x
    if a != self._anchors:
        self._anchors = a
    if b != self._peaks:
        self._peaks = b


# ---------------------------------------------------------------- the reading

@view
@internal
def _usd_per_underlying(raw_wad: uint256) -> uint256:
    """
    @dev Pool raw price (token1 per token0, wad) -> USD per 1 underlying, wad.
    """
    if raw_wad == 0:
        return 0
    if UNDERLYING_IS_TOKEN0:
        return raw_wad * ASSET_SCALE
    return WAD * WAD * ASSET_SCALE // raw_wad


@view
@internal
def _pool(window: uint256) -> (uint256, uint256, uint256):
    """
    @dev (TWAP, spot, depth) of the pool, or zeros where unreadable. TWAP from
         the arithmetic-mean tick over `window`; depth = USD of quote moving
         the price 1 % at the harmonic-mean in-range liquidity over the window
         (as Uniswap's OracleLibrary.consult): neither moves much in one block,
         so a flash swap can fake neither.
    """
    ok: bool = False
    resp: Bytes[320] = b""
    agos: DynArray[uint32, 2] = [convert(window, uint32), 0]
    ok, resp = raw_call(
        pool, abi_encode(agos, method_id=method_id("observe(uint32[])")),
        max_outsize=320, is_static_call=True, revert_on_failure=False,
    )
    if not ok:
        return 0, 0, 0
    ticks: DynArray[int56, 2] = []
    spl: DynArray[uint160, 2] = []
    ticks, spl = abi_decode(resp, (DynArray[int56, 2], DynArray[uint160, 2]))
    if len(ticks) != 2 or len(spl) != 2:
        return 0, 0, 0
    mean_tick: int256 = convert(ticks[1] - ticks[0], int256) // convert(window, int256)
    d: uint256 = (convert(spl[1], uint256) + 2**160 - convert(spl[0], uint256)) % 2**160
    liq: uint256 = M128
    if d != 0:
        liq = min(window * (2**160 - 1) // (d << 32), M128)
    twap: uint256 = self._usd_per_underlying(convert(math._wad_exp(mean_tick * LN_1_0001), uint256))
    sqrt_p: uint256 = convert(math._wad_exp(mean_tick * LN_1_0001 // 2), uint256)
    depth: uint256 = 0
    if UNDERLYING_IS_TOKEN0:
        # quote is token1: dy = L x d(sqrtP)
        depth = math._mul_div(math._mul_div(liq, sqrt_p, WAD, False), DEPTH_UP, WAD, False) * ASSET_SCALE
    else:
        # quote is token0: dx = L x d(1/sqrtP)
        depth = math._mul_div(math._mul_div(liq, WAD, sqrt_p, False), DEPTH_DOWN, WAD, False) * ASSET_SCALE
    sqrt_now: uint256 = convert((staticcall IUniswapV3Pool(pool).slot0())[0], uint256)
    spot_now: uint256 = self._usd_per_underlying(math._mul_div(sqrt_now * sqrt_now, WAD, Q192, False))
    return twap, spot_now, depth


@view
@internal
def _measure_reading(p: Params) -> IRiskGuard.Reading:
    r: IRiskGuard.Reading = empty(IRiskGuard.Reading)
    r.spot, r.updated_at = oracle._try_latest(feed, FEED_DECIMALS)
    r.fresh = r.spot != 0 and block.timestamp - r.updated_at <= p.oracle_heartbeat
    r.twap, r.pool_spot, r.depth = self._pool(p.twap_window)
    return r


@internal
def _read(p: Params) -> IRiskGuard.Reading:
    """
    @dev The reading of this transaction. Cached only when the hedger asks
         (directly or through `poke`): an outside contract cannot seed the
         cache and then move the pool before a hedge checks it.
    """
    if self._tx_read:
        return self._tx_reading
    r: IRiskGuard.Reading = self._measure_reading(p)
    if msg.sender == staticcall IVault(vault).hedger():
        self._tx_reading = r
        self._tx_read = True
    return r


@external
def read() -> IRiskGuard.Reading:
    """
    @notice The oracle and the pool, measured once per transaction for the
            hedger (its later calls in the same transaction get the same
            reading); anyone else gets a fresh measurement, nothing cached.
            Off-chain, eth_call it for the live reading.
    @return The reading (see `IRiskGuard.Reading`).
    """
    return self._read(self._load_params())


@view
@external
@reentrant
def quick() -> (uint256, bool, uint8):
    """
    @notice The cheap check for deposits: (oracle spot wad, oracle fresh,
            level as last measured). No pool read, nothing persisted.
    @return (spot, fresh, level)
    """
    spot: uint256 = 0
    updated: uint256 = 0
    if self._tx_read:
        spot = self._tx_reading.spot
        updated = self._tx_reading.updated_at
    else:
        spot, updated = oracle._try_latest(feed, FEED_DECIMALS)
    fresh: bool = spot != 0 and block.timestamp - updated <= self._p_oracle & M32
    return spot, fresh, convert(self._state & 255, uint8)


@view
@external
@reentrant
def exit_check() -> (uint256, bool):
    """
    @notice What a withdrawal needs, in one call: (the feed's latest answer in
            wad, 0 if unreadable; whether the guardian's halt holds).
    @return (spot, halted)
    """
    spot: uint256 = 0
    updated: uint256 = 0
    spot, updated = oracle._try_latest(feed, FEED_DECIMALS)
    x: uint256 = self._state
    if x & 255 != convert(c.HALTED, uint256):
        return spot, False  # the common case: one slot read
    st: State = self._load_state()
    return spot, st.guardian_floor == c.HALTED and block.timestamp < self._halt >> 128


@view
@external
def settlement_price(round_id: uint80, expiry: uint256) -> uint256:
    """
    @notice The settlement price of an expiry: round `round_id` must be the
            first round updated at or after `expiry` (checked, so nobody can
            pick a better one). Reverts with the reason otherwise.
    @param round_id The feed's round id.
    @param expiry Unix time of the expiry.
    @return Price in wad USD per underlying.
    """
    return oracle._first_after(feed, FEED_DECIMALS, round_id, expiry)


# ---------------------------------------------------------------- measuring

@pure
@internal
def _name(i: uint256) -> String[24]:
    if i == ORACLE_STALE:
        return "oracle_stale"
    if i == ORACLE_DEX_DEVIATION:
        return "oracle_dex_deviation"
    if i == SPOT_MOVE:
        return "spot_move"
    if i == NAV_DRAWDOWN:
        return "nav_drawdown"
    if i == MARKS_STALE:
        return "marks_stale"
    return "thin_liquidity"


@pure
@internal
def _threshold(p: Params, i: uint256) -> uint256:
    if i == ORACLE_STALE:
        return p.oracle_heartbeat
    if i == ORACLE_DEX_DEVIATION:
        return p.max_deviation
    if i == SPOT_MOVE:
        return p.max_spot_move
    if i == NAV_DRAWDOWN:
        return p.max_drawdown
    if i == THIN_LIQUIDITY:
        return p.min_pool_depth
    return 0


@pure
@internal
def _rel_diff(a: uint256, ref: uint256) -> uint256:
    if a > ref:
        return (a - ref) * WAD // ref
    return (ref - a) * WAD // ref


@view
@internal
def _measure(p: Params, st: State, r: IRiskGuard.Reading, nav: uint256, supply: uint256, fresh: bool) -> Measured:
    """
    @dev Every breaker's condition now, from the reading and the vault's NAV
         (asset units), share supply and freshness of the book's aggregates.
    """
    m: Measured = empty(Measured)
    m.spot = r.spot
    t: uint256 = block.timestamp

    if r.spot == 0:
        m.bits |= 1 << ORACLE_STALE
        m.values[ORACLE_STALE] = max_value(uint256)
    else:
        m.values[ORACLE_STALE] = t - r.updated_at
        if not r.fresh:
            m.bits |= 1 << ORACLE_STALE

    if r.twap != 0 and r.spot != 0:
        m.values[ORACLE_DEX_DEVIATION] = self._rel_diff(r.twap, r.spot)
        if m.values[ORACLE_DEX_DEVIATION] > p.max_deviation:
            m.bits |= 1 << ORACLE_DEX_DEVIATION
    else:
        m.bits |= 1 << ORACLE_DEX_DEVIATION
        m.values[ORACLE_DEX_DEVIATION] = max_value(uint256)

    if r.spot != 0:
        # against this window's anchor and the previous one, each only while recent
        move: uint256 = 0
        w: uint256 = p.spot_move_window
        if st.spot_anchor != 0 and t < st.spot_anchor_time + 2 * w:
            move = self._rel_diff(r.spot, st.spot_anchor)
        if st.spot_prev_anchor != 0 and t < st.spot_anchor_time + w:
            move = max(move, self._rel_diff(r.spot, st.spot_prev_anchor))
        m.values[SPOT_MOVE] = move
        if move > p.max_spot_move:
            m.bits |= 1 << SPOT_MOVE

    if not fresh:
        m.bits |= 1 << MARKS_STALE
        m.values[MARKS_STALE] = 1
    else:
        # NAV per share only from a fresh NAV (a conservative NAV is no peak)
        m.pps = (nav + c.VIRTUAL_ASSETS) * WAD * ASSET_SCALE // (supply + c.VIRTUAL_SHARES)
        peak: uint256 = 0
        w: uint256 = p.drawdown_window
        if t < st.pps_bucket_start + 2 * w:
            peak = st.pps_peak
        if t < st.pps_bucket_start + w:
            peak = max(peak, st.pps_prev_peak)
        if peak > m.pps:
            m.values[NAV_DRAWDOWN] = (peak - m.pps) * WAD // peak
            if m.values[NAV_DRAWDOWN] > p.max_drawdown:
                m.bits |= 1 << NAV_DRAWDOWN
    if nav != 0:
        nav_wad: uint256 = nav * ASSET_SCALE
        m.values[THIN_LIQUIDITY] = r.depth * WAD // nav_wad
        if r.depth * WAD < p.min_pool_depth * nav_wad:
            m.bits |= 1 << THIN_LIQUIDITY
    return m


@view
@internal
def _roll_anchors(st: State, p: Params, m: Measured) -> State:
    t: uint256 = block.timestamp
    out: State = st
    if m.spot != 0:
        w: uint256 = p.spot_move_window
        if st.spot_anchor == 0 or t >= st.spot_anchor_time + w:
            # the old anchor still counts for one more window if it is recent
            if st.spot_anchor != 0 and t < st.spot_anchor_time + 2 * w:
                out.spot_prev_anchor = st.spot_anchor
            else:
                out.spot_prev_anchor = m.spot
            out.spot_anchor = m.spot
            out.spot_anchor_time = t
    if m.pps != 0:
        w: uint256 = p.drawdown_window
        if st.pps_peak == 0 or t >= st.pps_bucket_start + w:
            if st.pps_peak != 0 and t < st.pps_bucket_start + 2 * w:
                out.pps_prev_peak = st.pps_peak
            else:
                out.pps_prev_peak = m.pps
            out.pps_peak = m.pps
            out.pps_bucket_start = t
        elif m.pps > st.pps_peak:
            out.pps_peak = m.pps
    return out


@internal
def _set_level(st: State, new: uint8) -> State:
    out: State = st
    if new != st.level:
        if st.level == c.HALTED:
            self._spend_halt(min(block.timestamp, self._halt >> 128) - st.level_since)
        if new == c.HALTED:
            # the halt's end is fixed now, from the budget left now: it cannot
            # come back when a new epoch refills the budget
            self._halt = (self._halt & M128) | ((block.timestamp + self._halt_left()) << 128)
        out.level = new
        out.level_since = block.timestamp
        log IRiskGuard.LevelChanged(previous=st.level, level=new, by=msg.sender)
    return out


@pure
@internal
def _target(st: State) -> uint8:
    target: uint8 = st.guardian_floor
    for i: uint256 in range(N_BREAKERS):
        if st.latched & (1 << i) != 0:
            target = max(target, LEVELS[i])
    return target


@view
@internal
def _halt_left() -> uint256:
    """
    @dev Seconds of guardian halt left in the current epoch.
    """
    h: uint256 = self._halt
    if block.timestamp >= ((h >> 64) & M64) + c.HALT_EPOCH:
        return c.MAX_HALT
    return c.MAX_HALT - min(h & M64, c.MAX_HALT)


@internal
def _spend_halt(seconds: uint256):
    h: uint256 = self._halt
    spent: uint256 = h & M64
    start: uint256 = (h >> 64) & M64
    if block.timestamp >= start + c.HALT_EPOCH:
        spent = 0
        start = block.timestamp
    self._halt = min(spent + seconds, c.MAX_HALT) | (start << 64)


@internal
def _apply(m: Measured, p: Params, st_: State, step_now: bool) -> uint8:
    """
    @dev Latch / clear breakers from a measurement, then move the level: down
         to the target at once; up one step once `cooldown` has passed since
         the last change (or at once when `step_now`, the guardian's reset).
    """
    t: uint256 = block.timestamp
    st: State = st_
    cd: uint256 = p.cooldown
    bits: uint256 = st.latched
    for i: uint256 in range(N_BREAKERS):
        bit: uint256 = 1 << i
        if m.bits & bit != 0:
            if self.last_seen[i] != t:
                self.last_seen[i] = t
            if bits & bit == 0:
                bits |= bit
                log IRiskGuard.BreakerTripped(breaker=i, name=self._name(i), value=m.values[i], threshold=self._threshold(p, i))
        elif bits & bit != 0 and t >= self.last_seen[i] + cd:
            bits &= ~bit
            log IRiskGuard.BreakerReset(breaker=i, name=self._name(i))
    st.latched = bits
    st = self._roll_anchors(st, p, m)

    current: uint8 = st.level
    if current == c.HALTED and st.guardian_floor == c.HALTED and t >= self._halt >> 128:
        # the halt budget is spent: the vault falls back to withdraw-only
        st.guardian_floor = c.WITHDRAW_ONLY
    target: uint8 = self._target(st)
    if target > current:
        st = self._set_level(st, target)
    elif target < current and (step_now or current == c.HALTED or t >= st.level_since + cd):
        st = self._set_level(st, current - 1)
    self._store_state(st)
    return st.level


@view
@internal
def _nav_status() -> IVault.NavStatus:
    nav: uint256 = 0
    fresh: bool = False
    nav, fresh = staticcall IVault(vault).nav_quick()
    return IVault.NavStatus(nav=nav, margin=0, fresh=fresh)


@external
def poke() -> uint8:
    """
    @notice Anyone: measure every breaker, persist trips and resets, move the
            level. The market and the hedger call it on every sale and trade.
    @return The level after the measurement (0 normal .. 3 halted).
    """
    p: Params = self._load_params()
    st: State = self._load_state()
    r: IRiskGuard.Reading = self._read(p)
    ns: IVault.NavStatus = self._nav_status()
    supply: uint256 = staticcall IVault(vault).totalSupply()
    return self._apply(self._measure(p, st, r, ns.nav, supply, ns.fresh), p, st, False)


@view
@external
def conditions() -> uint256:
    """
    @notice Bitmask of the breaker conditions that hold right now (bit i =
            `breaker_name(i)`), measured live; nothing persisted.
    @return The bitmask.
    """
    p: Params = self._load_params()
    st: State = self._load_state()
    ns: IVault.NavStatus = self._nav_status()
    supply: uint256 = staticcall IVault(vault).totalSupply()
    return self._measure(p, st, self._measure_reading(p), ns.nav, supply, ns.fresh).bits


@view
@external
def breaker_name(i: uint256) -> String[24]:
    """
    @notice The name of breaker `i`, as in the module notice's table and the
            BreakerTripped / BreakerReset events: 0 oracle_stale,
            1 oracle_dex_deviation, 2 spot_move, 3 nav_drawdown, 4 marks_stale,
            5 thin_liquidity. Reverts "guard: no such breaker" above 5.
    @param i Breaker index 0..5.
    @return Its name.
    """
    assert i < N_BREAKERS, "guard: no such breaker"
    return self._name(i)


# ---------------------------------------------------------------- sale limits and the budget

@view
@internal
def _effective_budget() -> uint256:
    b: uint256 = self._budget
    target: uint256 = b & M64
    base: uint256 = (b >> 64) & M64
    pb: uint256 = self._p_budget
    if target > base:
        rate: uint256 = (pb >> 64) & M64
        target = min(target, base + rate * (block.timestamp - (b >> 128)) // 3_600)
    return max(target, pb & M64)


@view
@external
@reentrant
def risk_budget() -> uint256:
    """
    @notice The effective risk budget now (wad, in [budget_floor, 1]).
    @return The budget that scales the sale limits and the hedge band.
    """
    return self._effective_budget()


@view
@external
def budget_target() -> uint256:
    """
    @notice The keeper's last posted target (wad).
    @return The target the budget moves toward.
    """
    return self._budget & M64


@external
def post_risk_budget(target: uint256):
    """
    @notice Keeper: post a risk budget target in [budget_floor, 1] (wad).
            Lower than now: applies at once. Higher: approached at
            `budget_rate` per hour from the effective value now.
    @param target The new target, wad.
    """
    assert msg.sender == staticcall IVault(vault).keeper(), "guard: caller is not the keeper"
    assert target >= self._p_budget & M64 and target <= WAD, "guard: risk budget out of bounds"
    now_b: uint256 = self._effective_budget()
    base: uint256 = min(now_b, target)
    self._budget = target | (base << 64) | (block.timestamp << 128)
    log IRiskGuard.RiskBudgetPosted(keeper=msg.sender, target=target, effective=base)


@view
@internal
def _limit(offset: uint256) -> uint256:
    """
    @dev One of the four budget-scaled limits (wad fraction of NAV), scaled.
    """
    return ((self._p_limits >> offset) & M64) * self._effective_budget() // WAD


@view
@external
@reentrant
def band() -> uint256:
    """
    @notice The hedge band now: |net delta| x spot <= band x NAV (wad), the
            owner's `delta_band` scaled by the risk budget.
    @return The band, wad fraction of NAV.
    """
    return self._limit(192)


@view
@external
def check_sale(spot: uint256) -> bool:
    """
    @notice Reverts naming the sale limit the book now breaks, with the
            budget-scaled limits: stress margin over NAV x max_utilisation,
            net vega over NAV x max_vega_ratio, net cash gamma per 1 % over
            NAV x max_gamma_ratio; or stale aggregates. The market calls it
            after recording a sale.
    @param spot The oracle spot the sale was priced at (wad USD).
    @return True.
    """
    nav_units: uint256 = 0
    v: IOptionBook.Valuation = empty(IOptionBook.Valuation)
    nav_units, v = staticcall IVault(vault).valuation_at(spot)
    assert v.fresh, "guard: marks stale"
    nav: uint256 = nav_units * ASSET_SCALE
    assert v.margin * WAD <= nav * self._limit(0), "guard: stress margin above limit"
    assert v.vega * WAD <= nav * self._limit(64), "guard: net vega above limit"
    assert v.cash_gamma * WAD <= nav * self._limit(128), "guard: net gamma above limit"
    return True


@view
@external
@reentrant
def max_deposit(nav: uint256) -> uint256:
    """
    @notice Asset units a deposit may add to a vault of NAV `nav` under the
            deposit cap.
    @param nav The vault's NAV, asset units.
    @return cap - nav, or 0.
    """
    cap: uint256 = self.deposit_cap
    if nav >= cap:
        return 0
    return cap - nav


# ---------------------------------------------------------------- guardian

@internal
def _only_guardian_or_owner():
    assert msg.sender == staticcall IVault(vault).guardian() or msg.sender == param_timelock._owner(), "guard: caller is not guardian or owner"


@external
def trip(level_: uint8):
    """
    @notice Guardian or owner: move the vault to `level_` at once and hold it
            there until `reset`. Halting (3) draws on the halt budget
            (MAX_HALT seconds per HALT_EPOCH) and refuses once it is spent.
    @param level_ 1 reduce-only, 2 withdraw-only, 3 halted.
    """
    self._only_guardian_or_owner()
    assert level_ >= c.REDUCE_ONLY and level_ <= c.HALTED, "guard: level out of range"
    st: State = self._load_state()
    if level_ == c.HALTED:
        assert st.level == c.HALTED or self._halt_left() != 0, "guard: halt budget spent"
    st.guardian_floor = max(st.guardian_floor, level_)
    if level_ > st.level:
        st = self._set_level(st, level_)
    self._store_state(st)


@external
def reset():
    """
    @notice Guardian or owner: clear the guardian floor and every latch,
            re-measure, and move up one step now (no cooldown). Breakers
            whose condition still holds latch again at once.
    """
    self._only_guardian_or_owner()
    st: State = self._load_state()
    for i: uint256 in range(N_BREAKERS):
        if st.latched & (1 << i) != 0:
            log IRiskGuard.BreakerReset(breaker=i, name=self._name(i))
            self.last_seen[i] = 0
    st.guardian_floor = c.NORMAL
    st.latched = 0
    p: Params = self._load_params()
    ns: IVault.NavStatus = self._nav_status()
    supply: uint256 = staticcall IVault(vault).totalSupply()
    self._apply(self._measure(p, st, self._read(p), ns.nav, supply, ns.fresh), p, st, True)


@view
@external
def halt_left() -> uint256:
    """
    @notice Seconds of guardian halt the current epoch still allows.
    @return Seconds.
    """
    if convert(self._state & 255, uint8) == c.HALTED:
        until: uint256 = self._halt >> 128
        return until - min(until, block.timestamp)
    return self._halt_left()


# ---------------------------------------------------------------- parameters

@internal
def _only_owner():
    assert msg.sender == param_timelock._owner(), "guard: caller is not the owner"


@external
def set_oracle(heartbeat: uint256, max_deviation_: uint256, twap_window_: uint256):
    """
    @notice Owner: the oracle staleness knob, the oracle/DEX deviation knob
            and the pool TWAP window, within their hard bounds.
    @param heartbeat Seconds after which the feed's answer is stale.
    @param max_deviation_ Largest |pool - oracle| / oracle (wad).
    @param twap_window_ Seconds the pool TWAP and depth average over.
    """
    self._only_owner()
    assert heartbeat >= c.MIN_ORACLE_HEARTBEAT and heartbeat <= c.MAX_ORACLE_HEARTBEAT, "guard: oracle_heartbeat out of bounds"
    assert max_deviation_ >= c.MIN_MAX_DEVIATION and max_deviation_ <= c.MAX_MAX_DEVIATION, "guard: max_deviation out of bounds"
    assert twap_window_ >= c.MIN_TWAP_WINDOW and twap_window_ <= c.MAX_TWAP_WINDOW, "guard: twap_window out of bounds"
    p: Params = self._load_params()
    loosens: bool = heartbeat > p.oracle_heartbeat or max_deviation_ > p.max_deviation or twap_window_ < p.twap_window
    if not param_timelock._gate(keccak256(slice(msg.data, 0, 100)), loosens):
        return
    p.oracle_heartbeat = heartbeat
    p.max_deviation = max_deviation_
    p.twap_window = twap_window_
    self._store_params(p)
    param_timelock._log_set("oracle_heartbeat", heartbeat)
    param_timelock._log_set("max_deviation", max_deviation_)
    param_timelock._log_set("twap_window", twap_window_)


@external
def set_breakers(
    max_spot_move_: uint256, spot_move_window_: uint256, max_drawdown_: uint256,
    drawdown_window_: uint256, min_pool_depth_: uint256, cooldown_: uint256,
):
    """
    @notice Owner: the breaker thresholds and windows, within hard bounds.
    @param max_spot_move_ Largest spot move within a window (wad).
    @param spot_move_window_ Seconds per spot anchor.
    @param max_drawdown_ Largest NAV-per-share drop from its peak (wad).
    @param drawdown_window_ Seconds per NAV-per-share peak.
    @param min_pool_depth_ Pool depth per 1 % move as a fraction of NAV (wad).
    @param cooldown_ Seconds a condition must stay clear; seconds per level step.
    """
    self._only_owner()
    assert max_spot_move_ >= c.MIN_MAX_SPOT_MOVE and max_spot_move_ <= c.MAX_MAX_SPOT_MOVE, "guard: max_spot_move out of bounds"
    assert spot_move_window_ >= c.MIN_SPOT_MOVE_WINDOW and spot_move_window_ <= c.MAX_SPOT_MOVE_WINDOW, "guard: spot_move_window out of bounds"
    assert max_drawdown_ >= c.MIN_MAX_DRAWDOWN and max_drawdown_ <= c.MAX_MAX_DRAWDOWN, "guard: max_drawdown out of bounds"
    assert drawdown_window_ >= c.MIN_DRAWDOWN_WINDOW and drawdown_window_ <= c.MAX_DRAWDOWN_WINDOW, "guard: drawdown_window out of bounds"
    assert min_pool_depth_ <= c.MAX_MIN_POOL_DEPTH, "guard: min_pool_depth out of bounds"
    assert cooldown_ >= c.MIN_COOLDOWN and cooldown_ <= c.MAX_COOLDOWN, "guard: cooldown out of bounds"
    p: Params = self._load_params()
    loosens: bool = (
        max_spot_move_ > p.max_spot_move or spot_move_window_ < p.spot_move_window
        or max_drawdown_ > p.max_drawdown or drawdown_window_ < p.drawdown_window
        or min_pool_depth_ < p.min_pool_depth or cooldown_ < p.cooldown
    )
    if not param_timelock._gate(keccak256(slice(msg.data, 0, 196)), loosens):
        return
    p.max_spot_move = max_spot_move_
    p.spot_move_window = spot_move_window_
    p.max_drawdown = max_drawdown_
    p.drawdown_window = drawdown_window_
    p.min_pool_depth = min_pool_depth_
    p.cooldown = cooldown_
    self._store_params(p)
    param_timelock._log_set("max_spot_move", max_spot_move_)
    param_timelock._log_set("spot_move_window", spot_move_window_)
    param_timelock._log_set("max_drawdown", max_drawdown_)
    param_timelock._log_set("drawdown_window", drawdown_window_)
    param_timelock._log_set("min_pool_depth", min_pool_depth_)
    param_timelock._log_set("cooldown", cooldown_)


@external
def set_limits(max_utilisation_: uint256, max_vega_ratio_: uint256, max_gamma_ratio_: uint256, delta_band_: uint256):
    """
    @notice Owner: the sale limits and the hedge band at a full risk budget,
            as wad fractions of NAV, within hard bounds.
    @param max_utilisation_ Stress margin / NAV.
    @param max_vega_ratio_ |net vega per 1.00 vol| / NAV.
    @param max_gamma_ratio_ |net cash gamma per 1 % move| / NAV.
    @param delta_band_ |net delta| x spot / NAV the hedger keeps within.
    """
    self._only_owner()
    assert max_utilisation_ != 0 and max_utilisation_ <= c.MAX_MAX_UTILISATION, "guard: max_utilisation out of bounds"
    assert max_vega_ratio_ != 0 and max_vega_ratio_ <= c.MAX_MAX_VEGA_RATIO, "guard: max_vega_ratio out of bounds"
    assert max_gamma_ratio_ != 0 and max_gamma_ratio_ <= c.MAX_MAX_GAMMA_RATIO, "guard: max_gamma_ratio out of bounds"
    assert delta_band_ <= c.MAX_DELTA_BAND, "guard: delta_band out of bounds"
    old: uint256 = self._p_limits
    loosens: bool = (
        max_utilisation_ > old & M64 or max_vega_ratio_ > (old >> 64) & M64
        or max_gamma_ratio_ > (old >> 128) & M64 or delta_band_ > old >> 192
    )
    if not param_timelock._gate(keccak256(slice(msg.data, 0, 132)), loosens):
        return
    self._p_limits = max_utilisation_ | (max_vega_ratio_ << 64) | (max_gamma_ratio_ << 128) | (delta_band_ << 192)
    param_timelock._log_set("max_utilisation", max_utilisation_)
    param_timelock._log_set("max_vega_ratio", max_vega_ratio_)
    param_timelock._log_set("max_gamma_ratio", max_gamma_ratio_)
    param_timelock._log_set("delta_band", delta_band_)


@external
def set_budget_rules(budget_floor_: uint256, budget_rate_: uint256):
    """
    @notice Owner: the lowest risk budget the keeper may post and how fast a
            higher one is approached (wad per hour).
    @param budget_floor_ Wad in [MIN_BUDGET_FLOOR, 1].
    @param budget_rate_ Wad per hour in [MIN_BUDGET_RATE, MAX_BUDGET_RATE].
    """
    self._only_owner()
    assert budget_floor_ >= c.MIN_BUDGET_FLOOR and budget_floor_ <= WAD, "guard: budget_floor out of bounds"
    assert budget_rate_ >= c.MIN_BUDGET_RATE and budget_rate_ <= c.MAX_BUDGET_RATE, "guard: budget_rate out of bounds"
    old: uint256 = self._p_budget
    # a higher floor or a faster rate lets the keeper take risk sooner
    loosens: bool = budget_floor_ > old & M64 or budget_rate_ > (old >> 64) & M64
    if not param_timelock._gate(keccak256(slice(msg.data, 0, 68)), loosens):
        return
    self._p_budget = budget_floor_ | (budget_rate_ << 64)
    param_timelock._log_set("budget_floor", budget_floor_)
    param_timelock._log_set("budget_rate", budget_rate_)


@external
def set_deposit_cap(cap: uint256):
    """
    @notice Owner: maximum NAV accepted through deposits (asset units),
            bounded by MAX_DEPOSIT_CAP_UNITS whole units.
    @param cap Asset units.
    """
    self._only_owner()
    assert cap <= c.MAX_DEPOSIT_CAP_UNITS * WAD // ASSET_SCALE, "guard: deposit_cap out of bounds"
    if not param_timelock._gate(keccak256(slice(msg.data, 0, 36)), cap > self.deposit_cap):
        return
    self.deposit_cap = cap
    param_timelock._log_set("deposit_cap", cap)


# ---------------------------------------------------------------- getters

@view
@external
@reentrant
def oracle_heartbeat() -> uint256:
    """
    @notice The one oracle staleness knob: the feed's answer is stale once
            older than this. Trips oracle_stale; while stale, deposits, sales,
            vol posts, `update_marks` and hedges are refused. Owner-set with
            `set_oracle`, within [MIN_ORACLE_HEARTBEAT, MAX_ORACLE_HEARTBEAT].
    @return Seconds.
    """
    return self._p_oracle & M32


@view
@external
@reentrant
def twap_window() -> uint256:
    """
    @notice The window the pool TWAP (arithmetic-mean tick) and the pool
            depth (harmonic-mean liquidity) average over. Owner-set with
            `set_oracle`, within [MIN_TWAP_WINDOW, MAX_TWAP_WINDOW].
    @return Seconds.
    """
    return (self._p_oracle >> 32) & M32


@view
@external
@reentrant
def max_deviation() -> uint256:
    """
    @notice The one oracle/DEX deviation knob: oracle_dex_deviation trips
            when |pool TWAP - oracle| > this x oracle; the hedger refuses a
            trade when the TWAP or the pool spot is further than this from the
            oracle. Owner-set with `set_oracle`, within [MIN_MAX_DEVIATION,
            MAX_MAX_DEVIATION].
    @return Wad fraction of the oracle price (1e18 = 100 %).
    """
    return (self._p_oracle >> 64) & M64


@view
@external
def max_spot_move() -> uint256:
    """
    @notice spot_move trips when |spot - anchor| > this x anchor, against the
            current and the previous spot anchor while each is recent.
            Owner-set with `set_breakers`, within [MIN_MAX_SPOT_MOVE,
            MAX_MAX_SPOT_MOVE].
    @return Wad fraction of the anchor (1e18 = 100 %).
    """
    return self._load_params().max_spot_move


@view
@external
def spot_move_window() -> uint256:
    """
    @notice A new spot anchor is taken at the first measurement a window or
            more after the last one; an anchor counts for spot_move until two
            windows after it was taken. Owner-set with `set_breakers`, within
            [MIN_SPOT_MOVE_WINDOW, MAX_SPOT_MOVE_WINDOW].
    @return Seconds.
    """
    return self._load_params().spot_move_window


@view
@external
def max_drawdown() -> uint256:
    """
    @notice nav_drawdown trips when NAV per share (fresh NAV only) is below
            its peak over `drawdown_window` by more than this fraction of the
            peak. Owner-set with `set_breakers`, within [MIN_MAX_DRAWDOWN,
            MAX_MAX_DRAWDOWN].
    @return Wad fraction of the peak (1e18 = 100 %).
    """
    return self._load_params().max_drawdown


@view
@external
def drawdown_window() -> uint256:
    """
    @notice The NAV-per-share peak restarts once per this window; the
            previous peak counts for one more window. Owner-set with
            `set_breakers`, within [MIN_DRAWDOWN_WINDOW, MAX_DRAWDOWN_WINDOW].
    @return Seconds.
    """
    return self._load_params().drawdown_window


@view
@external
def min_pool_depth() -> uint256:
    """
    @notice thin_liquidity trips when the pool's depth (USD of quote that
            moves its price 1 %, over `twap_window`) is below this fraction of
            NAV. Owner-set with `set_breakers`, at most MAX_MIN_POOL_DEPTH
            (0 disables the breaker).
    @return Wad fraction of NAV (1e18 = 100 %).
    """
    return self._load_params().min_pool_depth


@view
@external
def cooldown() -> uint256:
    """
    @notice How long a breaker's condition must stay clear before its latch
            clears, and the least time between two one-level steps back
            toward normal (a worse level applies at once, and leaving halted
            needs no wait). Owner-set with `set_breakers`, within
            [MIN_COOLDOWN, MAX_COOLDOWN].
    @return Seconds.
    """
    return self._load_params().cooldown


@view
@external
def max_utilisation() -> uint256:
    """
    @notice Sale limit at a full risk budget: stress margin (worst stress-grid
            loss net of the hedge) <= NAV x this x the budget, checked by
            `check_sale` ("guard: stress margin above limit"). Owner-set with
            `set_limits`, in (0, MAX_MAX_UTILISATION].
    @return Wad fraction of NAV (1e18 = 100 %).
    """
    return self._p_limits & M64


@view
@external
def max_vega_ratio() -> uint256:
    """
    @notice Sale limit at a full risk budget: net vega per 1.00 of vol <= NAV
            x this x the budget, checked by `check_sale` ("guard: net vega
            above limit"). Owner-set with `set_limits`, in
            (0, MAX_MAX_VEGA_RATIO].
    @return Wad fraction of NAV (1e18 = 100 %).
    """
    return (self._p_limits >> 64) & M64


@view
@external
def max_gamma_ratio() -> uint256:
    """
    @notice Sale limit at a full risk budget: net cash gamma per 1 % move
            <= NAV x this x the budget, checked by `check_sale` ("guard: net
            gamma above limit"). Owner-set with `set_limits`, in
            (0, MAX_MAX_GAMMA_RATIO].
    @return Wad fraction of NAV (1e18 = 100 %).
    """
    return (self._p_limits >> 128) & M64


@view
@external
def delta_band() -> uint256:
    """
    @notice The hedge band at a full risk budget: |net delta| x spot <= this
            x NAV after a trade at level normal (or |delta| shrank); `band()`
            is this scaled by the budget. Owner-set with `set_limits`, at most
            MAX_DELTA_BAND.
    @return Wad fraction of NAV (1e18 = 100 %).
    """
    return self._p_limits >> 192


@view
@external
def budget_floor() -> uint256:
    """
    @notice The lowest risk budget the keeper may post, and the least the
            effective budget can be. Owner-set with `set_budget_rules`, within
            [MIN_BUDGET_FLOOR, 1e18].
    @return Wad (1e18 = a full budget).
    """
    return self._p_budget & M64


@view
@external
def budget_rate() -> uint256:
    """
    @notice How fast the effective risk budget rises toward a higher posted
            target (a lower one applies at once). Owner-set with
            `set_budget_rules`, within [MIN_BUDGET_RATE, MAX_BUDGET_RATE].
    @return Wad of budget per hour.
    """
    return (self._p_budget >> 64) & M64


@view
@external
@reentrant
def level() -> uint8:
    """
    @notice 0 normal, 1 reduce-only, 2 withdraw-only, 3 halted (as of the
            last measurement; `conditions()` is the live view).
    @return The level, 0..3.
    """
    return self._load_state().level


@view
@external
def level_since() -> uint256:
    """
    @notice When the level last changed (the cooldown before the next step
            toward normal and the guardian's halt time run from here).
    @return Unix time, seconds.
    """
    return self._load_state().level_since


@view
@external
def guardian_floor() -> uint8:
    """
    @notice The level the guardian's (or owner's) `trip` holds the vault at,
            whatever the breakers say; 0 when none. `reset` clears it; a halt
            (3) falls back to 2 once the halt budget is spent.
    @return A level, 0..3.
    """
    return self._load_state().guardian_floor


@view
@external
def latched() -> uint256:
    """
    @notice Bitmask of latched breakers (bit i = `breaker_name(i)`).
    @return The bitmask, bits 0..5.
    """
    return self._load_state().latched


@view
@external
def anchors() -> (uint256, uint256, uint256, uint256, uint256, uint256):
    """
    @notice The breakers' memory: (spot anchor, previous spot anchor, anchor
            time, NAV-per-share peak, previous peak, peak window start).
    @return Wad prices and NAV per share, unix times.
    """
    st: State = self._load_state()
    return st.spot_anchor, st.spot_prev_anchor, st.spot_anchor_time, st.pps_peak, st.pps_prev_peak, st.pps_bucket_start
