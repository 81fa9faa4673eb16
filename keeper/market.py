"""Readers: a Ballast deployment, its oracle and its pool, read through a node.

- `read_snapshot(vault)`: the vault, its option book, hedger and risk guard,
  the oracle and the pool at the head block, as a `keeper.snapshot.Snapshot`.
  Four round trips to the node whatever the number of series: (1) the head
  block (number and timestamp); then three JSON-RPC batches of eth_calls all
  pinned to that block: (2) the vault, which names the other contracts; (3)
  book, hedger and guard: prices, limits, bucket state, breaker state and the
  live series ids; (4) the feed and each live series' terms, mark and open
  interest.
- `read_history(snapshot)`: the recent oracle rounds (`getRoundData` walking
  back from the snapshot's latest round) and pool TWAP intervals (one
  `observe` with a list of secondsAgos) as a `keeper.snapshot.MarketHistory`,
  in one round trip pinned to the snapshot's block.

Values are turned into floats in human units (USD, ETH, fractions) here, at the
edge; the data model and everything that decides on it are pure
(`keeper.snapshot`). Contracts are read through the ABIs packaged in
`keeper/abi` (`keeper.rpc.contract_at`): the keeper needs no ape project.
Needs an ape network connection at call time.

`format_status`, `eth_call`, `Snapshot`, ... stay importable from here for
existing callers; they live in `keeper.snapshot` and `keeper.rpc`.
"""
from __future__ import annotations

from collections.abc import Sequence

from keeper.rpc import Batch, contract_at, eth_call
from keeper.snapshot import (
    DAY,
    HOUR,
    LEVELS,
    Limits,
    MarketHistory,
    SeriesMark,
    Snapshot,
    bucket_room,
    format_status,
    pool_twaps_from_observations,
)

__all__ = [
    "read_snapshot", "read_history", "format_status", "eth_call", "Batch",
    "Snapshot", "SeriesMark", "Limits", "MarketHistory", "LEVELS",
]

WAD = 10**18
N_BREAKERS = 6   # RiskGuard.N_BREAKERS
MAX_LIVE = 64    # constants.MAX_LIVE
PHASE = 2**64    # Chainlink proxy round ids: phase << 64 | aggregator round
DEFAULT_ROUNDS = 24
DEFAULT_SECONDS_AGOS = tuple(range(3_600, -1, -300))  # the last hour in 5-minute intervals

_VAULT_READS = (
    "option_book", "hedger", "risk_guard", "decimals", "DECIMALS_OFFSET", "nav_status", "free_collateral",
    "totalSupply", "total_idle", "total_reserved", "hedge_units", "paused", "is_shutdown",
)
_BOOK_READS = ("live_count", "cache")
_HEDGER_READS = (
    "net_delta", "last_keeper_action", "keeper_timeout", "pool", "underlying", "max_trade", "cooldown",
    "last_rebalance", "max_hourly_notional", "max_daily_notional", "hourly_used", "daily_used", "caps_updated_at",
    "max_slippage",
)
_GUARD_READS = (
    "level", "latched", "conditions", "feed", "reading", "band", "max_deviation", "twap_window",
    "max_utilisation", "max_vega_ratio", "max_gamma_ratio", "risk_budget",
)


class _Reads:
    """A `Batch` whose calls have names; `get` raises `ValueError` naming a failed read."""

    def __init__(self, block):
        self.batch = Batch(block)
        self.index: dict[object, tuple[int, str]] = {}
        self.out: list = []

    def add(self, key, contract, method: str, *args) -> None:
        self.index[key] = (self.batch.add(contract, method, *args), f"{contract.contract_type.name}.{method}")

    def run(self) -> _Reads:
        self.out = self.batch.run()
        return self

    def get(self, key):
        i, label = self.index[key]
        value, error = self.out[i]
        if error is not None:
            raise ValueError(f"cannot read {label}: {error}")
        return value

    def maybe(self, key):
        """The value, or None if the call reverted."""
        return self.out[self.index[key][0]][0]

    def error(self, key) -> str | None:
        return self.out[self.index[key][0]][1]


def read_snapshot(vault_address: str, *, validate: bool = True) -> Snapshot:
    """Read a deployment at the current head block, in four round trips (module doc).

    `validate` (default) runs `Snapshot.validate()`, so a bad reading (a
    non-positive oracle answer, say) raises `ValueError` naming the field;
    `keeper status` passes False to show what the chain says. A vault whose NAV
    cannot be read (stale marks) gives `nav=None` and the reason, not an error.
    """
    from ape import chain

    head = chain.blocks.head                                       # 1
    block, now = head.number, head.timestamp
    vault = contract_at("Vault", vault_address)

    v = _Reads(block)                                              # 2
    for method in _VAULT_READS:
        v.add(method, vault, method)
    v.run()
    if v.error("option_book") is not None:
        raise ValueError(f"{vault_address} is not a Ballast vault: {v.error('option_book')}")
    book = contract_at("OptionBook", v.get("option_book"))
    hedger = contract_at("Hedger", v.get("hedger"))
    guard = contract_at("RiskGuard", v.get("risk_guard"))

    r = _Reads(block)                                              # 3
    for prefix, contract, methods in (("book", book, _BOOK_READS), ("hedger", hedger, _HEDGER_READS),
                                      ("guard", guard, _GUARD_READS)):
        for method in methods:
            r.add(f"{prefix}.{method}", contract, method)
    for i in range(MAX_LIVE):
        r.add(("sid", i), book, "live_series", i)
    for i in range(N_BREAKERS):
        r.add(("breaker", i), guard, "breaker_name", i)
    r.run()
    sids = [r.get(("sid", i)) for i in range(r.get("book.live_count"))]
    names = [r.get(("breaker", i)) for i in range(N_BREAKERS)]
    cache_spot, cache_time, _ = r.get("book.cache")

    feed = contract_at("AggregatorV3", r.get("guard.feed"))
    s = _Reads(block)                                              # 4
    s.add("round", feed, "latestRoundData")
    s.add("decimals", feed, "decimals")
    for sid in sids:
        s.add(("series", sid), book, "series", sid)
        s.add(("mark", sid), book, "marks", sid)
        s.add(("oi", sid), book, "open_interest", sid)
    s.run()
    round_id, answer, _, updated, _ = s.get("round")

    share_decimals = v.get("decimals")
    asset_decimals = share_decimals - v.get("DECIMALS_OFFSET")
    unit = 10**asset_decimals
    status = v.get("nav_status")
    nav = status.nav / unit
    nav_error = None if status.fresh else "book aggregates stale: conservative NAV (NAV - stress margin); update_marks() refreshes"
    free = v.maybe("free_collateral")
    series = []
    for sid in sids:
        strike, expiry, is_call = s.get(("series", sid))
        m = s.get(("mark", sid))
        series.append(SeriesMark(
            series_id=sid, strike=strike / WAD, expiry=expiry, is_call=is_call,
            open_interest=s.get(("oi", sid)) / WAD, vol=m.vol / WAD, price=m.price / WAD, delta=m.delta / WAD,
            gamma=m.gamma / WAD, vega=m.vega / WAD, spot=cache_spot / WAD, mark_age=now - cache_time,
        ))
    reading = r.get("guard.reading")
    twap = spot = depth = None
    if reading.twap:  # 0 while the pool has no TWAP history
        twap, spot, depth = reading.twap / WAD, reading.pool_spot / WAD, reading.depth / WAD
    hedge = v.get("hedge_units")
    bits = lambda mask: tuple(names[i] for i in range(N_BREAKERS) if mask >> i & 1)  # noqa: E731

    # Hedge buckets in USD at today's NAV, drained to this block (the hedger's
    # `_use_caps`); a later block drains more, so the room only grows.
    hourly, daily = r.get("hedger.max_hourly_notional") / WAD, r.get("hedger.max_daily_notional") / WAD
    elapsed = now - r.get("hedger.caps_updated_at")
    hourly_room = daily_room = None
    if nav is not None:
        hourly_room = bucket_room(nav * hourly, r.get("hedger.hourly_used") / WAD, HOUR, elapsed)
        daily_room = bucket_room(nav * daily, r.get("hedger.daily_used") / WAD, DAY, elapsed)
    limits = Limits(
        max_trade=r.get("hedger.max_trade") / WAD, cooldown=r.get("hedger.cooldown"),
        rebalance_wait=max(0, r.get("hedger.last_rebalance") + r.get("hedger.cooldown") - now),
        max_hourly_notional=hourly, max_daily_notional=daily, hourly_room=hourly_room, daily_room=daily_room,
        delta_band=r.get("guard.band") / WAD, max_slippage=r.get("hedger.max_slippage") / WAD,
        max_deviation=r.get("guard.max_deviation") / WAD, twap_window=r.get("guard.twap_window"),
        max_utilisation=r.get("guard.max_utilisation") / WAD, max_vega_ratio=r.get("guard.max_vega_ratio") / WAD,
        max_gamma_ratio=r.get("guard.max_gamma_ratio") / WAD, risk_budget=r.get("guard.risk_budget") / WAD,
    )

    snapshot = Snapshot(
        block=block, timestamp=now, vault=vault.address, book=book.address, hedger=hedger.address,
        guard=guard.address, feed=feed.address, pool=r.get("hedger.pool"), underlying=r.get("hedger.underlying"),
        asset_decimals=asset_decimals, nav=nav, nav_error=nav_error,
        total_supply=v.get("totalSupply") / 10**share_decimals,
        free_collateral=None if free is None else free / unit, idle=v.get("total_idle") / unit,
        reserved=v.get("total_reserved") / unit, hedge_eth=hedge / WAD, net_delta_eth=r.get("hedger.net_delta") / WAD,
        oracle_price=answer / 10 ** s.get("decimals"), oracle_age=now - updated, oracle_round=round_id,
        pool_twap=twap, pool_spot=spot, pool_depth=depth,
        level=r.get("guard.level"), latched=bits(r.get("guard.latched")), live=bits(r.get("guard.conditions")),
        keeper_silent_for=now - r.get("hedger.last_keeper_action"), keeper_timeout=r.get("hedger.keeper_timeout"),
        paused=v.get("paused"), shutdown=v.get("is_shutdown"), limits=limits, series=tuple(series),
    )
    return snapshot.validate() if validate else snapshot


def _ladder(n: int) -> list[int]:
    """Suffix lengths to try, longest first: n, n/2, n/4, ..., 2."""
    out = []
    while n >= 2:
        out.append(n)
        n = (n + 1) // 2 if n > 2 else 0
    return out


def read_history(
    snapshot: Snapshot, *, rounds: int = DEFAULT_ROUNDS, seconds_agos: Sequence[int] = DEFAULT_SECONDS_AGOS,
    validate: bool = True,
) -> MarketHistory:
    """The recent oracle rounds and pool TWAP intervals, in one round trip pinned
    to `snapshot.block` (its feed, pool and latest round id).

    Oracle: up to `rounds` rounds, walking back from `snapshot.oracle_round`
    within its Chainlink phase (a proxy's earlier phase needs its own ids);
    rounds that revert, were never updated (updatedAt 0) or hold a non-positive
    answer are left out.

    Pool: `observe(seconds_agos)` gives len(seconds_agos) - 1 contiguous TWAP
    intervals ending `seconds_agos[i]` before the block. A pool whose
    observations do not reach that far back reverts ("OLD"); the same batch
    also asks for the newest half, quarter, ... of the list, and the longest
    that answers is kept, with the reason in `pool_error`.
    """
    if not (isinstance(rounds, int) and rounds >= 0):
        raise ValueError(f"rounds must be an integer >= 0, got {rounds!r}")
    agos = sorted({int(a) for a in seconds_agos}, reverse=True)
    if len(agos) < 2 or agos[-1] < 0 or agos[0] >= 2**32:
        raise ValueError("seconds_agos needs at least two distinct values in [0, 2**32)")

    feed = contract_at("AggregatorV3", snapshot.feed)
    pool = contract_at("UniswapV3Pool", snapshot.pool)
    b = _Reads(snapshot.block)
    b.add("decimals", feed, "decimals")
    b.add("token0", pool, "token0")
    first_in_phase = snapshot.oracle_round - snapshot.oracle_round % PHASE + 1
    ids = [rid for rid in range(snapshot.oracle_round, snapshot.oracle_round - rounds, -1) if rid >= first_in_phase]
    for rid in ids:
        b.add(("round", rid), feed, "getRoundData", rid)
    ladder = _ladder(len(agos))
    for n in ladder:
        b.add(("observe", n), pool, "observe", agos[-n:])
    b.run()

    scale = 10 ** b.get("decimals")
    oracle_rounds = []
    for rid in reversed(ids):
        got = b.maybe(("round", rid))
        if got is not None and got[3] > 0 and got[1] > 0:
            oracle_rounds.append((rid, got[1] / scale, got[3]))

    pool_twaps, pool_error = (), None
    token0 = b.maybe("token0")
    if token0 is None:
        pool_error = f"cannot read the pool: {b.error('token0')}"
    else:
        n = next((n for n in ladder if b.maybe(("observe", n)) is not None), None)
        if n != len(agos):
            pool_error = f"observe({agos[0]} s .. 0 s ago) reverted: {b.error(('observe', len(agos)))}; " + (
                "no shorter window answered either" if n is None else f"kept the last {n - 1} intervals"
            )
        if n is not None:
            ticks, _ = b.get(("observe", n))
            pool_twaps = pool_twaps_from_observations(
                snapshot.timestamp, agos[-n:], ticks,
                underlying_is_token0=token0.lower() == snapshot.underlying.lower(),
                asset_decimals=snapshot.asset_decimals,
            )
    history = MarketHistory(
        block=snapshot.block, timestamp=snapshot.timestamp, oracle_rounds=tuple(oracle_rounds),
        pool_twaps=pool_twaps, pool_error=pool_error,
    )
    return history.validate() if validate else history
