# pragma version 0.4.3
# pragma nonreentrancy on
"""
@title Ballast Hedger: bounded delta rebalances on a real Uniswap V3 pool
@notice The keeper asks for a hedge trade; this contract checks it on-chain and
        has the vault (which holds the cash and the WETH hedge) swap through
        the Uniswap V3 SwapRouter. Checks, each with its own revert reason:
        - oracle fresh (heartbeat from the option book);
        - pool TWAP over `twap_window` and the pool's current price both within
          `max_oracle_dex_deviation` of the oracle (a manipulated pool reverts);
        - `min_out` no worse than the oracle price minus `max_slippage`, so a
          sandwich can take at most that;
        - trade notional <= NAV x `max_trade`;
        - `cooldown` seconds since the last rebalance;
        - post-trade net delta (option deltas from the marks cache + hedge)
          inside +-`delta_band` of NAV, or strictly closer to it than before;
        - rolling caps on hedge notional: `max_hourly_notional` and
          `max_daily_notional` (fractions of NAV) over leaky buckets that
          drain linearly over an hour and a day;
        - the risk guard's level (`RiskGuard.poke()`, measured on every
          trade): reduce-only => the trade must shrink |delta|; withdraw-only
          => only selling the hedge back to cash; halted => nothing.
        Owner parameters sit inside hard constants; loosening changes wait out
        the `param_timelock` delay, tightening ones apply at once.
        Keeper silence: after `keeper_timeout` without a keeper rebalance or
        `ping`, anyone may call `fallback_rebalance()`, a trade toward zero
        delta sized (<= 1 % of NAV) and priced on-chain, under the same checks.
        A compromised keeper can waste fees within these caps; it cannot add
        direction, trade large, or trade often.
@custom:kill The vault's guardian shuts the vault down: buying the underlying
        is refused there; selling the hedge back to cash stays possible.
"""

import oracle
import param_timelock
from snekmate.utils import math

initializes: param_timelock
exports: param_timelock.queued


interface IVault:
    def owner() -> address: view
    def keeper() -> address: view
    def asset() -> address: view
    def totalAssets() -> uint256: view
    def hedge_units() -> uint256: view
    def risk_guard() -> address: view
    def hedge_swap(
        router: address, underlying: address, fee: uint24, buy_underlying: bool,
        amount_in: uint256, min_out: uint256, deadline: uint256
    ) -> uint256: nonpayable


interface IBook:
    def net_delta() -> int256: view
    def oracle_heartbeat() -> uint256: view


interface IPool:
    def observe(seconds_agos: DynArray[uint32, 2]) -> (DynArray[int56, 2], DynArray[uint160, 2]): view
    def slot0() -> (uint160, int24, uint16, uint16, uint16, uint8, bool): view
    def token0() -> address: view
    def fee() -> uint24: view


interface IERC20Detailed:
    def decimals() -> uint8: view


interface IGuard:
    def poke() -> uint8: nonpayable


event Rebalanced:
    keeper: indexed(address)
    buy_underlying: bool
    amount_in: uint256
    amount_out: uint256
    delta_before: int256
    delta_after: int256

event FallbackRebalanced:
    caller: indexed(address)
    buy_underlying: bool
    amount_in: uint256
    amount_out: uint256
    delta_before: int256
    delta_after: int256

event KeeperPing:
    keeper: indexed(address)

event ParameterSet:
    name: String[32]
    value: uint256


WAD: constant(uint256) = 10**18
WAD_I: constant(int256) = 10**18
LN_1_0001: constant(int256) = 99995000333308       # ln(1.0001) in wad
Q192: constant(uint256) = 2**192

MIN_TWAP_WINDOW: constant(uint256) = 420           # Opyn Crab's hedging TWAP
MAX_TWAP_WINDOW: constant(uint256) = 7_200
MAX_DEVIATION: constant(uint256) = 5 * 10**16      # 5 %
MAX_SLIPPAGE: constant(uint256) = 3 * 10**16       # 3 %
MAX_TRADE: constant(uint256) = 25 * 10**16         # 25 % of NAV per trade
MAX_COOLDOWN: constant(uint256) = 86_400
MAX_DELTA_BAND: constant(uint256) = 2 * 10**17     # 20 % of NAV
MIN_KEEPER_TIMEOUT: constant(uint256) = 3_600
MAX_KEEPER_TIMEOUT: constant(uint256) = 7 * 86_400
FALLBACK_TRADE: constant(uint256) = 10**16         # a fallback trade moves <= 1 % of NAV
MAX_HOURLY_NOTIONAL: constant(uint256) = 10**18    # <= 100 % of NAV per rolling hour
MAX_DAILY_NOTIONAL: constant(uint256) = 3 * 10**18 # <= 300 % of NAV per rolling day
HOUR: constant(uint256) = 3_600
DAY: constant(uint256) = 86_400
# sqrt(1.01) - 1 and 1 - 1/sqrt(1.01) in wad: the change of sqrt(price)
# (resp. 1/sqrt(price)) for a 1 % price move, for the pool depth.
DEPTH_UP: constant(uint256) = 4987562112089027
DEPTH_DOWN: constant(uint256) = 4962809790009914
REDUCE_ONLY: constant(uint8) = 1
WITHDRAW_ONLY: constant(uint8) = 2
HALTED: constant(uint8) = 3

vault: public(immutable(address))
book: public(immutable(address))
router: public(immutable(address))
pool: public(immutable(address))
underlying: public(immutable(address))
feed: public(immutable(address))
FEED_DECIMALS: immutable(uint8)
ASSET_SCALE: immutable(uint256)      # 10**(18 - asset decimals)
UNDERLYING_IS_TOKEN0: immutable(bool)
FEE: immutable(uint24)

twap_window: public(uint256)
max_oracle_dex_deviation: public(uint256)
max_slippage: public(uint256)
max_trade: public(uint256)
cooldown: public(uint256)
delta_band: public(uint256)
last_rebalance: public(uint256)
# Keeper silence: after `keeper_timeout` seconds with no keeper rebalance or
# ping, anyone may call `fallback_rebalance()`.
keeper_timeout: public(uint256)
last_keeper_action: public(uint256)
# Rolling hedge-notional caps (wad fractions of NAV) and their buckets (wad USD).
max_hourly_notional: public(uint256)
max_daily_notional: public(uint256)
hourly_used: public(uint256)
daily_used: public(uint256)
caps_updated_at: public(uint256)


@deploy
def __init__(vault_: address, book_: address, router_: address, pool_: address, underlying_: address, feed_: address):
    vault = vault_
    book = book_
    router = router_
    pool = pool_
    underlying = underlying_
    feed = feed_
    FEED_DECIMALS = oracle._feed_decimals(feed_)
    asset_decimals: uint8 = staticcall IERC20Detailed(staticcall IVault(vault_).asset()).decimals()
    ASSET_SCALE = 10 ** convert(18 - asset_decimals, uint256)
    assert staticcall IERC20Detailed(underlying_).decimals() == 18, "hedger: underlying must have 18 decimals"
    UNDERLYING_IS_TOKEN0 = staticcall IPool(pool_).token0() == underlying_
    FEE = staticcall IPool(pool_).fee()
    self.twap_window = 600
    self.max_oracle_dex_deviation = 15 * 10**15   # 1.5 %
    self.max_slippage = 10**16                    # 100 bps
    self.max_trade = 10**17                       # 10 % of NAV
    self.cooldown = 300
    self.delta_band = 10**16                      # +-1 % of NAV in delta dollars
    self.keeper_timeout = 6 * 3_600
    self.last_keeper_action = block.timestamp
    self.max_hourly_notional = 3 * 10**17        # 30 % of NAV per rolling hour
    self.max_daily_notional = 10**18             # 100 % of NAV per rolling day


# ---------------------------------------------------------------- prices

@view
@internal
def _usd_per_underlying_from_raw(raw_wad: uint256) -> uint256:
    """
    @dev Pool raw price (token1 per token0, wad) -> USD per 1 underlying, wad.
         underlying has 18 decimals, the asset 18 - log10(ASSET_SCALE).
    """
    if UNDERLYING_IS_TOKEN0:
        return raw_wad * ASSET_SCALE
    return WAD * WAD * ASSET_SCALE // raw_wad


@view
@internal
def _observe() -> (int256, uint256):
    """
    @dev (arithmetic-mean tick, harmonic-mean in-range liquidity) over
         `twap_window`, from the pool's observations (as Uniswap's
         OracleLibrary.consult): neither moves much in one block, so a
         flash swap can fake neither.
    """
    window: uint256 = self.twap_window
    ticks: DynArray[int56, 2] = []
    spl: DynArray[uint160, 2] = []
    ticks, spl = staticcall IPool(pool).observe([convert(window, uint32), 0])
    mean_tick: int256 = convert(ticks[1] - ticks[0], int256) // convert(window, int256)
    # seconds per liquidity (X128) accumulated over the window; uint160 wraps
    d: uint256 = (convert(spl[1], uint256) + 2**160 - convert(spl[0], uint256)) % 2**160
    harmonic: uint256 = convert(max_value(uint128), uint256)
    if d != 0:
        harmonic = min(window * (2**160 - 1) // (d << 32), convert(max_value(uint128), uint256))
    return mean_tick, harmonic


@view
@internal
def _price_at(mean_tick: int256) -> uint256:
    raw: int256 = math._wad_exp(mean_tick * LN_1_0001)
    return self._usd_per_underlying_from_raw(convert(raw, uint256))


@view
@internal
def _depth(mean_tick: int256, liq: uint256) -> uint256:
    """
    @dev USD (wad) of the quote token that moves the pool price by 1 % with
         liquidity `liq` around `mean_tick`.
    """
    # sqrt of the raw price (token1 per token0), wad
    sqrt_p: uint256 = convert(math._wad_exp(mean_tick * LN_1_0001 // 2), uint256)
    if UNDERLYING_IS_TOKEN0:
        # quote is token1: dy = L x d(sqrtP)
        return math._mul_div(math._mul_div(liq, sqrt_p, WAD, False), DEPTH_UP, WAD, False) * ASSET_SCALE
    # quote is token0: dx = L x d(1/sqrtP)
    return math._mul_div(math._mul_div(liq, WAD, sqrt_p, False), DEPTH_DOWN, WAD, False) * ASSET_SCALE


@view
@internal
def _twap() -> uint256:
    mean_tick: int256 = 0
    _: uint256 = 0
    mean_tick, _ = self._observe()
    return self._price_at(mean_tick)


@view
@internal
def _pool_spot() -> uint256:
    sqrt_p: uint160 = (staticcall IPool(pool).slot0())[0]
    s: uint256 = convert(sqrt_p, uint256)
    raw: uint256 = math._mul_div(s * s, WAD, Q192, False)
    return self._usd_per_underlying_from_raw(raw)


@view
@internal
def _within(a: uint256, ref: uint256, tol: uint256) -> bool:
    diff: uint256 = 0
    if a > ref:
        diff = a - ref
    else:
        diff = ref - a
    return diff * WAD <= tol * ref


@view
@external
@reentrant
def prices() -> (uint256, uint256, uint256):
    """
    @notice (oracle, pool TWAP, pool spot) in wad USD per underlying.
    """
    spot: uint256 = 0
    _: uint256 = 0
    spot, _ = oracle._latest(feed, FEED_DECIMALS)
    return spot, self._twap(), self._pool_spot()


@view
@external
@reentrant
def pool_depth() -> uint256:
    """
    @notice USD (wad) of the quote token it takes to move the pool price by
            1 %, from the harmonic-mean in-range liquidity and the mean tick
            over `twap_window` (so one block's swaps cannot fake it): the
            depth the risk guard's `thin_liquidity` breaker compares with NAV.
    """
    mean_tick: int256 = 0
    liq: uint256 = 0
    mean_tick, liq = self._observe()
    return self._depth(mean_tick, liq)


@view
@external
@reentrant
def pool_readings() -> (uint256, uint256):
    """
    @notice (pool TWAP in wad USD per underlying, `pool_depth()`) from one
            `observe` call: what the risk guard measures.
    """
    mean_tick: int256 = 0
    liq: uint256 = 0
    mean_tick, liq = self._observe()
    return self._price_at(mean_tick), self._depth(mean_tick, liq)


@view
@internal
def _bucket(used: uint256, cap: uint256, window: uint256, elapsed: uint256) -> uint256:
    """
    @dev A leaky bucket: `used` drains at `cap` per `window`.
    """
    drained: uint256 = cap * min(elapsed, window) // window
    if drained >= used:
        return 0
    return used - drained


@view
@external
@reentrant
def net_delta() -> int256:
    """
    @notice Vault net delta in wad of underlying: short options + hedge.
    """
    return self._net_delta()


# ---------------------------------------------------------------- rebalance

@internal
def _guard_level() -> uint8:
    g: address = staticcall IVault(vault).risk_guard()
    if g == empty(address):
        return 0
    return extcall IGuard(g).poke()


@internal
def _use_caps(notional: uint256, nav: uint256):
    """
    @dev Charge `notional` (wad USD) to the rolling hourly and daily buckets.
    """
    elapsed: uint256 = block.timestamp - self.caps_updated_at
    hour_cap: uint256 = nav * self.max_hourly_notional // WAD
    day_cap: uint256 = nav * self.max_daily_notional // WAD
    hourly: uint256 = self._bucket(self.hourly_used, hour_cap, HOUR, elapsed) + notional
    daily: uint256 = self._bucket(self.daily_used, day_cap, DAY, elapsed) + notional
    assert hourly <= hour_cap, "hedger: hourly hedge notional cap"
    assert daily <= day_cap, "hedger: daily hedge notional cap"
    self.hourly_used = hourly
    self.daily_used = daily
    self.caps_updated_at = block.timestamp


@internal
def _rebalance(buy_underlying: bool, amount_in: uint256, min_out: uint256, deadline: uint256, spot: uint256, nav: uint256) -> (uint256, int256, int256):
    """
    @dev The checks every hedge trade passes, then the swap. Returns
         (received, delta before, delta after).
    """
    assert amount_in != 0, "hedger: zero size"
    assert block.timestamp <= deadline, "hedger: deadline passed"
    level: uint8 = self._guard_level()
    assert level < HALTED, "hedger: vault halted"
    assert level < WITHDRAW_ONLY or not buy_underlying, "hedger: withdraw-only: may only sell the hedge"
    assert block.timestamp >= self.last_rebalance + self.cooldown, "hedger: cooldown"
    dev: uint256 = self.max_oracle_dex_deviation
    assert self._within(self._twap(), spot, dev), "hedger: pool TWAP deviates from oracle"
    assert self._within(self._pool_spot(), spot, dev), "hedger: pool price deviates from oracle"

    # Notional in wad USD, the oracle-priced expected output, and the floor.
    notional: uint256 = 0
    expected: uint256 = 0
    if buy_underlying:
        notional = amount_in * ASSET_SCALE
        expected = notional * WAD // spot
    else:
        notional = amount_in * spot // WAD
        expected = notional // ASSET_SCALE
    min_floor: uint256 = expected * (WAD - self.max_slippage) // WAD
    assert min_out >= min_floor, "hedger: min_out below oracle floor"
    assert notional * WAD <= nav * self.max_trade, "hedger: trade above max_trade"
    self._use_caps(notional, nav)

    before: int256 = self._net_delta()
    received: uint256 = extcall IVault(vault).hedge_swap(
        router, underlying, FEE, buy_underlying, amount_in, min_out, deadline
    )
    after: int256 = self._net_delta()

    # Band in underlying units: delta_band x NAV / spot.
    if level == REDUCE_ONLY:
        assert abs(after) < abs(before), "hedger: reduce-only: trade must shrink |delta|"
    elif level == 0:
        band: int256 = convert(self.delta_band * nav // spot, int256)
        assert abs(after) <= band or abs(after) < abs(before), "hedger: trade moves delta away from band"
    # withdraw-only: closing the hedge is allowed whatever it does to delta
    self.last_rebalance = block.timestamp
    return received, before, after


@view
@internal
def _net_delta() -> int256:
    return staticcall IBook(book).net_delta() + convert(staticcall IVault(vault).hedge_units(), int256)


@internal
def _only_keeper():
    assert msg.sender == staticcall IVault(vault).keeper(), "hedger: caller is not the keeper"


@internal
def _spot() -> uint256:
    return oracle._fresh(feed, FEED_DECIMALS, staticcall IBook(book).oracle_heartbeat())


@external
def rebalance(buy_underlying: bool, amount_in: uint256, min_out: uint256, deadline: uint256) -> uint256:
    """
    @notice Keeper: buy (cash -> underlying) or sell (underlying -> cash)
            `amount_in` with at least `min_out` back, before `deadline`.
            Returns the amount received. Every bound is checked here.
    """
    self._only_keeper()
    spot: uint256 = self._spot()
    nav: uint256 = staticcall IVault(vault).totalAssets() * ASSET_SCALE
    received: uint256 = 0
    before: int256 = 0
    after: int256 = 0
    received, before, after = self._rebalance(buy_underlying, amount_in, min_out, deadline, spot, nav)
    self.last_keeper_action = block.timestamp
    log Rebalanced(
        keeper=msg.sender, buy_underlying=buy_underlying, amount_in=amount_in, amount_out=received,
        delta_before=before, delta_after=after,
    )
    return received


@external
def ping():
    """
    @notice Keeper: "I am alive" without trading (resets the silence clock).
    """
    self._only_keeper()
    self.last_keeper_action = block.timestamp
    log KeeperPing(keeper=msg.sender)


@external
def fallback_rebalance() -> uint256:
    """
    @notice Anyone, once the keeper has been silent for `keeper_timeout`: one
            bounded trade toward zero delta, sized and priced on-chain (at
            most 1 % of NAV and the delta itself; `min_out` = oracle price
            minus `max_slippage`). All the keeper's checks apply.
    """
    assert block.timestamp >= self.last_keeper_action + self.keeper_timeout, "hedger: keeper still active"
    spot: uint256 = self._spot()
    nav: uint256 = staticcall IVault(vault).totalAssets() * ASSET_SCALE
    delta: int256 = self._net_delta()
    assert delta != 0, "hedger: already delta neutral"
    # notional to trade, in wad USD: min(|delta| x spot, 1 % of NAV)
    notional: uint256 = min(convert(abs(delta), uint256) * spot // WAD, nav * FALLBACK_TRADE // WAD)
    buy: bool = delta < 0
    amount_in: uint256 = 0
    min_out: uint256 = 0
    if buy:
        amount_in = notional // ASSET_SCALE
        min_out = amount_in * ASSET_SCALE * WAD // spot * (WAD - self.max_slippage) // WAD
    else:
        amount_in = notional * WAD // spot
        min_out = amount_in * spot // WAD // ASSET_SCALE * (WAD - self.max_slippage) // WAD
    received: uint256 = 0
    before: int256 = 0
    after: int256 = 0
    received, before, after = self._rebalance(buy, amount_in, min_out, block.timestamp, spot, nav)
    log FallbackRebalanced(
        caller=msg.sender, buy_underlying=buy, amount_in=amount_in, amount_out=received,
        delta_before=before, delta_after=after,
    )
    return received


# ---------------------------------------------------------------- parameters

@external
def set_keeper_timeout(timeout: uint256):
    """
    @notice Owner: seconds of keeper silence before anyone may rebalance.
    """
    self._only_owner()
    assert timeout >= MIN_KEEPER_TIMEOUT and timeout <= MAX_KEEPER_TIMEOUT, "hedger: keeper_timeout out of bounds"
    if not param_timelock._gate(keccak256(slice(msg.data, 0, 36)), timeout > self.keeper_timeout):
        return
    self.keeper_timeout = timeout
    log ParameterSet(name="keeper_timeout", value=timeout)


@external
def set_hedge_limits(
    twap_window_: uint256, max_deviation_: uint256, max_slippage_: uint256,
    max_trade_: uint256, cooldown_: uint256, delta_band_: uint256
):
    """
    @notice Owner: every hedging bound, each within its hard constant.
    """
    self._only_owner()
    assert twap_window_ >= MIN_TWAP_WINDOW and twap_window_ <= MAX_TWAP_WINDOW, "hedger: twap_window out of bounds"
    assert max_deviation_ != 0 and max_deviation_ <= MAX_DEVIATION, "hedger: max_oracle_dex_deviation out of bounds"
    assert max_slippage_ != 0 and max_slippage_ <= MAX_SLIPPAGE, "hedger: max_slippage out of bounds"
    assert max_trade_ != 0 and max_trade_ <= MAX_TRADE, "hedger: max_trade out of bounds"
    assert cooldown_ <= MAX_COOLDOWN, "hedger: cooldown out of bounds"
    assert delta_band_ <= MAX_DELTA_BAND, "hedger: delta_band out of bounds"
    loosens: bool = (
        twap_window_ < self.twap_window
        or max_deviation_ > self.max_oracle_dex_deviation
        or max_slippage_ > self.max_slippage
        or max_trade_ > self.max_trade
        or cooldown_ < self.cooldown
        or delta_band_ > self.delta_band
    )
    if not param_timelock._gate(keccak256(slice(msg.data, 0, 196)), loosens):
        return
    self.twap_window = twap_window_
    self.max_oracle_dex_deviation = max_deviation_
    self.max_slippage = max_slippage_
    self.max_trade = max_trade_
    self.cooldown = cooldown_
    self.delta_band = delta_band_
    log ParameterSet(name="twap_window", value=twap_window_)
    log ParameterSet(name="max_oracle_dex_deviation", value=max_deviation_)
    log ParameterSet(name="max_slippage", value=max_slippage_)
    log ParameterSet(name="max_trade", value=max_trade_)
    log ParameterSet(name="cooldown", value=cooldown_)
    log ParameterSet(name="delta_band", value=delta_band_)


@external
def set_hedge_caps(max_hourly_notional_: uint256, max_daily_notional_: uint256):
    """
    @notice Owner: rolling hedge-notional caps per hour and per day, as wad
            fractions of NAV, within their hard constants.
    """
    self._only_owner()
    assert max_hourly_notional_ != 0 and max_hourly_notional_ <= MAX_HOURLY_NOTIONAL, "hedger: max_hourly_notional out of bounds"
    assert max_daily_notional_ >= max_hourly_notional_ and max_daily_notional_ <= MAX_DAILY_NOTIONAL, "hedger: max_daily_notional out of bounds"
    loosens: bool = max_hourly_notional_ > self.max_hourly_notional or max_daily_notional_ > self.max_daily_notional
    if not param_timelock._gate(keccak256(slice(msg.data, 0, 68)), loosens):
        return
    self.max_hourly_notional = max_hourly_notional_
    self.max_daily_notional = max_daily_notional_
    log ParameterSet(name="max_hourly_notional", value=max_hourly_notional_)
    log ParameterSet(name="max_daily_notional", value=max_daily_notional_)


@external
def cancel_change(change_id: bytes32):
    """
    @notice Owner: drop a queued (loosening) parameter change.
    """
    self._only_owner()
    param_timelock._cancel(change_id)


@internal
def _only_owner():
    assert msg.sender == staticcall IVault(vault).owner(), "hedger: caller is not the owner"
