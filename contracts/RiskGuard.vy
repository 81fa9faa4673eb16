# pragma version 0.4.3
# pragma nonreentrancy on
"""
@title Ballast RiskGuard: circuit breakers and the vault's graduated state
@notice Six named breakers watch the market, the oracle and the vault:

          breaker               trips when                                   sends to
          oracle_stale          feed answer older than `oracle_stale_after`  withdraw-only
                                (or unreadable / non-positive)
          oracle_dex_deviation  |pool TWAP - oracle| > `max_oracle_dex_deviation`
                                x oracle (or the pool unreadable)            reduce-only
          spot_move             |spot - spot anchor| > `max_spot_move` x
                                anchor, anchors taken each `spot_move_window` reduce-only
          nav_drawdown          NAV per share below its peak over
                                `drawdown_window` by > `max_drawdown`        withdraw-only
          marks_stale           the book refuses its marks cache (age/drift),
                                seen as the vault's NAV being unreadable   reduce-only
          thin_liquidity        pool depth for a 1 % move (harmonic-mean
                                liquidity over the TWAP window, from the
                                hedger) < `min_pool_depth` x NAV             reduce-only

        Levels (graduated, DESIGN.md): 0 normal, 1 reduce-only (no sales, no
        deposits, hedges may only shrink |delta|), 2 withdraw-only (as 1, and
        the keeper may only close the hedge), 3 halted (guardian only; nothing
        moves, withdrawals included, for at most `MAX_HALT`, after which it
        falls back to withdraw-only by itself). Withdrawals stay open below
        halted wherever the marks are fresh (the vault needs them for NAV).

        The vault, the option market and the hedger call in on every
        state-changing entry point (`poke()` / `vault_check()`), and anyone may
        `poke()`: each call measures every breaker, latches the ones whose
        condition holds (event `BreakerTripped`), clears a latch once its
        condition has been clear for `cooldown` seconds (`BreakerReset`), and
        moves the level: down at once to the worst latched breaker, up one
        step per `cooldown` once the latches allow it (`LevelChanged`). The
        guardian (or owner) may `trip(level)` at once and `reset()`, which
        clears the latches and the guardian floor and moves up one step
        without waiting. A call that reverts (a refused deposit) does not
        persist its measurement; `poke()` always does.

        Parameters: owner only, inside hard bounds written as constants;
        loosening changes wait `param_timelock.DELAY`, tightening ones apply
        at once. Units: fractions in wad (1e18 = 100 %), times in seconds.
@custom:kill The guardian calls `trip(3)` (halted); the vault's `shutdown()`
        remains the one-way exit.
"""

import oracle
import param_timelock

initializes: param_timelock
exports: param_timelock.queued


interface IVault:
    def owner() -> address: view
    def guardian() -> address: view
    def asset() -> address: view


interface IHedger:
    def vault() -> address: view
    def feed() -> address: view


interface IERC20Detailed:
    def decimals() -> uint8: view


event BreakerTripped:
    breaker: indexed(uint256)
    name: String[24]
    value: uint256
    threshold: uint256

event BreakerReset:
    breaker: indexed(uint256)
    name: String[24]

event LevelChanged:
    previous: uint8
    level: uint8
    by: indexed(address)

event ParameterSet:
    name: String[32]
    value: uint256


NORMAL: public(constant(uint8)) = 0
REDUCE_ONLY: public(constant(uint8)) = 1
WITHDRAW_ONLY: public(constant(uint8)) = 2
HALTED: public(constant(uint8)) = 3

N_BREAKERS: constant(uint256) = 6
ORACLE_STALE: constant(uint256) = 0
ORACLE_DEX_DEVIATION: constant(uint256) = 1
SPOT_MOVE: constant(uint256) = 2
NAV_DRAWDOWN: constant(uint256) = 3
MARKS_STALE: constant(uint256) = 4
THIN_LIQUIDITY: constant(uint256) = 5
# The level each breaker sends the vault to.
LEVELS: constant(uint8[N_BREAKERS]) = [2, 1, 1, 2, 1, 1]

WAD: constant(uint256) = 10**18
VIRTUAL_SHARES: constant(uint256) = 10**6   # the vault's share offset
MAX_HALT: public(constant(uint256)) = 3 * 86_400

# Hard bounds.
MIN_STALE_AFTER: constant(uint256) = 60
MAX_STALE_AFTER: constant(uint256) = 86_400
MAX_DEVIATION_BOUND: constant(uint256) = 2 * 10**17      # 20 %
MIN_SPOT_MOVE: constant(uint256) = 10**16                # 1 %
MAX_SPOT_MOVE: constant(uint256) = 5 * 10**17            # 50 %
MIN_SPOT_WINDOW: constant(uint256) = 300
MAX_SPOT_WINDOW: constant(uint256) = 86_400
MIN_DRAWDOWN: constant(uint256) = 10**16                 # 1 %
MAX_DRAWDOWN: constant(uint256) = 5 * 10**17             # 50 %
MIN_DRAWDOWN_WINDOW: constant(uint256) = 3_600
MAX_DRAWDOWN_WINDOW: constant(uint256) = 7 * 86_400
MAX_MIN_POOL_DEPTH: constant(uint256) = 10**18           # 100 % of NAV
MIN_COOLDOWN: constant(uint256) = 300
MAX_COOLDOWN: constant(uint256) = 7 * 86_400

vault: public(immutable(address))
hedger: public(immutable(address))
feed: public(immutable(address))
FEED_DECIMALS: immutable(uint8)
ASSET_SCALE: immutable(uint256)

# Storage is packed: a measurement reads five slots, not twenty. Every field
# keeps a public getter of its own name (below, under "getters").
# _params_a: oracle_stale_after | spot_move_window | drawdown_window | cooldown
#            (32 bits each) | max_oracle_dex_deviation | max_spot_move (64 each)
# _params_b: max_drawdown | min_pool_depth (64 bits each)
# _state:    level (8) | guardian_floor (8) | latched (8) | level_since (64) |
#            spot_anchor_time (64) | pps_bucket_start (64)
# _spot_anchors: spot_anchor | spot_prev_anchor (128 bits each)
# _pps_peaks:    pps_peak | pps_prev_peak (128 bits each)
_params_a: uint256
_params_b: uint256
_state: uint256
_spot_anchors: uint256
_pps_peaks: uint256
last_seen: public(uint256[N_BREAKERS])         # last time each condition held

M32: constant(uint256) = 2**32 - 1
M64: constant(uint256) = 2**64 - 1
M128: constant(uint256) = 2**128 - 1


struct Params:
    oracle_stale_after: uint256
    max_oracle_dex_deviation: uint256
    max_spot_move: uint256
    spot_move_window: uint256
    max_drawdown: uint256
    drawdown_window: uint256
    min_pool_depth: uint256
    cooldown: uint256


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


struct Reading:
    bits: uint256           # conditions that hold now
    spot: uint256           # oracle spot (wad), 0 if unreadable
    pps: uint256            # NAV per share (wad), 0 if unknown
    values: uint256[N_BREAKERS]


@deploy
def __init__(vault_: address, hedger_: address):
    """
    @dev The feed and the asset's decimals come from the hedger and the vault,
         so the guard measures exactly what they use.
    """
    assert vault_.is_contract, "guard: vault not a contract"
    assert hedger_.is_contract, "guard: hedger not a contract"
    assert staticcall IHedger(hedger_).vault() == vault_, "guard: hedger serves another vault"
    vault = vault_
    hedger = hedger_
    feed = staticcall IHedger(hedger_).feed()
    FEED_DECIMALS = oracle._feed_decimals(feed)
    asset_decimals: uint8 = staticcall IERC20Detailed(staticcall IVault(vault_).asset()).decimals()
    ASSET_SCALE = 10 ** convert(18 - asset_decimals, uint256)
    self._store_params(Params(
        oracle_stale_after=3_600,                    # Rysk STALE_PRICE_DELAY
        max_oracle_dex_deviation=3 * 10**16,         # 3 % (hedges need 1.5 %)
        max_spot_move=10**17,                        # 10 % ...
        spot_move_window=3_600,                      # ... within about an hour
        max_drawdown=10**17,                         # 10 % NAV/share ...
        drawdown_window=86_400,                      # ... below its 1-day peak
        min_pool_depth=10**16,                       # 1 % of NAV (Lyra liquidityCB)
        cooldown=3_600,
    ))
    st: State = empty(State)
    st.level_since = block.timestamp
    self._store_state(st)


# ---------------------------------------------------------------- packing

@view
@internal
def _load_params() -> Params:
    a: uint256 = self._params_a
    b: uint256 = self._params_b
    return Params(
        oracle_stale_after=a & M32,
        max_oracle_dex_deviation=(a >> 128) & M64,
        max_spot_move=a >> 192,
        spot_move_window=(a >> 32) & M32,
        max_drawdown=b & M64,
        drawdown_window=(a >> 64) & M32,
        min_pool_depth=(b >> 64) & M64,
        cooldown=(a >> 96) & M32,
    )


@internal
def _store_params(p: Params):
    # every field is inside its hard bound, which fits its width
    self._params_a = (
        p.oracle_stale_after | (p.spot_move_window << 32) | (p.drawdown_window << 64)
        | (p.cooldown << 96) | (p.max_oracle_dex_deviation << 128) | (p.max_spot_move << 192)
    )
    self._params_b = p.max_drawdown | (p.min_pool_depth << 64)


@view
@internal
def _load_state() -> State:
    x: uint256 = self._state
    a: uint256 = self._spot_anchors
    b: uint256 = self._pps_peaks
    return State(
        level=convert(x & 255, uint8),
        guardian_floor=convert((x >> 8) & 255, uint8),
        latched=(x >> 16) & 255,
        level_since=(x >> 24) & M64,
        spot_anchor_time=(x >> 88) & M64,
        pps_bucket_start=(x >> 152) & M64,
        spot_anchor=a & M128,
        spot_prev_anchor=a >> 128,
        pps_peak=b & M128,
        pps_prev_peak=b >> 128,
    )


@internal
def _store_state(st: State):
    self._state = (
        convert(st.level, uint256) | (convert(st.guardian_floor, uint256) << 8) | (st.latched << 16)
        | (st.level_since << 24) | (st.spot_anchor_time << 88) | (st.pps_bucket_start << 152)
    )
    self._spot_anchors = min(st.spot_anchor, M128) | (min(st.spot_prev_anchor, M128) << 128)
    self._pps_peaks = min(st.pps_peak, M128) | (min(st.pps_prev_peak, M128) << 128)


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
    """
    @dev The parameter breaker `i` compares with (marks_stale has none).
    """
    if i == ORACLE_STALE:
        return p.oracle_stale_after
    if i == ORACLE_DEX_DEVIATION:
        return p.max_oracle_dex_deviation
    if i == SPOT_MOVE:
        return p.max_spot_move
    if i == NAV_DRAWDOWN:
        return p.max_drawdown
    if i == THIN_LIQUIDITY:
        return p.min_pool_depth
    return 0


@view
@internal
def _oracle_reading() -> (bool, uint256, uint256):
    """
    @dev (readable, spot wad, updatedAt) without reverting.
    """
    ok: bool = False
    resp: Bytes[160] = b""
    ok, resp = raw_call(feed, method_id("latestRoundData()"), max_outsize=160, is_static_call=True, revert_on_failure=False)
    if not ok or len(resp) != 160:
        return False, 0, 0
    round_id: uint80 = 0
    answer: int256 = 0
    started: uint256 = 0
    updated: uint256 = 0
    answered: uint80 = 0
    round_id, answer, started, updated, answered = abi_decode(resp, (uint80, int256, uint256, uint256, uint80))
    if answer <= 0 or updated > block.timestamp:
        return False, 0, 0
    return True, oracle._to_wad(answer, FEED_DECIMALS), updated


@view
@internal
def _try_uint(target: address, data: Bytes[4]) -> (bool, uint256):
    ok: bool = False
    resp: Bytes[32] = b""
    ok, resp = raw_call(target, data, max_outsize=32, is_static_call=True, revert_on_failure=False)
    if not ok or len(resp) != 32:
        return False, 0
    return True, abi_decode(resp, uint256)


@view
@internal
def _rel_diff(a: uint256, ref: uint256) -> uint256:
    """
    @dev |a - ref| / ref in wad (ref > 0).
    """
    if a > ref:
        return (a - ref) * WAD // ref
    return (ref - a) * WAD // ref


@view
@internal
def _measure(p: Params, st: State, have_nav: bool, nav_: uint256, supply_: uint256) -> Reading:
    """
    @dev Every breaker's condition now. NAV in asset units; `have_nav` =
         the caller (the vault) passed NAV and supply.
    """
    r: Reading = empty(Reading)
    t: uint256 = block.timestamp

    # oracle_stale
    ok: bool = False
    updated: uint256 = 0
    ok, r.spot, updated = self._oracle_reading()
    if not ok:
        r.bits |= 1 << ORACLE_STALE
        r.values[ORACLE_STALE] = max_value(uint256)
    else:
        r.values[ORACLE_STALE] = t - updated
        if t - updated > p.oracle_stale_after:
            r.bits |= 1 << ORACLE_STALE

    # oracle_dex_deviation: the hedger reads the pool's TWAP (and its depth,
    # for thin_liquidity below) from one `observe`
    resp: Bytes[64] = b""
    ok, resp = raw_call(hedger, method_id("pool_readings()"), max_outsize=64, is_static_call=True, revert_on_failure=False)
    pool_ok: bool = ok and len(resp) == 64
    twap: uint256 = 0
    depth: uint256 = 0
    if pool_ok:
        twap, depth = abi_decode(resp, (uint256, uint256))
    if pool_ok and r.spot != 0:
        r.values[ORACLE_DEX_DEVIATION] = self._rel_diff(twap, r.spot)
        if r.values[ORACLE_DEX_DEVIATION] > p.max_oracle_dex_deviation:
            r.bits |= 1 << ORACLE_DEX_DEVIATION
    else:
        r.bits |= 1 << ORACLE_DEX_DEVIATION
        r.values[ORACLE_DEX_DEVIATION] = max_value(uint256)

    # spot_move: against this window's anchor and the previous one, each
    # only while it is recent (an anchor from days ago says nothing)
    if r.spot != 0:
        move: uint256 = 0
        w: uint256 = p.spot_move_window
        start: uint256 = st.spot_anchor_time
        a: uint256 = st.spot_anchor
        if a != 0 and t < start + 2 * w:
            move = self._rel_diff(r.spot, a)
        a = st.spot_prev_anchor
        if a != 0 and t < start + w:
            move = max(move, self._rel_diff(r.spot, a))
        r.values[SPOT_MOVE] = move
        if move > p.max_spot_move:
            r.bits |= 1 << SPOT_MOVE

    # marks_stale: the vault's NAV reads the book's liability, which refuses
    # stale or drifted marks; so NAV unreadable <=> marks refused (one call
    # instead of two). The vault passes NAV it has just computed.
    nav: uint256 = nav_
    supply: uint256 = supply_
    known: bool = have_nav
    if not known:
        ok, nav = self._try_uint(vault, method_id("totalAssets()"))
        if not ok:
            r.bits |= 1 << MARKS_STALE
            r.values[MARKS_STALE] = 1
        else:
            ok, supply = self._try_uint(vault, method_id("totalSupply()"))
        known = ok
    if known:
        r.pps = (nav + 1) * WAD * ASSET_SCALE // (supply + VIRTUAL_SHARES)
        peak: uint256 = 0
        w: uint256 = p.drawdown_window
        start: uint256 = st.pps_bucket_start
        if t < start + 2 * w:
            peak = st.pps_peak
        if t < start + w:
            peak = max(peak, st.pps_prev_peak)
        if peak > r.pps:
            r.values[NAV_DRAWDOWN] = (peak - r.pps) * WAD // peak
            if r.values[NAV_DRAWDOWN] > p.max_drawdown:
                r.bits |= 1 << NAV_DRAWDOWN
        if nav != 0:
            nav_wad: uint256 = nav * ASSET_SCALE
            r.values[THIN_LIQUIDITY] = depth * WAD // nav_wad
            if not pool_ok or depth * WAD < p.min_pool_depth * nav_wad:
                r.bits |= 1 << THIN_LIQUIDITY
    return r


# ---------------------------------------------------------------- persisting

@view
@internal
def _roll_anchors(st: State, p: Params, r: Reading) -> State:
    t: uint256 = block.timestamp
    out: State = st
    if r.spot != 0:
        w: uint256 = p.spot_move_window
        if st.spot_anchor == 0 or t >= st.spot_anchor_time + w:
            # the old anchor still counts for one more window if it is recent
            if st.spot_anchor != 0 and t < st.spot_anchor_time + 2 * w:
                out.spot_prev_anchor = st.spot_anchor
            else:
                out.spot_prev_anchor = r.spot
            out.spot_anchor = r.spot
            out.spot_anchor_time = t
    if r.pps != 0:
        w: uint256 = p.drawdown_window
        if st.pps_peak == 0 or t >= st.pps_bucket_start + w:
            if st.pps_peak != 0 and t < st.pps_bucket_start + 2 * w:
                out.pps_prev_peak = st.pps_peak
            else:
                out.pps_prev_peak = r.pps
            out.pps_peak = r.pps
            out.pps_bucket_start = t
        elif r.pps > st.pps_peak:
            out.pps_peak = r.pps
    return out


@internal
def _set_level(st: State, new: uint8) -> State:
    out: State = st
    if new != st.level:
        out.level = new
        out.level_since = block.timestamp
        log LevelChanged(previous=st.level, level=new, by=msg.sender)
    return out


@pure
@internal
def _target(st: State) -> uint8:
    target: uint8 = st.guardian_floor
    for i: uint256 in range(N_BREAKERS):
        if st.latched & (1 << i) != 0:
            target = max(target, LEVELS[i])
    return target


@internal
def _apply(r: Reading, p: Params, st_: State, step_now: bool) -> uint8:
    """
    @dev Latch / clear breakers from a reading, then move the level: down to
         the target at once; up one step once `cooldown` has passed since the
         last change (or at once when `step_now`, the guardian's reset).
    """
    t: uint256 = block.timestamp
    st: State = st_
    cd: uint256 = p.cooldown
    bits: uint256 = st.latched
    for i: uint256 in range(N_BREAKERS):
        bit: uint256 = 1 << i
        if r.bits & bit != 0:
            self.last_seen[i] = t
            if bits & bit == 0:
                bits |= bit
                log BreakerTripped(breaker=i, name=self._name(i), value=r.values[i], threshold=self._threshold(p, i))
        elif bits & bit != 0 and t >= self.last_seen[i] + cd:
            bits &= ~bit
            log BreakerReset(breaker=i, name=self._name(i))
    st.latched = bits
    st = self._roll_anchors(st, p, r)

    current: uint8 = st.level
    if current == HALTED and st.guardian_floor == HALTED and t >= st.level_since + MAX_HALT:
        # a halt cannot lock depositors in for longer than MAX_HALT
        st.guardian_floor = WITHDRAW_ONLY
    target: uint8 = self._target(st)
    if target > current:
        st = self._set_level(st, target)
    elif target < current and (step_now or current == HALTED or t >= st.level_since + cd):
        # (a halt is only lifted by the guardian's reset or by MAX_HALT)
        st = self._set_level(st, current - 1)
    self._store_state(st)
    return st.level


# ---------------------------------------------------------------- entry points

@external
def poke() -> uint8:
    """
    @notice Anyone: measure every breaker, persist trips and resets, move
            the level; returns it. The market and the hedger call this on
            every sale and rebalance.
    """
    p: Params = self._load_params()
    st: State = self._load_state()
    return self._apply(self._measure(p, st, False, 0, 0), p, st, False)


@external
def vault_check(nav: uint256, supply: uint256) -> uint8:
    """
    @notice Vault only: as `poke`, with the NAV (asset units) and share
            supply the vault has just computed (NAV known => marks fresh).
    """
    assert msg.sender == vault, "guard: caller is not the vault"
    p: Params = self._load_params()
    st: State = self._load_state()
    return self._apply(self._measure(p, st, True, nav, supply), p, st, False)


@view
@external
def conditions() -> uint256:
    """
    @notice Bitmask of the breaker conditions that hold right now (bit i =
            breaker i, named by `breaker_name(i)`), without persisting anything.
    """
    return self._measure(self._load_params(), self._load_state(), False, 0, 0).bits


@view
@external
def breaker_name(i: uint256) -> String[24]:
    return self._name(i)


@view
@external
def breaker_level(i: uint256) -> uint8:
    return LEVELS[i]


# ---------------------------------------------------------------- guardian

@internal
def _only_guardian_or_owner():
    assert msg.sender == staticcall IVault(vault).guardian() or msg.sender == staticcall IVault(vault).owner(), "guard: caller is not guardian or owner"


@internal
def _only_owner():
    assert msg.sender == staticcall IVault(vault).owner(), "guard: caller is not the owner"


@external
def trip(level_: uint8):
    """
    @notice Guardian or owner: move the vault to `level_` (1 reduce-only,
            2 withdraw-only, 3 halted) at once and hold it there until `reset`.
    """
    self._only_guardian_or_owner()
    assert level_ >= REDUCE_ONLY and level_ <= HALTED, "guard: level out of range"
    st: State = self._load_state()
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
            log BreakerReset(breaker=i, name=self._name(i))
            self.last_seen[i] = 0
    st.guardian_floor = NORMAL
    st.latched = 0
    p: Params = self._load_params()
    self._apply(self._measure(p, st, False, 0, 0), p, st, True)


# ---------------------------------------------------------------- parameters

@external
def set_breakers(
    oracle_stale_after_: uint256, max_oracle_dex_deviation_: uint256,
    max_spot_move_: uint256, spot_move_window_: uint256,
    max_drawdown_: uint256, drawdown_window_: uint256,
    min_pool_depth_: uint256, cooldown_: uint256,
):
    """
    @notice Owner: every breaker parameter, each within its hard bounds.
            Loosening any of them queues the whole change for the timelock.
    """
    self._only_owner()
    assert oracle_stale_after_ >= MIN_STALE_AFTER and oracle_stale_after_ <= MAX_STALE_AFTER, "guard: oracle_stale_after out of bounds"
    assert max_oracle_dex_deviation_ != 0 and max_oracle_dex_deviation_ <= MAX_DEVIATION_BOUND, "guard: max_oracle_dex_deviation out of bounds"
    assert max_spot_move_ >= MIN_SPOT_MOVE and max_spot_move_ <= MAX_SPOT_MOVE, "guard: max_spot_move out of bounds"
    assert spot_move_window_ >= MIN_SPOT_WINDOW and spot_move_window_ <= MAX_SPOT_WINDOW, "guard: spot_move_window out of bounds"
    assert max_drawdown_ >= MIN_DRAWDOWN and max_drawdown_ <= MAX_DRAWDOWN, "guard: max_drawdown out of bounds"
    assert drawdown_window_ >= MIN_DRAWDOWN_WINDOW and drawdown_window_ <= MAX_DRAWDOWN_WINDOW, "guard: drawdown_window out of bounds"
    assert min_pool_depth_ <= MAX_MIN_POOL_DEPTH, "guard: min_pool_depth out of bounds"
    assert cooldown_ >= MIN_COOLDOWN and cooldown_ <= MAX_COOLDOWN, "guard: cooldown out of bounds"
    p: Params = self._load_params()
    loosens: bool = (
        oracle_stale_after_ > p.oracle_stale_after
        or max_oracle_dex_deviation_ > p.max_oracle_dex_deviation
        or max_spot_move_ > p.max_spot_move
        or spot_move_window_ < p.spot_move_window
        or max_drawdown_ > p.max_drawdown
        or drawdown_window_ < p.drawdown_window
        or min_pool_depth_ < p.min_pool_depth
        or cooldown_ < p.cooldown
    )
    if not param_timelock._gate(keccak256(slice(msg.data, 0, 260)), loosens):
        return
    self._store_params(Params(
        oracle_stale_after=oracle_stale_after_,
        max_oracle_dex_deviation=max_oracle_dex_deviation_,
        max_spot_move=max_spot_move_,
        spot_move_window=spot_move_window_,
        max_drawdown=max_drawdown_,
        drawdown_window=drawdown_window_,
        min_pool_depth=min_pool_depth_,
        cooldown=cooldown_,
    ))
    log ParameterSet(name="oracle_stale_after", value=oracle_stale_after_)
    log ParameterSet(name="max_oracle_dex_deviation", value=max_oracle_dex_deviation_)
    log ParameterSet(name="max_spot_move", value=max_spot_move_)
    log ParameterSet(name="spot_move_window", value=spot_move_window_)
    log ParameterSet(name="max_drawdown", value=max_drawdown_)
    log ParameterSet(name="drawdown_window", value=drawdown_window_)
    log ParameterSet(name="min_pool_depth", value=min_pool_depth_)
    log ParameterSet(name="cooldown", value=cooldown_)


@external
def cancel_change(change_id: bytes32):
    """
    @notice Owner: drop a queued (loosening) parameter change.
    """
    self._only_owner()
    param_timelock._cancel(change_id)


# ---------------------------------------------------------------- getters

@view
@external
def oracle_stale_after() -> uint256:
    return self._load_params().oracle_stale_after


@view
@external
def max_oracle_dex_deviation() -> uint256:
    return self._load_params().max_oracle_dex_deviation


@view
@external
def max_spot_move() -> uint256:
    return self._load_params().max_spot_move


@view
@external
def spot_move_window() -> uint256:
    return self._load_params().spot_move_window


@view
@external
def max_drawdown() -> uint256:
    return self._load_params().max_drawdown


@view
@external
def drawdown_window() -> uint256:
    return self._load_params().drawdown_window


@view
@external
def min_pool_depth() -> uint256:
    return self._load_params().min_pool_depth


@view
@external
def cooldown() -> uint256:
    return self._load_params().cooldown


@view
@external
def level() -> uint8:
    """
    @notice 0 normal, 1 reduce-only, 2 withdraw-only, 3 halted (as of the
            last measurement; `conditions()` is the live view).
    """
    return self._load_state().level


@view
@external
def level_since() -> uint256:
    return self._load_state().level_since


@view
@external
def guardian_floor() -> uint8:
    return self._load_state().guardian_floor


@view
@external
def latched() -> uint256:
    """
    @notice Bitmask of latched breakers (bit i = `breaker_name(i)`).
    """
    return self._load_state().latched


@view
@external
def spot_anchor() -> uint256:
    return self._load_state().spot_anchor


@view
@external
def spot_prev_anchor() -> uint256:
    return self._load_state().spot_prev_anchor


@view
@external
def spot_anchor_time() -> uint256:
    return self._load_state().spot_anchor_time


@view
@external
def pps_peak() -> uint256:
    return self._load_state().pps_peak


@view
@external
def pps_prev_peak() -> uint256:
    return self._load_state().pps_prev_peak


@view
@external
def pps_bucket_start() -> uint256:
    return self._load_state().pps_bucket_start
