# pragma version 0.4.3
# pragma nonreentrancy on
"""
@title Ballast Option Book: series, marks, positions and the book's aggregates
@notice Holds the option series the vault writes, the keeper's implied vols,
        the on-chain Black-Scholes marks, the open interest, and the book's
        aggregates, cached as Lyra's Greeks cache does, so that no user action
        walks the live series:

          liability  L = sum q_i P_i          (P_i = max(BS, intrinsic) at S0)
          delta      D = sum q_i D_i          (the buyers' delta; expired: 0)
          gamma      G = sum q_i G_i,  vega V = sum q_i V_i
          grid_k       = sum q_i payoff_i(S0 (1 + GRID[k]))   (16 shocks)
          settle need C = sum over expired unsettled series of q_i intrinsic_i(S0)

        All marks are computed at one cache point (S0, t0) by `update_marks()`
        (anyone), `post_vols()` and `create_series()` (keeper). A sale adds
        exactly term(q + size) - term(q) to each aggregate; settlement removes
        term(q). `valuation(spot, hedge)` values the book at today's spot from
        the aggregates (second-order Taylor for the liability) and says
        whether they are fresh: no open interest, or at most `max_mark_age`
        old, spot within `max_spot_drift` of S0, and no expiry since t0.

        Vols: each post is inside [vol_floor, vol_cap] (owner) and moves at
        most `max_vol_rate` x min(time since the last post, VOL_ACCRUAL_CAP),
        so a quiet period does not bank a large move; a new series starts
        within MAX_NEW_VOL_GAP of the book's mean vol. At most
        `max_new_series` series a day; the keeper, guardian or owner may
        retire a series nobody holds.

        Units: wad (1e18) USD per 1 underlying for prices, wad underlying for
        sizes, vol and rate 1e18 = 100 % per year, seconds. Holds no money.
@custom:kill The vault's guardian pauses or shuts down the vault; the book
        then only serves reads. The book has no funds to withdraw.
"""

from interfaces import IOptionBook
from interfaces import IRiskGuard
from interfaces import IVault
from interfaces import IPricer
import constants as c
import param_timelock

implements: IOptionBook

initializes: param_timelock
exports: (param_timelock.queued, param_timelock.cancel_change)


WAD: constant(uint256) = c.WAD
WAD_I: constant(int256) = c.WAD_I
MAX_LIVE: constant(uint256) = c.MAX_LIVE
GRID_N: constant(uint256) = c.GRID_N
DAY: constant(uint256) = 86_400
# A new series starts within this many vol points of the book's mean vol.
MAX_NEW_VOL_GAP: constant(uint256) = 25 * 10**16
M40: constant(uint256) = 2**40 - 1
M64: constant(uint256) = 2**64 - 1
M96: constant(uint256) = 2**96 - 1
M128: constant(uint256) = 2**128 - 1
HALF: constant(int256) = 2**127          # offset of signed 128-bit fields

vault: public(immutable(address))
guard: public(immutable(address))
pricer: public(immutable(address))

# owner-set parameters (each within its hard bounds in `constants`)
# packed (every freshness check reads two of them): max_mark_age (64) |
# max_spot_drift (64) | max_vol_rate (64); getters of their own names below
_marks_limits: uint256
vol_floor: public(uint256)
vol_cap: public(uint256)
strike_band: public(uint256)
max_horizon: public(uint256)
max_new_series: public(uint256)
risk_free_rate: public(int256)
market: public(address)

# per series, packed: strike (96) | expiry (40) | is_call (8) | vol (64) | vol_posted_at (40)
_terms: HashMap[uint256, uint256]
# per series mark at the cache point: price (128) | vega (128); delta+2^127 (128) | gamma (128)
_mark_a: HashMap[uint256, uint256]
_mark_b: HashMap[uint256, uint256]
open_interest: public(HashMap[uint256, uint256])     # wad underlying sold, by series
series_count: public(uint256)
live_series: public(HashMap[uint256, uint256])       # index -> series id
live_count: public(uint256)
_live_index: HashMap[uint256, uint256]               # series id -> index + 1

# the aggregates: cache spot (128) | cache time (40) | next expiry (40) | open series (16)
_cache: uint256
_agg_a: uint256                  # liability (128) | vega (128), wad USD
_agg_b: uint256                  # delta+2^127 (128) | gamma (128)
settle_need: public(uint256)     # wad USD
_grid: uint256[4]                # 16 x 64-bit micro-USD payoffs, four per slot
mean_vol: public(uint256)        # mean posted vol of the live series at the last refresh
_new_series: uint256             # count (64) | window start (64)


@deploy
def __init__(vault_: address, guard_: address, pricer_: address):
    """
    @param vault_ The vault (its owner owns the parameters, its keeper posts vols).
    @param guard_ The risk guard: the one reader of the oracle.
    @param pricer_ The Black-Scholes pricer.
    """
    assert vault_.is_contract, "book: vault not a contract"
    assert guard_.is_contract, "book: guard not a contract"
    assert pricer_.is_contract, "book: pricer not a contract"
    vault = vault_
    guard = guard_
    pricer = pricer_
    param_timelock.__init__(vault_)
    self._marks_limits = c.DEFAULT_MAX_MARK_AGE | (c.DEFAULT_MAX_SPOT_DRIFT << 64) | (c.DEFAULT_MAX_VOL_RATE << 128)
    self.vol_floor = c.DEFAULT_VOL_FLOOR
    self.vol_cap = c.DEFAULT_VOL_CAP
    self.strike_band = c.DEFAULT_STRIKE_BAND
    self.max_horizon = c.DEFAULT_MAX_HORIZON
    self.max_new_series = c.DEFAULT_MAX_NEW_SERIES


# ---------------------------------------------------------------- roles and the oracle

@internal
@view
def _only_keeper():
    assert msg.sender == staticcall IVault(vault).keeper(), "book: caller is not the keeper"


@internal
@view
def _only_owner():
    assert msg.sender == param_timelock._owner(), "book: caller is not the owner"


@view
@internal
def _fresh_spot() -> uint256:
    spot: uint256 = 0
    fresh: bool = False
    level: uint8 = 0
    spot, fresh, level = staticcall IRiskGuard(guard).quick()
    assert fresh, "book: oracle stale"
    return spot


# ---------------------------------------------------------------- packing

@pure
@internal
def _pack_i(x: int256) -> uint256:
    return convert(x + HALF, uint256)


@pure
@internal
def _unpack_i(x: uint256) -> int256:
    return convert(x & M128, int256) - HALF


struct Terms:
    strike: uint256
    expiry: uint256
    is_call: bool
    vol: uint256
    vol_posted_at: uint256


@view
@internal
def _load_terms(sid: uint256) -> Terms:
    x: uint256 = self._terms[sid]
    return Terms(
        strike=x & M96, expiry=(x >> 96) & M40, is_call=(x >> 136) & 255 != 0,
        vol=(x >> 144) & M64, vol_posted_at=(x >> 208) & M40,
    )


@internal
def _store_terms(sid: uint256, t: Terms):
    flag: uint256 = 0
    if t.is_call:
        flag = 1
    self._terms[sid] = t.strike | (t.expiry << 96) | (flag << 136) | (t.vol << 144) | (t.vol_posted_at << 208)


struct Cache:
    spot: uint256
    time: uint256
    next_expiry: uint256
    open_series: uint256


@view
@internal
def _load_cache() -> Cache:
    x: uint256 = self._cache
    return Cache(spot=x & M128, time=(x >> 128) & M40, next_expiry=(x >> 168) & M40, open_series=x >> 208)


@internal
def _store_cache(k: Cache):
    self._cache = k.spot | (k.time << 128) | (k.next_expiry << 168) | (k.open_series << 208)


struct Agg:
    liability: uint256
    vega: uint256
    delta: int256
    gamma: uint256


@view
@internal
def _load_agg() -> Agg:
    a: uint256 = self._agg_a
    b: uint256 = self._agg_b
    return Agg(liability=a & M128, vega=a >> 128, delta=self._unpack_i(b), gamma=b >> 128)


@internal
def _store_agg(g: Agg):
    self._agg_a = g.liability | (g.vega << 128)
    self._agg_b = self._pack_i(g.delta) | (g.gamma << 128)


# ---------------------------------------------------------------- pricing

@pure
@internal
def _payoff(is_call: bool, strike: uint256, spot: uint256) -> uint256:
    if is_call:
        if spot > strike:
            return spot - strike
        return 0
    if strike > spot:
        return strike - spot
    return 0


@pure
@internal
def _shocked_spots(s0: uint256) -> uint256[GRID_N]:
    """
    @dev The grid's 16 shocked spots around `s0`, computed once per use.
    """
    out: uint256[GRID_N] = empty(uint256[GRID_N])
    for k: uint256 in range(GRID_N):
        out[k] = s0 * ((c.GRID_PACKED >> (16 * k)) & 65535) // 100
    return out


@pure
@internal
def _add_grid(grid: uint256[GRID_N], q: uint256, is_call: bool, strike: uint256, shocked: uint256[GRID_N], add: bool) -> uint256[GRID_N]:
    """
    @dev Add (or remove) one series' payoffs at the grid's shocked spots,
         each term in micro-USD rounded up; the same terms either way, so
         adding then removing restores the grid exactly.
    """
    out: uint256[GRID_N] = grid
    if q == 0:
        return out
    unit: uint256 = WAD * c.GRID_UNIT
    for k: uint256 in range(GRID_N):
        s: uint256 = shocked[k]
        p: uint256 = 0
        if is_call:
            if s > strike:
                p = s - strike
        elif strike > s:
            p = strike - s
        if p != 0:
            term: uint256 = (q * p - 1) // unit + 1
            if add:
                out[k] += term
            else:
                out[k] -= term
    return out


@pure
@internal
def _ceil_wad(x: uint256) -> uint256:
    if x == 0:
        return 0
    return (x - 1) // WAD + 1


struct MarkVals:
    price: uint256
    delta: int256
    gamma: uint256
    vega: uint256


@view
@internal
def _mark_at(t: Terms, spot: uint256) -> MarkVals:
    """
    @dev The series' value and Greeks at `spot` now: max(BS, intrinsic);
         an expired series is worth its intrinsic value and has no Greeks.
    """
    m: MarkVals = empty(MarkVals)
    if block.timestamp >= t.expiry:
        m.price = self._payoff(t.is_call, t.strike, spot)
        return m
    g: IPricer.Greeks = staticcall IPricer(pricer).greeks(spot, t.strike, t.expiry - block.timestamp, self.risk_free_rate, t.vol)
    if t.is_call:
        m.price = g.call_price
        m.delta = convert(g.call_delta, int256)
    else:
        m.price = g.put_price
        m.delta = g.put_delta
    m.price = max(m.price, self._payoff(t.is_call, t.strike, spot))
    m.gamma = g.gamma
    m.vega = g.vega
    return m


@view
@internal
def _load_mark(sid: uint256) -> MarkVals:
    a: uint256 = self._mark_a[sid]
    b: uint256 = self._mark_b[sid]
    return MarkVals(price=a & M128, delta=self._unpack_i(b), gamma=b >> 128, vega=a >> 128)


@pure
@internal
def _taylor(base: uint256, delta: int256, gamma: uint256, ds: int256) -> uint256:
    """
    @dev base + delta ds + gamma ds^2 / 2, floored at 0 (all wad).
    """
    v: int256 = convert(base, int256) + delta * ds // WAD_I + convert(gamma, int256) * ds // WAD_I * ds // (2 * WAD_I)
    return convert(max(v, 0), uint256)


# ---------------------------------------------------------------- the refresh (O(live series))

@internal
def _remove_live(sid: uint256):
    idx: uint256 = self._live_index[sid]
    n: uint256 = self.live_count
    last: uint256 = self.live_series[n - 1]
    self.live_series[idx - 1] = last
    self._live_index[last] = idx
    self.live_series[n - 1] = 0
    self._live_index[sid] = 0
    self.live_count = n - 1


@internal
def _refresh(spot: uint256):
    """
    @dev Recompute every live mark and every aggregate at `spot`, now.
         Expired series nobody holds leave the live set.
    """
    agg: Agg = empty(Agg)
    grid: uint256[GRID_N] = empty(uint256[GRID_N])
    need: uint256 = 0
    next_expiry: uint256 = M40
    open_series: uint256 = 0
    vol_sum: uint256 = 0
    shocked: uint256[GRID_N] = self._shocked_spots(spot)
    n: uint256 = self.live_count
    # backwards, so a swap-remove only moves an element already visited
    for j: uint256 in range(MAX_LIVE):
        if j >= n:
            break
        sid: uint256 = self.live_series[n - 1 - j]
        t: Terms = self._load_terms(sid)
        q: uint256 = self.open_interest[sid]
        expired: bool = block.timestamp >= t.expiry
        if expired and q == 0:
            self._remove_live(sid)
            continue
        m: MarkVals = self._mark_at(t, spot)
        self._mark_a[sid] = m.price | (m.vega << 128)
        self._mark_b[sid] = self._pack_i(m.delta) | (m.gamma << 128)
        vol_sum += t.vol
        if not expired:
            next_expiry = min(next_expiry, t.expiry)
        if q == 0:
            continue
        open_series += 1
        agg.liability += self._ceil_wad(q * m.price)
        agg.delta += convert(q, int256) * m.delta // WAD_I
        agg.gamma += q * m.gamma // WAD
        agg.vega += q * m.vega // WAD
        if expired:
            need += q * m.price // WAD
        grid = self._add_grid(grid, q, t.is_call, t.strike, shocked, True)
    self._store_agg(agg)
    self.settle_need = need
    self._store_grid(grid)
    live: uint256 = self.live_count
    if live != 0:
        self.mean_vol = vol_sum // live
    self._store_cache(Cache(spot=spot, time=block.timestamp, next_expiry=next_expiry, open_series=open_series))
    log IOptionBook.MarksUpdated(spot=spot, live=live, liability=agg.liability, delta=agg.delta)


@internal
def _store_grid(grid: uint256[GRID_N]):
    for s: uint256 in range(4):
        x: uint256 = 0
        for i: uint256 in range(4):
            x |= min(grid[4 * s + i], c.GRID_MAX) << (64 * i)
        self._grid[s] = x


@view
@internal
def _load_grid() -> uint256[GRID_N]:
    grid: uint256[GRID_N] = empty(uint256[GRID_N])
    for s: uint256 in range(4):
        x: uint256 = self._grid[s]
        for i: uint256 in range(4):
            grid[4 * s + i] = (x >> (64 * i)) & M64
    return grid


@external
def update_marks():
    """
    @notice Anyone: recompute every live mark and the book's aggregates from
            the posted vols at the current (fresh) oracle spot.
    """
    self._refresh(self._fresh_spot())


# ---------------------------------------------------------------- keeper

@internal
@view
def _check_vol(t: Terms, new: uint256):
    assert new >= max(self.vol_floor, c.MIN_VOL), "book: vol below floor"
    assert new <= min(self.vol_cap, c.MAX_VOL), "book: vol above cap"
    step: uint256 = (self._marks_limits >> 128) * min(block.timestamp - t.vol_posted_at, c.VOL_ACCRUAL_CAP)
    if new > t.vol:
        assert new - t.vol <= step, "book: vol moved faster than max_vol_rate"
    else:
        assert t.vol - new <= step, "book: vol moved faster than max_vol_rate"


@external
def create_series(strike: uint256, expiry: uint256, is_call: bool, vol: uint256) -> uint256:
    """
    @notice Keeper: open a new series; every mark is then refreshed at the
            current spot. At most `max_new_series` a rolling day.
    @param strike Wad USD per underlying, within `strike_band` of spot.
    @param expiry Unix time, at least MIN_TIME_TO_EXPIRY away, within `max_horizon`.
    @param is_call True for a call, False for a put.
    @param vol First implied vol (wad), in [vol_floor, vol_cap] and within
           MAX_NEW_VOL_GAP of the book's mean vol when other series are live.
    @return The new series id.
    """
    self._only_keeper()
    n: uint256 = self.live_count
    assert n < MAX_LIVE, "book: too many live series"
    ns: uint256 = self._new_series
    count: uint256 = ns & M64
    start: uint256 = ns >> 64
    if block.timestamp >= start + DAY:
        count = 0
        start = block.timestamp
    assert count < self.max_new_series, "book: too many new series today"
    self._new_series = (count + 1) | (start << 64)

    spot: uint256 = self._fresh_spot()
    assert strike != 0 and strike <= M96, "book: strike out of range"
    band: uint256 = self.strike_band
    assert strike * WAD >= spot * (WAD - band), "book: strike below band"
    assert strike * WAD <= spot * (WAD + band), "book: strike above band"
    assert expiry >= block.timestamp + c.MIN_TIME_TO_EXPIRY, "book: expiry too soon"
    assert expiry <= block.timestamp + self.max_horizon, "book: expiry beyond horizon"
    assert vol >= max(self.vol_floor, c.MIN_VOL), "book: vol below floor"
    assert vol <= min(self.vol_cap, c.MAX_VOL), "book: vol above cap"
    if n != 0:
        ref: uint256 = self.mean_vol
        assert vol + MAX_NEW_VOL_GAP >= ref and vol <= ref + MAX_NEW_VOL_GAP, "book: vol too far from the book's mean vol"

    sid: uint256 = self.series_count + 1
    self.series_count = sid
    self._store_terms(sid, Terms(strike=strike, expiry=expiry, is_call=is_call, vol=vol, vol_posted_at=block.timestamp))
    self.live_series[n] = sid
    self._live_index[sid] = n + 1
    self.live_count = n + 1
    log IOptionBook.SeriesCreated(series_id=sid, strike=strike, expiry=expiry, is_call=is_call)
    log IOptionBook.VolPosted(series_id=sid, vol=vol)
    self._refresh(spot)
    return sid


@external
def post_vols(ids: DynArray[uint256, MAX_LIVE], vols: DynArray[uint256, MAX_LIVE]):
    """
    @notice Keeper: post implied vols for live series (each bounded and
            rate-limited), then refresh every mark at the current spot.
    @param ids Series ids.
    @param vols Their new vols (wad), same order.
    """
    self._only_keeper()
    assert len(ids) == len(vols), "book: ids and vols differ in length"
    spot: uint256 = self._fresh_spot()
    for i: uint256 in range(len(ids), bound=MAX_LIVE):
        sid: uint256 = ids[i]
        assert self._live_index[sid] != 0, "book: unknown series"
        t: Terms = self._load_terms(sid)
        self._check_vol(t, vols[i])
        t.vol = vols[i]
        t.vol_posted_at = block.timestamp
        self._store_terms(sid, t)
        log IOptionBook.VolPosted(series_id=sid, vol=vols[i])
    self._refresh(spot)


@external
def retire_series(sid: uint256):
    """
    @notice Keeper, guardian or owner: drop a live series nobody holds (frees
            its slot; nothing can be bought in it again).
    @param sid The series id.
    """
    assert msg.sender == staticcall IVault(vault).keeper() or msg.sender == staticcall IVault(vault).guardian() or msg.sender == param_timelock._owner(), "book: caller may not retire series"
    assert self._live_index[sid] != 0, "book: unknown series"
    assert self.open_interest[sid] == 0, "book: series has open interest"
    self._remove_live(sid)
    log IOptionBook.SeriesRetired(series_id=sid, by=msg.sender)


# ---------------------------------------------------------------- views

@view
@external
@reentrant
def series(sid: uint256) -> (uint256, uint256, bool):
    """
    @notice The terms of series `sid` (ids start at 1, see `series_count`).
            Terms stay readable after the series is retired or settled.
    @param sid The series id.
    @return (strike wad USD, expiry unix time, is_call); zeros if unknown.
    """
    t: Terms = self._load_terms(sid)
    return t.strike, t.expiry, t.is_call


@view
@external
@reentrant
def marks(sid: uint256) -> IOptionBook.Mark:
    """
    @notice Series `sid`'s posted implied vol, when it was posted, and its
            mark per 1 underlying at the cache point: price max(BS, intrinsic)
            in wad USD, delta (wad), gamma (wad per 1 USD of spot), vega (wad
            USD per 1.00 of vol); an expired series has only its intrinsic
            price. Zeros if unknown or never marked.
    @param sid The series id.
    @return Its posted vol and its mark at the cache point (see `cache()`).
    """
    t: Terms = self._load_terms(sid)
    m: MarkVals = self._load_mark(sid)
    return IOptionBook.Mark(vol=t.vol, vol_posted_at=t.vol_posted_at, price=m.price, delta=m.delta, gamma=m.gamma, vega=m.vega)


@view
@external
@reentrant
def cache() -> (uint256, uint256, uint256):
    """
    @notice The cache point of every mark and aggregate, set by
            `update_marks`, `post_vols` and `create_series`: the oracle spot
            and the time of the last refresh, and the earliest expiry after it
            (2**40 - 1 when no live series is unexpired; zeros before the first
            refresh). The aggregates may not be used from that expiry on.
    @return (spot S0 wad USD, time t0, next expiry after t0) of the marks.
    """
    k: Cache = self._load_cache()
    return k.spot, k.time, k.next_expiry


@view
@external
@reentrant
def aggregates() -> (uint256, int256, uint256, uint256, uint256[GRID_N]):
    """
    @notice The book's cached aggregates at the cache point (see the module
            notice): summed over open interest at the last refresh and moved
            exactly by every sale and settlement since. `valuation` expands
            them to a spot; this view does not.
    @return (liability wad USD, buyers' delta wad, gamma wad per USD, vega wad
            USD per 1.00 vol, grid payoffs in micro-USD) at the cache point.
    """
    g: Agg = self._load_agg()
    return g.liability, g.delta, g.gamma, g.vega, self._load_grid()


@view
@external
@reentrant
def is_open(sid: uint256) -> bool:
    """
    @notice Whether series `sid` can be sold now: live (neither retired
            nor closed at settlement) and before its expiry. Sales may still
            be refused by the guard or by stale marks.
    @param sid The series id.
    @return True while the series is live and not expired.
    """
    return self._live_index[sid] != 0 and block.timestamp < self._load_terms(sid).expiry


@view
@internal
def _fresh(k: Cache, spot: uint256) -> bool:
    if k.open_series == 0:
        return True
    ml: uint256 = self._marks_limits
    if spot == 0 or block.timestamp > k.time + (ml & M64) or block.timestamp >= k.next_expiry:
        return False
    diff: uint256 = 0
    if spot > k.spot:
        diff = spot - k.spot
    else:
        diff = k.spot - spot
    return diff * WAD <= ((ml >> 64) & M64) * k.spot


@view
@external
@reentrant
def valuation(spot: uint256, hedge: uint256) -> IOptionBook.Valuation:
    """
    @notice The book valued at `spot` from its aggregates (no walk of the
            series): Taylor liability, stress margin net of `hedge`, Greeks,
            and whether the aggregates may be used (see the module notice).
    @param spot Wad USD per underlying (the oracle's answer now).
    @param hedge The vault's hedge in wad of underlying.
    @return The valuation; all money in wad USD.
    """
    k: Cache = self._load_cache()
    v: IOptionBook.Valuation = empty(IOptionBook.Valuation)
    v.fresh = self._fresh(k, spot)
    if k.open_series == 0:
        return v
    g: Agg = self._load_agg()
    s: uint256 = spot
    if s == 0:
        s = k.spot  # the oracle is unreadable: value at the cache spot (not fresh)
    ds: int256 = convert(s, int256) - convert(k.spot, int256)
    v.liability = self._taylor(g.liability, g.delta, g.gamma, ds)
    v.delta = g.delta + convert(g.gamma, int256) * ds // WAD_I
    v.vega = g.vega
    v.cash_gamma = g.gamma * s // WAD * s // WAD // 100
    v.settle_need = self.settle_need
    # the hedge's gain in shock i offsets the payoffs: hedge x S0 x shock
    hs: int256 = convert(hedge * k.spot // WAD, int256)
    worst: int256 = 0
    for w: uint256 in range(4):
        x: uint256 = self._grid[w]
        for i: uint256 in range(4):
            pct: int256 = convert((c.GRID_PACKED >> (64 * w + 16 * i)) & 65535, int256) - 100
            loss: int256 = convert(((x >> (64 * i)) & M64) * c.GRID_UNIT, int256) - hs * pct // 100
            worst = max(worst, loss)
        if w == c.GRID_ZERO // 4:
            v.intrinsic = ((x >> (64 * (c.GRID_ZERO % 4))) & M64) * c.GRID_UNIT
    v.margin = convert(worst, uint256)
    return v


@view
@external
@reentrant
def liability_at(spot: uint256) -> (uint256, bool):
    """
    @notice The cheap part of `valuation` (no stress grid): the Taylor
            liability at `spot` (wad USD) and whether the aggregates are fresh.
    @param spot Wad USD per underlying; 0 = unreadable (cache spot, not fresh).
    @return (liability wad USD, fresh)
    """
    k: Cache = self._load_cache()
    if k.open_series == 0:
        return 0, True
    g: Agg = self._load_agg()
    s: uint256 = spot
    if s == 0:
        s = k.spot
    return self._taylor(g.liability, g.delta, g.gamma, convert(s, int256) - convert(k.spot, int256)), self._fresh(k, spot)


@view
@internal
def _unit_price(sid: uint256, t: Terms, spot: uint256) -> uint256:
    """
    @dev What one unit sells for (before the spread): its value at `spot`
         now, and never less than the liability it adds to the book.
    """
    now: MarkVals = self._mark_at(t, spot)
    cached: MarkVals = self._load_mark(sid)
    k: Cache = self._load_cache()
    added: uint256 = self._taylor(cached.price, cached.delta, cached.gamma, convert(spot, int256) - convert(k.spot, int256))
    return max(now.price, added)


@view
@external
@reentrant
def unit_price(sid: uint256, spot: uint256) -> uint256:
    """
    @notice Value of 1 underlying of series `sid` at `spot`, now, before the
            spread: max(BS at spot, intrinsic, the liability a unit adds).
    @param sid The series id.
    @param spot Wad USD per underlying.
    @return Wad USD per 1 underlying.
    """
    return self._unit_price(sid, self._load_terms(sid), spot)


# ---------------------------------------------------------------- the market

@internal
@view
def _only_market():
    assert msg.sender == self.market, "book: caller is not the market"


@internal
def _apply_terms(sid: uint256, t: Terms, q_old: uint256, q_new: uint256):
    """
    @dev Move every aggregate from series `sid`'s terms at open interest
         q_old to its terms at q_new, exactly as `_refresh` sums them.
    """
    m: MarkVals = self._load_mark(sid)
    g: Agg = self._load_agg()
    k: Cache = self._load_cache()
    g.liability = g.liability + self._ceil_wad(q_new * m.price) - self._ceil_wad(q_old * m.price)
    g.delta = g.delta + convert(q_new, int256) * m.delta // WAD_I - convert(q_old, int256) * m.delta // WAD_I
    g.gamma = g.gamma + q_new * m.gamma // WAD - q_old * m.gamma // WAD
    g.vega = g.vega + q_new * m.vega // WAD - q_old * m.vega // WAD
    self._store_agg(g)
    # one pass over the packed grid words: each lane += term(q_new) - term(q_old)
    unit: uint256 = WAD * c.GRID_UNIT
    for w: uint256 in range(4):
        x: uint256 = self._grid[w]
        y: uint256 = x
        for i: uint256 in range(4):
            s: uint256 = k.spot * ((c.GRID_PACKED >> (64 * w + 16 * i)) & 65535) // 100
            p: uint256 = 0
            if t.is_call:
                if s > t.strike:
                    p = s - t.strike
            elif t.strike > s:
                p = t.strike - s
            if p == 0:
                continue
            lane: uint256 = (y >> (64 * i)) & M64
            if q_new != 0:
                lane += (q_new * p - 1) // unit + 1
            if q_old != 0:
                lane -= (q_old * p - 1) // unit + 1
            y = (y & ~(M64 << (64 * i))) | (min(lane, c.GRID_MAX) << (64 * i))
        if y != x:
            self._grid[w] = y
    if q_old == 0 and q_new != 0:
        k.open_series += 1
        self._store_cache(k)
    elif q_old != 0 and q_new == 0:
        k.open_series -= 1
        self._store_cache(k)


@external
def record_sale(sid: uint256, size: uint256, spot: uint256) -> uint256:
    """
    @notice Market only: add `size` of short interest to an open series,
            priced at `spot` (the guard's reading of this transaction).
    @param sid The series id.
    @param size Wad of underlying.
    @param spot Wad USD per underlying.
    @return The unit price before the spread (wad USD per underlying).
    """
    self._only_market()
    t: Terms = self._load_terms(sid)
    assert self._live_index[sid] != 0 and block.timestamp < t.expiry, "book: series not open"
    k: Cache = self._load_cache()
    k.open_series = 1  # ask whether the cache is usable as if the book held options
    assert self._fresh(k, spot), "book: marks stale, call update_marks"
    u: uint256 = self._unit_price(sid, t, spot)
    q: uint256 = self.open_interest[sid]
    self.open_interest[sid] = q + size
    self._apply_terms(sid, t, q, q + size)
    log IOptionBook.SaleRecorded(series_id=sid, size=size, open_interest=q + size, unit_price=u)
    return u


@external
def close_series(sid: uint256) -> uint256:
    """
    @notice Market only, at settlement: take an expired series out of the
            book and its aggregates; returns its open interest.
    @param sid The series id.
    @return Open interest (wad underlying); 0 if it had already left.
    """
    self._only_market()
    t: Terms = self._load_terms(sid)
    assert t.expiry != 0 and block.timestamp >= t.expiry, "book: series not expired"
    if self._live_index[sid] == 0:
        return 0
    q: uint256 = self.open_interest[sid]
    if q != 0:
        m: MarkVals = self._load_mark(sid)
        k: Cache = self._load_cache()
        if k.time >= t.expiry:
            # the cache already counts it in the settlement need
            self.settle_need -= min(self.settle_need, q * m.price // WAD)
        self._apply_terms(sid, t, q, 0)
    self._remove_live(sid)
    log IOptionBook.SeriesClosed(series_id=sid, open_interest=q)
    return q


@view
@external
def max_mark_age() -> uint256:
    """
    @notice How old the cache point may be, while the book has open
            interest, before the aggregates may not be used (NAV turns
            conservative; deposits, sales and hedges wait for
            `update_marks`). Owner-set with `set_marks_limits`, within
            [MIN_MAX_MARK_AGE, MAX_MAX_MARK_AGE].
    @return Seconds after which the cached marks may not be used.
    """
    return self._marks_limits & M64


@view
@external
def max_spot_drift() -> uint256:
    """
    @notice How far the oracle spot may move from the cache spot S0 before the
            aggregates may not be used. Owner-set with `set_marks_limits`,
            within [MIN_MAX_SPOT_DRIFT, MAX_MAX_SPOT_DRIFT].
    @return Wad fraction the spot may move from the cache spot.
    """
    return (self._marks_limits >> 64) & M64


@view
@external
def max_vol_rate() -> uint256:
    """
    @notice The most a posted vol may move per second since its last post,
            counting at most VOL_ACCRUAL_CAP seconds ("book: vol moved faster
            than max_vol_rate"). Owner-set with `set_marks_limits`, within
            [MIN_MAX_VOL_RATE, MAX_MAX_VOL_RATE].
    @return Wad vol per second a posted vol may move.
    """
    return self._marks_limits >> 128


# ---------------------------------------------------------------- parameters

@external
def set_market(market_: address):
    """
    @notice Owner: connect the option market. Once only.
    @param market_ The OptionMarket.
    """
    self._only_owner()
    assert self.market == empty(address), "book: market already set"
    assert market_.is_contract, "book: market not a contract"
    self.market = market_


@external
def set_marks_limits(max_mark_age_: uint256, max_spot_drift_: uint256, max_vol_rate_: uint256):
    """
    @notice Owner: marks staleness, spot drift and vol rate limit.
    @param max_mark_age_ Seconds.
    @param max_spot_drift_ Wad fraction of the cache spot.
    @param max_vol_rate_ Wad vol per second.
    """
    self._only_owner()
    assert max_mark_age_ >= c.MIN_MAX_MARK_AGE and max_mark_age_ <= c.MAX_MAX_MARK_AGE, "book: max_mark_age out of bounds"
    assert max_spot_drift_ >= c.MIN_MAX_SPOT_DRIFT and max_spot_drift_ <= c.MAX_MAX_SPOT_DRIFT, "book: max_spot_drift out of bounds"
    assert max_vol_rate_ >= c.MIN_MAX_VOL_RATE and max_vol_rate_ <= c.MAX_MAX_VOL_RATE, "book: max_vol_rate out of bounds"
    ml: uint256 = self._marks_limits
    loosens: bool = max_mark_age_ > ml & M64 or max_spot_drift_ > (ml >> 64) & M64 or max_vol_rate_ > ml >> 128
    if not param_timelock._gate(keccak256(slice(msg.data, 0, 100)), loosens):
        return
    self._marks_limits = max_mark_age_ | (max_spot_drift_ << 64) | (max_vol_rate_ << 128)
    param_timelock._log_set("max_mark_age", max_mark_age_)
    param_timelock._log_set("max_spot_drift", max_spot_drift_)
    param_timelock._log_set("max_vol_rate", max_vol_rate_)


@external
def set_vol_bounds(vol_floor_: uint256, vol_cap_: uint256):
    """
    @notice Owner: the range every posted vol must lie in.
    @param vol_floor_ Wad, >= MIN_VOL.
    @param vol_cap_ Wad, <= MAX_VOL and > vol_floor_.
    """
    self._only_owner()
    assert vol_floor_ >= c.MIN_VOL and vol_cap_ <= c.MAX_VOL and vol_floor_ < vol_cap_, "book: vol bounds out of bounds"
    if not param_timelock._gate(keccak256(slice(msg.data, 0, 68)), vol_floor_ < self.vol_floor or vol_cap_ > self.vol_cap):
        return
    self.vol_floor = vol_floor_
    self.vol_cap = vol_cap_
    param_timelock._log_set("vol_floor", vol_floor_)
    param_timelock._log_set("vol_cap", vol_cap_)


@external
def set_series_limits(strike_band_: uint256, max_horizon_: uint256, max_new_series_: uint256):
    """
    @notice Owner: strike band around spot, expiry horizon and new series per
            day for new series.
    @param strike_band_ Wad fraction.
    @param max_horizon_ Seconds.
    @param max_new_series_ Series per rolling day.
    """
    self._only_owner()
    assert strike_band_ >= c.MIN_STRIKE_BAND and strike_band_ <= c.MAX_STRIKE_BAND, "book: strike_band out of bounds"
    assert max_horizon_ >= c.MIN_TIME_TO_EXPIRY and max_horizon_ <= c.MAX_MAX_HORIZON, "book: max_horizon out of bounds"
    assert max_new_series_ >= c.MIN_MAX_NEW_SERIES and max_new_series_ <= c.MAX_MAX_NEW_SERIES, "book: max_new_series out of bounds"
    loosens: bool = strike_band_ > self.strike_band or max_horizon_ > self.max_horizon or max_new_series_ > self.max_new_series
    if not param_timelock._gate(keccak256(slice(msg.data, 0, 100)), loosens):
        return
    self.strike_band = strike_band_
    self.max_horizon = max_horizon_
    self.max_new_series = max_new_series_
    param_timelock._log_set("strike_band", strike_band_)
    param_timelock._log_set("max_horizon", max_horizon_)
    param_timelock._log_set("max_new_series", max_new_series_)


@external
def set_risk_free_rate(rate: int256):
    """
    @notice Owner: the rate every mark uses; any change waits the delay.
    @param rate Wad per year, signed, within [MIN_RATE, MAX_RATE].
    """
    self._only_owner()
    assert rate >= c.MIN_RATE and rate <= c.MAX_RATE, "book: risk_free_rate out of bounds"
    if not param_timelock._gate(keccak256(slice(msg.data, 0, 36)), rate != self.risk_free_rate):
        return
    self.risk_free_rate = rate
    param_timelock._log_set("risk_free_rate", convert(rate + HALF, uint256))
