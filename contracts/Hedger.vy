# pragma version 0.4.3
# pragma nonreentrancy on
"""
@title Ballast Hedger: bounded delta rebalances on a real Uniswap V3 pool
@notice The keeper asks for a hedge trade; this contract checks it and has the
        vault (which holds the cash and the WETH hedge) swap through the
        Uniswap V3 SwapRouter. The oracle and pool come from the risk guard's
        reading of this transaction (Ballast's one reader); the level, the
        deviation knob and the band are the guard's. Checks, each with its own
        revert reason:
        - the guard's level (measured now): reduce-only => |delta| must
          shrink; withdraw-only => only selling the hedge; halted => nothing;
        - oracle fresh; pool TWAP and pool spot within the guard's
          `max_deviation` of the oracle (a manipulated pool reverts);
        - the book's aggregates fresh (the delta they give is today's);
        - `min_out` no worse than the oracle value minus `max_slippage`, so a
          sandwich can take at most that;
        - trade notional <= NAV x `max_trade`; `cooldown` since the last trade;
        - rolling notional caps, `max_hourly_notional` and
          `max_daily_notional` of NAV, as leaky buckets (empty once a full
          window has passed, whatever NAV did meanwhile);
        - at normal level, post-trade |delta| x spot <= NAV x the guard's band
          (the owner's band x the keeper's risk budget), or |delta| shrank.
        Vault delta = hedge - the buyers' delta of the live series (expired
        series carry none).
        Settlement cash: while the vault's cash is below the expired
        in-the-money payoffs, anyone may `raise_settlement_cash()`, a sale of
        hedge up to the shortfall at the oracle floor (no band, bucket or
        cooldown: it only reduces risk). Keeper silence: after
        `keeper_timeout` without a keeper trade or `ping`, anyone may call
        `fallback_rebalance()`, a trade toward zero delta of at most
        FALLBACK_TRADE of NAV, under the same checks.
        A compromised keeper can waste fees within these caps; it cannot add
        direction, trade large, or trade often.
@custom:kill The vault's guardian shuts the vault down: buying the underlying
        is refused there; selling the hedge back to cash stays possible.
"""

from interfaces import IHedger
from interfaces import IOptionBook
from interfaces import IRiskGuard
from interfaces import IVault
from interfaces import IUniswapV3Pool
from ethereum.ercs import IERC20Detailed
import constants as c
import param_timelock

implements: IHedger

initializes: param_timelock
exports: (param_timelock.queued, param_timelock.cancel_change)


WAD: constant(uint256) = c.WAD
HOUR: constant(uint256) = 3_600
DAY: constant(uint256) = 86_400
KEEPER: constant(uint8) = 0
FALLBACK: constant(uint8) = 1
SETTLEMENT: constant(uint8) = 2

vault: public(immutable(address))
book: public(immutable(address))
guard: public(immutable(address))
router: public(immutable(address))
pool: public(immutable(address))
underlying: public(immutable(address))
ASSET_SCALE: immutable(uint256)      # 10**(18 - asset decimals)
FEE: immutable(uint24)

# Packed storage (a rebalance reads each slot once); every field has a getter
# of its own name below.
# _params: max_slippage | max_trade | max_hourly_notional | max_daily_notional (64 each)
# _times:  cooldown (32) | keeper_timeout (32) | last_rebalance | last_keeper_action | caps_updated_at (64 each)
# _used:   hourly_used | daily_used (128 each): leaky buckets of hedge notional, wad USD
_params: uint256
_times: uint256
_used: uint256
M32: constant(uint256) = 2**32 - 1
M64: constant(uint256) = 2**64 - 1
M128: constant(uint256) = 2**128 - 1


struct Params:
    max_slippage: uint256
    max_trade: uint256
    max_hourly_notional: uint256
    max_daily_notional: uint256


struct Times:
    cooldown: uint256
    keeper_timeout: uint256
    last_rebalance: uint256
    last_keeper_action: uint256
    caps_updated_at: uint256


@deploy
def __init__(vault_: address, book_: address, guard_: address, router_: address, pool_: address, underlying_: address):
    """
    @param vault_ The vault (holds cash and hedge; swaps for this contract).
    @param book_ The option book (the buyers' delta).
    @param guard_ The risk guard (level, reading, deviation knob, band).
    @param router_ Uniswap V3 SwapRouter.
    @param pool_ The Uniswap V3 pool of the underlying and the vault asset.
    @param underlying_ The underlying token (18 decimals).
    """
    assert vault_.is_contract and book_.is_contract and guard_.is_contract, "hedger: not a contract"
    vault = vault_
    book = book_
    guard = guard_
    router = router_
    pool = pool_
    underlying = underlying_
    asset_decimals: uint8 = staticcall IERC20Detailed(staticcall IVault(vault_).asset()).decimals()
    ASSET_SCALE = 10 ** convert(18 - asset_decimals, uint256)
    assert staticcall IERC20Detailed(underlying_).decimals() == 18, "hedger: underlying must have 18 decimals"
    FEE = staticcall IUniswapV3Pool(pool_).fee()
    param_timelock.__init__(vault_)
    self._store_params(Params(
        max_slippage=c.DEFAULT_MAX_SLIPPAGE, max_trade=c.DEFAULT_MAX_TRADE,
        max_hourly_notional=c.DEFAULT_MAX_HOURLY_NOTIONAL, max_daily_notional=c.DEFAULT_MAX_DAILY_NOTIONAL,
    ))
    self._store_times(Times(
        cooldown=c.DEFAULT_HEDGE_COOLDOWN, keeper_timeout=c.DEFAULT_KEEPER_TIMEOUT,
        last_rebalance=0, last_keeper_action=block.timestamp, caps_updated_at=0,
    ))


# ---------------------------------------------------------------- packing

@view
@internal
def _load_params() -> Params:
    x: uint256 = self._params
    return Params(max_slippage=x & M64, max_trade=(x >> 64) & M64, max_hourly_notional=(x >> 128) & M64, max_daily_notional=x >> 192)


@internal
def _store_params(p: Params):
    self._params = p.max_slippage | (p.max_trade << 64) | (p.max_hourly_notional << 128) | (p.max_daily_notional << 192)


@view
@internal
def _load_times() -> Times:
    x: uint256 = self._times
    return Times(
        cooldown=x & M32, keeper_timeout=(x >> 32) & M32, last_rebalance=(x >> 64) & M64,
        last_keeper_action=(x >> 128) & M64, caps_updated_at=x >> 192,
    )


@internal
def _store_times(t: Times):
    self._times = (
        t.cooldown | (t.keeper_timeout << 32) | (t.last_rebalance << 64)
        | (t.last_keeper_action << 128) | (t.caps_updated_at << 192)
    )


# ---------------------------------------------------------------- reading

@pure
@internal
def _within(a: uint256, ref: uint256, tol: uint256) -> bool:
    diff: uint256 = 0
    if a > ref:
        diff = a - ref
    else:
        diff = ref - a
    return diff * WAD <= tol * ref


@internal
def _reading() -> IRiskGuard.Reading:
    """
    @dev The guard's reading of this transaction, checked for a fresh oracle
         and a pool (TWAP and spot) within the deviation knob.
    """
    r: IRiskGuard.Reading = extcall IRiskGuard(guard).read()
    assert r.fresh, "hedger: oracle stale"
    dev: uint256 = staticcall IRiskGuard(guard).max_deviation()
    assert r.twap != 0 and self._within(r.twap, r.spot, dev), "hedger: pool TWAP deviates from oracle"
    assert self._within(r.pool_spot, r.spot, dev), "hedger: pool price deviates from oracle"
    return r


@view
@internal
def _delta(spot: uint256, hedge: uint256) -> (int256, bool):
    """
    @dev (vault delta in wad underlying, aggregates fresh) at `spot`.
    """
    v: IOptionBook.Valuation = staticcall IOptionBook(book).valuation(spot, hedge)
    return convert(hedge, int256) - v.delta, v.fresh


@view
@external
@reentrant
def net_delta() -> int256:
    """
    @notice Vault net delta in wad of underlying (hedge minus the buyers'
            delta), at the oracle's latest spot.
    @return Wad of underlying; > 0 long, < 0 short.
    """
    spot: uint256 = 0
    updated: uint256 = 0
    spot, updated = staticcall IRiskGuard(guard).spot()
    d: int256 = 0
    fresh: bool = False
    d, fresh = self._delta(spot, staticcall IVault(vault).hedge_units())
    return d


@view
@external
def prices() -> (uint256, uint256, uint256):
    """
    @notice (oracle, pool TWAP, pool spot), wad USD per underlying, from the
            guard's live reading.
    @return The three prices.
    """
    r: IRiskGuard.Reading = staticcall IRiskGuard(guard).reading()
    return r.spot, r.twap, r.pool_spot


# ---------------------------------------------------------------- rebalance

@pure
@internal
def _bucket(used: uint256, cap: uint256, window: uint256, elapsed: uint256) -> uint256:
    """
    @dev A leaky bucket: `used` drains at `cap` per `window`, and is empty
         once a whole window has passed (so a fall in NAV, which lowers
         `cap`, can hold trades back for at most one window).
    """
    if elapsed >= window:
        return 0
    drained: uint256 = cap * elapsed // window
    if drained >= used:
        return 0
    return used - drained


@internal
def _use_caps(notional: uint256, nav: uint256, p: Params, t: Times) -> Times:
    """
    @dev Charge `notional` (wad USD) to the rolling hourly and daily buckets.
    """
    elapsed: uint256 = block.timestamp - t.caps_updated_at
    hour_cap: uint256 = nav * p.max_hourly_notional // WAD
    day_cap: uint256 = nav * p.max_daily_notional // WAD
    u: uint256 = self._used
    hourly: uint256 = self._bucket(u & M128, hour_cap, HOUR, elapsed) + notional
    daily: uint256 = self._bucket(u >> 128, day_cap, DAY, elapsed) + notional
    assert hourly <= hour_cap, "hedger: hourly hedge notional cap"
    assert daily <= day_cap, "hedger: daily hedge notional cap"
    self._used = hourly | (daily << 128)
    out: Times = t
    out.caps_updated_at = block.timestamp
    return out


@view
@internal
def _floor(buy_underlying: bool, amount_in: uint256, spot: uint256, max_slippage: uint256) -> (uint256, uint256):
    """
    @dev (notional wad USD, least acceptable output) of a trade at the
         oracle price minus `max_slippage`.
    """
    notional: uint256 = 0
    expected: uint256 = 0
    if buy_underlying:
        notional = amount_in * ASSET_SCALE
        expected = notional * WAD // spot
    else:
        notional = amount_in * spot // WAD
        expected = notional // ASSET_SCALE
    return notional, expected * (WAD - max_slippage) // WAD


@internal
def _swap(kind: uint8, buy_underlying: bool, amount_in: uint256, min_out: uint256, deadline: uint256, before: int256) -> (uint256, int256):
    """
    @dev Have the vault swap; returns (received, vault delta after).
    """
    received: uint256 = extcall IVault(vault).hedge_swap(
        router, underlying, FEE, buy_underlying, amount_in, min_out, deadline
    )
    after: int256 = before
    if buy_underlying:
        after += convert(received, int256)
    else:
        after -= convert(amount_in, int256)
    log IHedger.Rebalanced(
        caller=msg.sender, kind=kind, buy_underlying=buy_underlying, amount_in=amount_in,
        amount_out=received, delta_before=before, delta_after=after,
    )
    return received, after


@internal
def _rebalance(kind: uint8, buy_underlying: bool, amount_in: uint256, min_out: uint256, deadline: uint256) -> uint256:
    """
    @dev Every check a hedge trade passes, then the swap.
    """
    assert amount_in != 0, "hedger: zero size"
    assert block.timestamp <= deadline, "hedger: deadline passed"
    level: uint8 = extcall IRiskGuard(guard).poke()
    assert level < c.HALTED, "hedger: vault halted"
    assert level < c.WITHDRAW_ONLY or not buy_underlying, "hedger: withdraw-only: may only sell the hedge"
    p: Params = self._load_params()
    t: Times = self._load_times()
    assert block.timestamp >= t.last_rebalance + t.cooldown, "hedger: cooldown"
    r: IRiskGuard.Reading = self._reading()
    nav_units: uint256 = 0
    marks_fresh: bool = False
    nav_units, marks_fresh = staticcall IVault(vault).nav_quick()
    hedge: uint256 = staticcall IVault(vault).hedge_units()
    before: int256 = 0
    fresh: bool = False
    before, fresh = self._delta(r.spot, hedge)
    assert fresh, "hedger: marks stale, call update_marks"

    nav: uint256 = nav_units * ASSET_SCALE
    notional: uint256 = 0
    least: uint256 = 0
    notional, least = self._floor(buy_underlying, amount_in, r.spot, p.max_slippage)
    assert min_out >= least, "hedger: min_out below oracle floor"
    assert notional * WAD <= nav * p.max_trade, "hedger: trade above max_trade"
    t = self._use_caps(notional, nav, p, t)
    t.last_rebalance = block.timestamp
    if kind == KEEPER:
        t.last_keeper_action = block.timestamp
    self._store_times(t)
    received: uint256 = 0
    after: int256 = 0
    received, after = self._swap(kind, buy_underlying, amount_in, min_out, deadline, before)
    if level == c.REDUCE_ONLY:
        assert abs(after) < abs(before), "hedger: reduce-only: trade must shrink |delta|"
    elif level == c.NORMAL:
        band: int256 = convert(staticcall IRiskGuard(guard).band() * nav // r.spot, int256)
        assert abs(after) <= band or abs(after) < abs(before), "hedger: trade moves delta away from band"
    # withdraw-only: selling the hedge is allowed whatever it does to delta
    return received


@external
def rebalance(buy_underlying: bool, amount_in: uint256, min_out: uint256, deadline: uint256) -> uint256:
    """
    @notice Keeper: buy (cash -> underlying) or sell (underlying -> cash)
            `amount_in` with at least `min_out` back, before `deadline`.
            Every bound is checked here.
    @param buy_underlying True: spend asset units for WETH; False: sell WETH.
    @param amount_in Asset units (buying) or wad of WETH (selling).
    @param min_out Least output accepted (WETH wad or asset units).
    @param deadline Unix time.
    @return The amount received.
    """
    assert msg.sender == staticcall IVault(vault).keeper(), "hedger: caller is not the keeper"
    return self._rebalance(KEEPER, buy_underlying, amount_in, min_out, deadline)


@external
def ping():
    """
    @notice Keeper: "I am alive" without trading (resets the silence clock).
    """
    assert msg.sender == staticcall IVault(vault).keeper(), "hedger: caller is not the keeper"
    t: Times = self._load_times()
    t.last_keeper_action = block.timestamp
    self._store_times(t)
    log IHedger.KeeperPing(keeper=msg.sender)


@external
def fallback_rebalance() -> uint256:
    """
    @notice Anyone, once the keeper has been silent for `keeper_timeout`: one
            bounded trade toward zero delta, sized and priced on-chain (at
            most FALLBACK_TRADE of NAV and the delta itself; `min_out` at the
            oracle floor). All the keeper's checks apply.
    @return The amount received.
    """
    t: Times = self._load_times()
    assert block.timestamp >= t.last_keeper_action + t.keeper_timeout, "hedger: keeper still active"
    r: IRiskGuard.Reading = self._reading()
    nav_units: uint256 = 0
    marks_fresh: bool = False
    nav_units, marks_fresh = staticcall IVault(vault).nav_quick()
    delta: int256 = 0
    fresh: bool = False
    delta, fresh = self._delta(r.spot, staticcall IVault(vault).hedge_units())
    assert delta != 0, "hedger: already delta neutral"
    notional: uint256 = min(convert(abs(delta), uint256) * r.spot // WAD, nav_units * ASSET_SCALE * c.FALLBACK_TRADE // WAD)
    buy: bool = delta < 0
    amount_in: uint256 = notional * WAD // r.spot
    if buy:
        amount_in = notional // ASSET_SCALE
    least: uint256 = 0
    notional, least = self._floor(buy, amount_in, r.spot, self._load_params().max_slippage)
    return self._rebalance(FALLBACK, buy, amount_in, least, block.timestamp)


@external
def raise_settlement_cash() -> uint256:
    """
    @notice Anyone, while the vault's cash is below the expired in-the-money
            payoffs: re-mark the book, then sell hedge for the shortfall (plus
            the slippage allowance) at the oracle floor. Oracle and pool checks apply; the
            band, buckets and cooldown do not (it only reduces risk).
    @return Asset units received.
    """
    level: uint8 = extcall IRiskGuard(guard).poke()
    assert level < c.HALTED, "hedger: vault halted"
    r: IRiskGuard.Reading = self._reading()
    # re-mark first, so every series that has expired counts in the need
    extcall IOptionBook(book).update_marks()
    need: uint256 = (staticcall IOptionBook(book).settle_need() + ASSET_SCALE - 1) // ASSET_SCALE
    cash: uint256 = staticcall IVault(vault).total_idle()
    assert cash < need, "hedger: cash covers the settlements"
    hedge: uint256 = staticcall IVault(vault).hedge_units()
    assert hedge != 0, "hedger: no hedge to sell"
    # WETH for the shortfall at the floor price, rounded up
    max_slippage: uint256 = self._load_params().max_slippage
    slip: uint256 = WAD - max_slippage
    amount_in: uint256 = min(hedge, ((need - cash) * ASSET_SCALE * WAD * WAD // slip + r.spot - 1) // r.spot + 1)
    notional: uint256 = 0
    least: uint256 = 0
    notional, least = self._floor(False, amount_in, r.spot, max_slippage)
    before: int256 = 0
    fresh: bool = False
    before, fresh = self._delta(r.spot, hedge)
    received: uint256 = 0
    after: int256 = 0
    received, after = self._swap(SETTLEMENT, False, amount_in, least, block.timestamp, before)
    return received


# ---------------------------------------------------------------- parameters

@internal
def _only_owner():
    assert msg.sender == param_timelock._owner(), "hedger: caller is not the owner"


@external
def set_keeper_timeout(timeout: uint256):
    """
    @notice Owner: seconds of keeper silence before anyone may rebalance.
    @param timeout Seconds in [MIN_KEEPER_TIMEOUT, MAX_KEEPER_TIMEOUT].
    """
    self._only_owner()
    assert timeout >= c.MIN_KEEPER_TIMEOUT and timeout <= c.MAX_KEEPER_TIMEOUT, "hedger: keeper_timeout out of bounds"
    t: Times = self._load_times()
    if not param_timelock._gate(keccak256(slice(msg.data, 0, 36)), timeout > t.keeper_timeout):
        return
    t.keeper_timeout = timeout
    self._store_times(t)
    param_timelock._log_set("keeper_timeout", timeout)


@external
def set_hedge_limits(max_slippage_: uint256, max_trade_: uint256, cooldown_: uint256):
    """
    @notice Owner: the per-trade hedging bounds, each within its hard bound.
    @param max_slippage_ Wad fraction below the oracle value min_out may go.
    @param max_trade_ Wad fraction of NAV one trade may move.
    @param cooldown_ Seconds between two trades.
    """
    self._only_owner()
    assert max_slippage_ >= c.MIN_MAX_SLIPPAGE and max_slippage_ <= c.MAX_MAX_SLIPPAGE, "hedger: max_slippage out of bounds"
    assert max_trade_ != 0 and max_trade_ <= c.MAX_MAX_TRADE, "hedger: max_trade out of bounds"
    assert cooldown_ <= c.MAX_HEDGE_COOLDOWN, "hedger: cooldown out of bounds"
    p: Params = self._load_params()
    t: Times = self._load_times()
    loosens: bool = max_slippage_ > p.max_slippage or max_trade_ > p.max_trade or cooldown_ < t.cooldown
    if not param_timelock._gate(keccak256(slice(msg.data, 0, 100)), loosens):
        return
    p.max_slippage = max_slippage_
    p.max_trade = max_trade_
    t.cooldown = cooldown_
    self._store_params(p)
    self._store_times(t)
    param_timelock._log_set("max_slippage", max_slippage_)
    param_timelock._log_set("max_trade", max_trade_)
    param_timelock._log_set("cooldown", cooldown_)


@external
def set_hedge_caps(max_hourly_notional_: uint256, max_daily_notional_: uint256):
    """
    @notice Owner: rolling hedge-notional caps per hour and per day, as wad
            fractions of NAV, within their hard bounds.
    @param max_hourly_notional_ Wad fraction of NAV per rolling hour.
    @param max_daily_notional_ Wad fraction of NAV per rolling day (>= hourly).
    """
    self._only_owner()
    assert max_hourly_notional_ != 0 and max_hourly_notional_ <= c.MAX_MAX_HOURLY_NOTIONAL, "hedger: max_hourly_notional out of bounds"
    assert max_daily_notional_ >= max_hourly_notional_ and max_daily_notional_ <= c.MAX_MAX_DAILY_NOTIONAL, "hedger: max_daily_notional out of bounds"
    p: Params = self._load_params()
    loosens: bool = max_hourly_notional_ > p.max_hourly_notional or max_daily_notional_ > p.max_daily_notional
    if not param_timelock._gate(keccak256(slice(msg.data, 0, 68)), loosens):
        return
    p.max_hourly_notional = max_hourly_notional_
    p.max_daily_notional = max_daily_notional_
    self._store_params(p)
    param_timelock._log_set("max_hourly_notional", max_hourly_notional_)
    param_timelock._log_set("max_daily_notional", max_daily_notional_)


# ---------------------------------------------------------------- getters

@view
@external
def max_slippage() -> uint256:
    """
    @notice Wad fraction below the oracle value a trade's min_out may sit.
    @return The value (see the notice).
    """
    return self._params & M64


@view
@external
def max_trade() -> uint256:
    """
    @notice Wad fraction of NAV one trade may move.
    @return The value (see the notice).
    """
    return (self._params >> 64) & M64


@view
@external
def max_hourly_notional() -> uint256:
    """
    @notice Wad fraction of NAV of hedge notional per rolling hour.
    @return The value (see the notice).
    """
    return (self._params >> 128) & M64


@view
@external
def max_daily_notional() -> uint256:
    """
    @notice Wad fraction of NAV of hedge notional per rolling day.
    @return The value (see the notice).
    """
    return self._params >> 192


@view
@external
def cooldown() -> uint256:
    """
    @notice Seconds between two rebalances.
    @return The value (see the notice).
    """
    return self._times & M32


@view
@external
def keeper_timeout() -> uint256:
    """
    @notice Seconds of keeper silence before anyone may `fallback_rebalance`.
    @return The value (see the notice).
    """
    return (self._times >> 32) & M32


@view
@external
def last_rebalance() -> uint256:
    """
    @notice Unix time of the last rebalance of any kind but settlement cash.
    @return The value (see the notice).
    """
    return (self._times >> 64) & M64


@view
@external
def last_keeper_action() -> uint256:
    """
    @notice Unix time of the keeper's last rebalance or ping.
    @return The value (see the notice).
    """
    return (self._times >> 128) & M64


@view
@external
def caps_updated_at() -> uint256:
    """
    @notice Unix time the notional buckets were last charged.
    @return The value (see the notice).
    """
    return self._times >> 192


@view
@external
def hourly_used() -> uint256:
    """
    @notice Wad USD in the hourly bucket when last charged.
    @return The value (see the notice).
    """
    return self._used & M128


@view
@external
def daily_used() -> uint256:
    """
    @notice Wad USD in the daily bucket when last charged.
    @return The value (see the notice).
    """
    return self._used >> 128
