# pragma version 0.4.3
# pragma nonreentrancy on
"""
@title Ballast Option Book: series and the marks cache
@notice Holds the option series the vault writes and a Greeks cache for them.
        The keeper creates series inside owner-set bounds and posts one
        implied vol per live series; each post is bounded (MIN_VOL..MAX_VOL)
        and may move at most `max_vol_rate` per second since the last post
        (curve-std's bounded-value shape), so a compromised keeper can only
        walk a mark slowly. Price and Greeks are computed here, on-chain, with
        the `black_scholes` module from the oracle spot: the keeper supplies
        vols, never prices. Anyone may refresh the cache with `update_marks()`.

        The vault reads `liability()` and `stress_margin()` for NAV and free
        collateral; both refuse (revert) while any live mark is older than
        `max_mark_age` or the spot has drifted more than `max_spot_drift`
        since it was computed, so no deposit, withdrawal or sale is priced off
        a stale cache. Holds no money: premiums and payoffs stay in the vault.

        Units: spot and strike in 1e18 USD per 1 underlying (wad); vol and
        rate in 1e18 = 100 % per year; time in seconds; Greeks per 1 unit of
        underlying (delta in wad, gamma in wad per USD, vega per 1.00 vol).
@custom:kill The vault's guardian pauses or shuts down the vault; the book
        then only serves reads. The book has no funds to withdraw.
"""

import black_scholes as bs
import oracle
import param_timelock

initializes: param_timelock
exports: param_timelock.queued


interface IVault:
    def owner() -> address: view
    def keeper() -> address: view
    def asset() -> address: view
    def totalAssets() -> uint256: view
    def hedge_units() -> uint256: view


interface IERC20Detailed:
    def decimals() -> uint8: view


# ---------------------------------------------------------------- events

event SeriesCreated:
    series_id: indexed(uint256)
    strike: uint256
    expiry: uint256
    is_call: bool

event VolPosted:
    series_id: indexed(uint256)
    vol: uint256

event MarkUpdated:
    series_id: indexed(uint256)
    spot: uint256
    vol: uint256
    price: uint256
    delta: int256
    gamma: uint256
    vega: uint256

event ParameterSet:
    name: String[32]
    value: uint256

event RateSet:
    rate: int256

event MarketSet:
    market: indexed(address)

event SaleRecorded:
    series_id: indexed(uint256)
    size: uint256
    open_interest: uint256

event SeriesClosed:
    series_id: indexed(uint256)
    open_interest: uint256


# ---------------------------------------------------------------- types

struct Series:
    strike: uint256
    expiry: uint256
    is_call: bool


struct Mark:
    vol: uint256            # last posted implied vol (wad)
    vol_posted_at: uint256  # when it was posted
    spot: uint256           # oracle spot the mark was computed at (wad)
    computed_at: uint256    # when the mark was computed
    price: uint256          # option price per 1 underlying (wad USD)
    delta: int256           # per 1 underlying (wad)
    gamma: uint256          # per 1 underlying, per 1 USD of spot (wad)
    vega: uint256           # per 1 underlying, per 1.00 of vol (wad USD)


# ---------------------------------------------------------------- constants (hard bounds)

MAX_LIVE: constant(uint256) = 16
WAD: constant(uint256) = 10**18
WAD_I: constant(int256) = 10**18
MIN_VOL: public(constant(uint256)) = 5 * 10**16       # 5 %
MAX_VOL: public(constant(uint256)) = 3 * 10**18       # 300 %
MIN_MARK_AGE: constant(uint256) = 300                 # 5 min
MAX_MARK_AGE: constant(uint256) = 86_400              # 1 day
MIN_SPOT_DRIFT: constant(uint256) = 5 * 10**15        # 0.5 %
MAX_SPOT_DRIFT: constant(uint256) = 2 * 10**17        # 20 %
MAX_VOL_RATE: constant(uint256) = 5 * 10**18 // 86_400  # 500 vol points per day
MIN_HEARTBEAT: constant(uint256) = 60
MAX_HEARTBEAT: constant(uint256) = 86_400
MAX_STRIKE_BAND: constant(uint256) = 9 * 10**17       # strikes within +-90 % of spot
MAX_HORIZON: constant(uint256) = 365 * 86_400         # 1 year
MIN_TIME_TO_EXPIRY: constant(uint256) = 3_600         # a new series lives >= 1 h
MAX_UTILISATION: constant(uint256) = 9 * 10**17      # stress margin <= 90 % of NAV at most
MAX_VEGA_RATIO: constant(uint256) = 10**18            # |vega per 1.00 vol| <= NAV at most
MAX_GAMMA_RATIO: constant(uint256) = 2 * 10**17       # |cash gamma per 1 % move| <= 20 % of NAV at most
# Spot shocks of the stress grid, 1e18 = 100 %: -50 % .. +100 %.
SHOCKS: constant(int256[13]) = [
    -5 * 10**17, -35 * 10**16, -2 * 10**17, -10**17, -5 * 10**16, 0,
    5 * 10**16, 10**17, 2 * 10**17, 35 * 10**16, 5 * 10**17, 75 * 10**16, 10**18,
]
MIN_RATE: constant(int256) = -5 * 10**16
MAX_RATE: constant(int256) = 2 * 10**17


# ---------------------------------------------------------------- storage

vault: public(immutable(address))
feed: public(immutable(address))
FEED_DECIMALS: immutable(uint8)
# 10**(18 - asset decimals): wad USD -> asset units
ASSET_SCALE: immutable(uint256)

# owner-set parameters (each within its hard bounds above)
oracle_heartbeat: public(uint256)
max_mark_age: public(uint256)
max_spot_drift: public(uint256)
max_vol_rate: public(uint256)
strike_band: public(uint256)
max_horizon: public(uint256)
risk_free_rate: public(int256)

series: public(HashMap[uint256, Series])
series_count: public(uint256)
live_series: public(DynArray[uint256, MAX_LIVE])
marks: public(HashMap[uint256, Mark])
# Open short interest per series, in wad of underlying, recorded by the market.
open_interest: public(HashMap[uint256, uint256])

# The option market (sales and settlement). Set once by the owner.
market: public(address)
max_utilisation: public(uint256)
max_vega_ratio: public(uint256)
max_gamma_ratio: public(uint256)


@deploy
def __init__(vault_: address, feed_: address):
    assert vault_.is_contract, "book: vault not a contract"
    vault = vault_
    feed = feed_
    FEED_DECIMALS = oracle._feed_decimals(feed_)
    asset_decimals: uint8 = staticcall IERC20Detailed(staticcall IVault(vault_).asset()).decimals()
    ASSET_SCALE = 10 ** convert(18 - asset_decimals, uint256)

    self.oracle_heartbeat = 3_600
    self.max_mark_age = 3 * 3_600
    self.max_spot_drift = 5 * 10**16
    self.max_vol_rate = 10**18 // 86_400   # 100 vol points per day
    self.strike_band = 5 * 10**17
    self.max_horizon = 90 * 86_400
    self.risk_free_rate = 0
    self.max_utilisation = 5 * 10**17    # 50 %
    self.max_vega_ratio = 25 * 10**16    # 25 % of NAV per 1.00 vol
    self.max_gamma_ratio = 5 * 10**16    # 5 % of NAV per 1 % move


# ---------------------------------------------------------------- roles

@internal
@view
def _only_keeper():
    assert msg.sender == staticcall IVault(vault).keeper(), "book: caller is not the keeper"


@internal
@view
def _only_owner():
    assert msg.sender == staticcall IVault(vault).owner(), "book: caller is not the owner"


# ---------------------------------------------------------------- marks

@internal
def _compute_mark(sid: uint256, spot: uint256):
    s: Series = self.series[sid]
    m: Mark = self.marks[sid]
    tau: uint256 = 0
    if s.expiry > block.timestamp:
        tau = s.expiry - block.timestamp
    g: bs.Greeks = bs._greeks(spot, s.strike, tau, self.risk_free_rate, m.vol)
    if s.is_call:
        m.price = g.call_price
        m.delta = convert(g.call_delta, int256)
    else:
        m.price = g.put_price
        m.delta = g.put_delta
    m.gamma = g.gamma
    m.vega = g.vega
    m.spot = spot
    m.computed_at = block.timestamp
    self.marks[sid] = m
    log MarkUpdated(
        series_id=sid, spot=spot, vol=m.vol, price=m.price, delta=m.delta, gamma=m.gamma, vega=m.vega
    )


@internal
@view
def _check_vol(old: uint256, posted_at: uint256, new: uint256):
    assert new >= MIN_VOL, "book: vol below MIN_VOL"
    assert new <= MAX_VOL, "book: vol above MAX_VOL"
    step: uint256 = self.max_vol_rate * (block.timestamp - posted_at)
    if new > old:
        assert new - old <= step, "book: vol moved faster than max_vol_rate"
    else:
        assert old - new <= step, "book: vol moved faster than max_vol_rate"


@internal
@view
def _spot_fresh() -> uint256:
    return oracle._fresh(feed, FEED_DECIMALS, self.oracle_heartbeat)


@internal
@view
def _check_marks():
    """
    @dev Revert unless every live mark is young enough and computed at a spot
         within `max_spot_drift` of the feed's latest answer. The latest
         answer is used even if it is past the heartbeat, so withdrawals stay
         open while the marks themselves are fresh.
    """
    n: uint256 = len(self.live_series)
    if n == 0:
        return
    spot: uint256 = 0
    _: uint256 = 0
    spot, _ = oracle._latest(feed, FEED_DECIMALS)
    age_limit: uint256 = self.max_mark_age
    drift_limit: uint256 = self.max_spot_drift
    for sid: uint256 in self.live_series:
        m: Mark = self.marks[sid]
        assert block.timestamp - m.computed_at <= age_limit, "book: marks stale"
        diff: uint256 = 0
        if spot > m.spot:
            diff = spot - m.spot
        else:
            diff = m.spot - spot
        assert diff * WAD <= drift_limit * m.spot, "book: spot drifted since marks"


@external
def create_series(strike: uint256, expiry: uint256, is_call: bool, vol: uint256) -> uint256:
    """
    @notice Keeper: open a new series (strike in wad USD, expiry as a unix
            time) with its first implied vol; its mark is computed at once.
    """
    self._only_keeper()
    assert len(self.live_series) < MAX_LIVE, "book: too many live series"
    spot: uint256 = self._spot_fresh()
    assert strike != 0, "book: zero strike"
    band: uint256 = self.strike_band
    assert strike * WAD >= spot * (WAD - band), "book: strike below band"
    assert strike * WAD <= spot * (WAD + band), "book: strike above band"
    assert expiry >= block.timestamp + MIN_TIME_TO_EXPIRY, "book: expiry too soon"
    assert expiry <= block.timestamp + self.max_horizon, "book: expiry beyond horizon"
    assert vol >= MIN_VOL, "book: vol below MIN_VOL"
    assert vol <= MAX_VOL, "book: vol above MAX_VOL"

    sid: uint256 = self.series_count + 1
    self.series_count = sid
    self.series[sid] = Series(strike=strike, expiry=expiry, is_call=is_call)
    self.live_series.append(sid)
    self.marks[sid].vol = vol
    self.marks[sid].vol_posted_at = block.timestamp
    log SeriesCreated(series_id=sid, strike=strike, expiry=expiry, is_call=is_call)
    log VolPosted(series_id=sid, vol=vol)
    self._compute_mark(sid, spot)
    return sid


@external
def post_vols(ids: DynArray[uint256, MAX_LIVE], vols: DynArray[uint256, MAX_LIVE]):
    """
    @notice Keeper: post implied vols for live series; each is bounded and
            rate-limited, and the posted series are re-marked at the current
            oracle spot.
    """
    self._only_keeper()
    assert len(ids) == len(vols), "book: ids and vols differ in length"
    spot: uint256 = self._spot_fresh()
    for i: uint256 in range(len(ids), bound=MAX_LIVE):
        sid: uint256 = ids[i]
        assert sid in self.live_series, "book: unknown series"
        m: Mark = self.marks[sid]
        self._check_vol(m.vol, m.vol_posted_at, vols[i])
        self.marks[sid].vol = vols[i]
        self.marks[sid].vol_posted_at = block.timestamp
        log VolPosted(series_id=sid, vol=vols[i])
        self._compute_mark(sid, spot)


@external
def update_marks():
    """
    @notice Anyone: recompute every live mark from its last posted vol and the
            current (fresh) oracle spot.
    """
    spot: uint256 = self._spot_fresh()
    for sid: uint256 in self.live_series:
        self._compute_mark(sid, spot)


# ---------------------------------------------------------------- vault interface

@view
@external
@reentrant
def check_marks() -> bool:
    """
    @notice Reverts with the reason when the cache may not be used; else True.
    """
    self._check_marks()
    return True


@view
@external
@reentrant
def liability() -> uint256:
    """
    @notice Mark-to-market value of the short book in asset units, rounded
            up; each series at max(cached mark, intrinsic at the mark's spot).
            Reverts while the cache is stale or drifted.
    """
    self._check_marks()
    total: uint256 = 0
    for sid: uint256 in self.live_series:
        oi: uint256 = self.open_interest[sid]
        if oi == 0:
            continue
        s: Series = self.series[sid]
        m: Mark = self.marks[sid]
        intrinsic: uint256 = 0
        if s.is_call and m.spot > s.strike:
            intrinsic = m.spot - s.strike
        elif not s.is_call and s.strike > m.spot:
            intrinsic = s.strike - m.spot
        total += oi * max(m.price, intrinsic)
    # wad * wad -> asset units, rounded up (liability errs high)
    scale: uint256 = WAD * ASSET_SCALE
    return (total + scale - 1) // scale


@view
@external
@reentrant
def stress_margin() -> uint256:
    """
    @notice Collateral locked against open options, in asset units, rounded
            up: the worst payoff of the book over the spot-shock grid.
            Reverts while the cache is stale or drifted.
    """
    self._check_marks()
    loss: uint256 = self._stress_loss()
    return (loss + ASSET_SCALE - 1) // ASSET_SCALE


@view
@external
@reentrant
def spot_latest() -> uint256:
    """
    @notice The feed's latest answer in wad USD, normalised by its decimals
            (no staleness check: for valuation beside the marks checks).
    """
    spot: uint256 = 0
    _: uint256 = 0
    spot, _ = oracle._latest(feed, FEED_DECIMALS)
    return spot


@view
@external
@reentrant
def live_count() -> uint256:
    return len(self.live_series)


# ---------------------------------------------------------------- parameters

@internal
@view
def _payoff(s: Series, spot: uint256) -> uint256:
    if s.is_call:
        if spot > s.strike:
            return spot - s.strike
        return 0
    if s.strike > spot:
        return s.strike - spot
    return 0


@internal
@view
def _stress_loss() -> uint256:
    """
    @dev Worst payoff of the whole short book over the spot-shock grid around
         the feed's latest spot, in wad USD. From payoffs only: piecewise
         linear, cheap and trustless, minus what the vault's hedge (WETH held)
         gains in that shock.
    """
    n: uint256 = len(self.live_series)
    if n == 0:
        return 0
    spot: uint256 = 0
    _: uint256 = 0
    spot, _ = oracle._latest(feed, FEED_DECIMALS)
    ss: DynArray[Series, MAX_LIVE] = []
    ois: DynArray[uint256, MAX_LIVE] = []
    for sid: uint256 in self.live_series:
        ss.append(self.series[sid])
        ois.append(self.open_interest[sid])
    hedge: int256 = convert(staticcall IVault(vault).hedge_units(), int256)
    worst: int256 = 0
    for shock: int256 in SHOCKS:
        shocked: uint256 = convert(convert(spot, int256) * (WAD_I + shock) // WAD_I, uint256)
        loss: uint256 = 0
        for i: uint256 in range(n, bound=MAX_LIVE):
            if ois[i] != 0:
                loss += ois[i] * self._payoff(ss[i], shocked) // WAD
        # what the hedge gains (or loses) in this shock offsets the payoff
        net: int256 = convert(loss, int256) - hedge * (convert(shocked, int256) - convert(spot, int256)) // WAD_I
        worst = max(worst, net)
    return convert(worst, uint256)


@internal
@view
def _net_greeks() -> (uint256, uint256):
    """
    @dev (|net vega| per 1.00 vol, |net cash gamma| per 1 % spot move) of the
         short book, in wad USD, from the marks cache.
    """
    vega: uint256 = 0
    gamma: uint256 = 0
    for sid: uint256 in self.live_series:
        oi: uint256 = self.open_interest[sid]
        if oi == 0:
            continue
        m: Mark = self.marks[sid]
        vega += oi * m.vega // WAD
        gamma += oi * m.gamma // WAD * m.spot // WAD * m.spot // WAD // 100
    return vega, gamma


@view
@external
@reentrant
def net_greeks() -> (uint256, uint256):
    """
    @notice (|net vega| per 1.00 vol, |net cash gamma| per 1 % move), wad USD.
    """
    return self._net_greeks()


@view
@external
@reentrant
def net_delta() -> int256:
    """
    @notice Net delta of the short book in wad of underlying (negative of
            the buyers' delta), from the marks cache.
    """
    total: int256 = 0
    for sid: uint256 in self.live_series:
        total -= convert(self.open_interest[sid], int256) * self.marks[sid].delta // WAD_I
    return total


@view
@external
@reentrant
def check_sale_limits() -> bool:
    """
    @notice Reverts naming the limit the book now breaks: stress margin over
            NAV x max_utilisation, net vega or net gamma over their caps.
    """
    self._check_marks()
    nav: uint256 = staticcall IVault(vault).totalAssets() * ASSET_SCALE
    assert self._stress_loss() * WAD <= nav * self.max_utilisation, "book: stress margin above max_utilisation"
    vega: uint256 = 0
    gamma: uint256 = 0
    vega, gamma = self._net_greeks()
    assert vega * WAD <= nav * self.max_vega_ratio, "book: net vega above cap"
    assert gamma * WAD <= nav * self.max_gamma_ratio, "book: net gamma above cap"
    return True


@view
@external
@reentrant
def is_open(sid: uint256) -> bool:
    """
    @notice True while the series is live and not yet expired.
    """
    return sid in self.live_series and block.timestamp < self.series[sid].expiry


@internal
@view
def _only_market():
    assert msg.sender == self.market, "book: caller is not the market"


@external
def record_sale(sid: uint256, size: uint256):
    """
    @notice Market only: add `size` (wad of underlying) of short interest.
    """
    self._only_market()
    assert sid in self.live_series, "book: unknown series"
    assert block.timestamp < self.series[sid].expiry, "book: series expired"
    oi: uint256 = self.open_interest[sid] + size
    self.open_interest[sid] = oi
    log SaleRecorded(series_id=sid, size=size, open_interest=oi)


@external
def close_series(sid: uint256) -> uint256:
    """
    @notice Market only, at settlement: drop an expired series from the live
            set (its liability moves to the vault's claims reserve) and return
            its open interest.
    """
    self._only_market()
    assert block.timestamp >= self.series[sid].expiry, "book: series not expired"
    n: uint256 = len(self.live_series)
    found: bool = False
    for i: uint256 in range(n, bound=MAX_LIVE):
        if self.live_series[i] == sid:
            self.live_series[i] = self.live_series[n - 1]
            found = True
            break
    assert found, "book: unknown series"
    self.live_series.pop()
    oi: uint256 = self.open_interest[sid]
    log SeriesClosed(series_id=sid, open_interest=oi)
    return oi


@external
def set_market(market_: address):
    """
    @notice Owner: connect the option market. Once only.
    """
    self._only_owner()
    assert self.market == empty(address), "book: market already set"
    assert market_.is_contract, "book: market not a contract"
    self.market = market_
    log MarketSet(market=market_)


@external
def set_risk_limits(max_utilisation_: uint256, max_vega_ratio_: uint256, max_gamma_ratio_: uint256):
    """
    @notice Owner: stress margin as a fraction of NAV, |vega per 1.00 vol| and
            |cash gamma per 1 % move| as fractions of NAV (wad), within bounds.
    """
    self._only_owner()
    assert max_utilisation_ != 0 and max_utilisation_ <= MAX_UTILISATION, "book: max_utilisation out of bounds"
    assert max_vega_ratio_ != 0 and max_vega_ratio_ <= MAX_VEGA_RATIO, "book: max_vega_ratio out of bounds"
    assert max_gamma_ratio_ != 0 and max_gamma_ratio_ <= MAX_GAMMA_RATIO, "book: max_gamma_ratio out of bounds"
    loosens: bool = max_utilisation_ > self.max_utilisation or max_vega_ratio_ > self.max_vega_ratio or max_gamma_ratio_ > self.max_gamma_ratio
    if not param_timelock._gate(keccak256(slice(msg.data, 0, 100)), loosens):
        return
    self.max_utilisation = max_utilisation_
    self.max_vega_ratio = max_vega_ratio_
    self.max_gamma_ratio = max_gamma_ratio_
    log ParameterSet(name="max_utilisation", value=max_utilisation_)
    log ParameterSet(name="max_vega_ratio", value=max_vega_ratio_)
    log ParameterSet(name="max_gamma_ratio", value=max_gamma_ratio_)


@external
def set_marks_limits(max_mark_age_: uint256, max_spot_drift_: uint256, max_vol_rate_: uint256):
    """
    @notice Owner: marks staleness (seconds), spot drift (wad fraction) and
            vol rate limit (wad vol per second), each inside its hard bounds.
    """
    self._only_owner()
    assert max_mark_age_ >= MIN_MARK_AGE and max_mark_age_ <= MAX_MARK_AGE, "book: max_mark_age out of bounds"
    assert max_spot_drift_ >= MIN_SPOT_DRIFT and max_spot_drift_ <= MAX_SPOT_DRIFT, "book: max_spot_drift out of bounds"
    assert max_vol_rate_ != 0 and max_vol_rate_ <= MAX_VOL_RATE, "book: max_vol_rate out of bounds"
    loosens: bool = max_mark_age_ > self.max_mark_age or max_spot_drift_ > self.max_spot_drift or max_vol_rate_ > self.max_vol_rate
    if not param_timelock._gate(keccak256(slice(msg.data, 0, 100)), loosens):
        return
    self.max_mark_age = max_mark_age_
    self.max_spot_drift = max_spot_drift_
    self.max_vol_rate = max_vol_rate_
    log ParameterSet(name="max_mark_age", value=max_mark_age_)
    log ParameterSet(name="max_spot_drift", value=max_spot_drift_)
    log ParameterSet(name="max_vol_rate", value=max_vol_rate_)


@external
def set_series_limits(strike_band_: uint256, max_horizon_: uint256):
    """
    @notice Owner: strike band around spot (wad fraction) and max expiry
            horizon (seconds) for new series.
    """
    self._only_owner()
    assert strike_band_ != 0 and strike_band_ <= MAX_STRIKE_BAND, "book: strike_band out of bounds"
    assert max_horizon_ >= MIN_TIME_TO_EXPIRY and max_horizon_ <= MAX_HORIZON, "book: max_horizon out of bounds"
    if not param_timelock._gate(keccak256(slice(msg.data, 0, 68)), strike_band_ > self.strike_band or max_horizon_ > self.max_horizon):
        return
    self.strike_band = strike_band_
    self.max_horizon = max_horizon_
    log ParameterSet(name="strike_band", value=strike_band_)
    log ParameterSet(name="max_horizon", value=max_horizon_)


@external
def set_oracle_heartbeat(heartbeat: uint256):
    self._only_owner()
    assert heartbeat >= MIN_HEARTBEAT and heartbeat <= MAX_HEARTBEAT, "book: oracle_heartbeat out of bounds"
    if not param_timelock._gate(keccak256(slice(msg.data, 0, 36)), heartbeat > self.oracle_heartbeat):
        return
    self.oracle_heartbeat = heartbeat
    log ParameterSet(name="oracle_heartbeat", value=heartbeat)


@external
def set_risk_free_rate(rate: int256):
    self._only_owner()
    assert rate >= MIN_RATE and rate <= MAX_RATE, "book: risk_free_rate out of bounds"
    # The rate moves every mark: any change waits out the delay.
    if not param_timelock._gate(keccak256(slice(msg.data, 0, 36)), rate != self.risk_free_rate):
        return
    self.risk_free_rate = rate
    log RateSet(rate=rate)


@external
def cancel_change(change_id: bytes32):
    """
    @notice Owner: drop a queued (loosening) parameter change.
    """
    self._only_owner()
    param_timelock._cancel(change_id)
