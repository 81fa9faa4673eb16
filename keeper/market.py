"""Readers: one consistent snapshot of a Ballast deployment, read through ape.

`read_snapshot(vault_address)` reads the vault, its option book, hedger and
risk guard, the oracle and the pool at one block (every call pinned to it) and
returns a frozen `Snapshot`. Everything the keeper decides is a pure function
of such a snapshot; `format_status` (pure) renders it for `keeper status`.

Values are converted to floats in human units (USD, ETH, fractions) at this
edge; the raw integers stay on-chain. A vault whose NAV cannot be read (stale
marks) gives `nav=None` and the reason, not an exception.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WAD = 10**18
LEVELS = ("normal", "reduce-only", "withdraw-only", "halted")
N_BREAKERS = 6
MAX_LIVE = 64  # constants.MAX_LIVE


@dataclass(frozen=True)
class SeriesMark:
    series_id: int
    strike: float          # USD
    expiry: int            # unix seconds
    is_call: bool
    open_interest: float   # ETH
    vol: float             # 0.6 = 60 %
    price: float           # USD per 1 ETH of options
    delta: float           # per 1 ETH of options
    mark_age: int          # seconds since the mark was computed


@dataclass(frozen=True)
class Snapshot:
    block: int
    timestamp: int
    vault: str
    asset_decimals: int
    nav: float | None                  # USD; None while the marks are refused
    nav_error: str | None
    total_supply: float                # shares, whole units
    free_collateral: float | None      # USD
    idle: float                        # USD (tracked cash)
    reserved: float                    # USD (settled, unclaimed payoffs)
    hedge_eth: float                   # WETH held as the hedge
    net_delta_eth: float               # short options + hedge
    oracle_price: float                # USD per ETH
    oracle_age: int                    # seconds
    pool_twap: float | None            # USD per ETH
    pool_spot: float | None
    pool_depth: float | None           # USD to move the pool 1 %
    level: int                         # risk guard level (0..3)
    latched: tuple[str, ...]           # latched breakers
    live: tuple[str, ...]              # breakers whose condition holds now
    keeper_silent_for: int             # seconds since the last keeper rebalance or ping
    keeper_timeout: int
    paused: bool
    shutdown: bool
    series: tuple[SeriesMark, ...] = field(default_factory=tuple)

    @property
    def level_name(self) -> str:
        return LEVELS[self.level]


class _Batch:
    """eth_calls pinned to one block, sent to the node as one JSON-RPC batch.

    `add` returns the call's index; `run` returns, per call, (decoded output,
    None) or (None, revert reason). A revert is a value here, not an exception
    with a printed trace.
    """

    def __init__(self, block="latest"):
        self.block = block if isinstance(block, str) else hex(block)
        self.calls = []

    def add(self, contract, method: str, *args, sender=None) -> int:
        from eth_utils import to_hex

        handler = getattr(contract, method)
        tx = {"to": contract.address, "data": to_hex(handler.encode_input(*args))}
        if sender is not None:
            tx["from"] = sender.address
        self.calls.append((handler.abis[0], tx))
        return len(self.calls) - 1

    def run(self) -> list[tuple[object, str | None]]:
        from ape import chain
        from hexbytes import HexBytes

        if not self.calls:
            return []
        ecosystem = chain.provider.network.ecosystem
        replies = chain.provider.web3.provider.make_batch_request(
            [("eth_call", [tx, self.block]) for _, tx in self.calls]
        )
        if isinstance(replies, dict):  # the node refused the whole batch
            raise ConnectionError(replies.get("error", {}).get("message", "batch request failed"))
        out = []
        for (abi, _), reply in zip(self.calls, replies):
            if "error" in reply:
                out.append((None, str(reply["error"].get("message", "")).removeprefix("execution reverted: ")))
                continue
            values = ecosystem.decode_returndata(abi, HexBytes(reply["result"]))
            out.append((values[0] if len(values) == 1 else tuple(values), None))
        return out


def eth_call(contract, method: str, *args, sender=None, block="latest") -> tuple[object, str | None]:
    """One eth_call: (decoded output, None) or (None, revert reason)."""
    batch = _Batch(block)
    batch.add(contract, method, *args, sender=sender)
    return batch.run()[0]


@functools.cache
def _project():
    """This repository's ape project (its compiled ABIs); loading it costs ~0.7 s, so once."""
    from ape import Project

    return Project(ROOT)


def read_snapshot(vault_address: str) -> Snapshot:
    """Read a deployment at the current head block (needs an ape network connection).

    Four round trips to the node whatever the number of series: the vault; the
    book, hedger, guard and the series ids; the feed and each series' terms,
    mark and open interest; the block's timestamp.
    """
    from ape import chain
    from ape.contracts import ContractInstance

    project = _project()
    at = lambda name, address: ContractInstance(address, getattr(project, name).contract_type)  # noqa: E731
    block = chain.blocks.head.number
    vault = at("Vault", vault_address)

    b = _Batch(block)
    vault_reads = ("option_book", "hedger", "risk_guard", "decimals", "DECIMALS_OFFSET", "nav_status",
                   "free_collateral", "totalSupply", "total_idle", "total_reserved", "hedge_units", "paused", "is_shutdown")
    for method in vault_reads:
        b.add(vault, method)
    v = dict(zip(vault_reads, b.run()))
    if v["option_book"][0] is None:
        raise ValueError(f"{vault_address} is not a Ballast vault: {v['option_book'][1]}")
    book, hedger, guard = at("OptionBook", v["option_book"][0]), at("Hedger", v["hedger"][0]), at("RiskGuard", v["risk_guard"][0])

    b = _Batch(block)
    reads = {name: b.add(c, m) for name, c, m in (
        ("feed", guard, "feed"), ("net_delta", hedger, "net_delta"), ("live_count", book, "live_count"),
        ("reading", guard, "reading"), ("cache", book, "cache"), ("last_action", hedger, "last_keeper_action"),
        ("timeout", hedger, "keeper_timeout"), ("level", guard, "level"), ("latched", guard, "latched"),
        ("conditions", guard, "conditions"),
    )}
    sid_calls = [b.add(book, "live_series", i) for i in range(MAX_LIVE)]
    name_calls = [b.add(guard, "breaker_name", i) for i in range(N_BREAKERS)]
    out = b.run()
    r = {name: out[i][0] for name, i in reads.items()}
    sids = [out[i][0] for i in sid_calls[: r["live_count"]]]
    names = [out[i][0] for i in name_calls]

    feed = at("MockAggregator", r["feed"])  # any Chainlink-style ABI will do
    b = _Batch(block)
    round_call, dec_call = b.add(feed, "latestRoundData"), b.add(feed, "decimals")
    series_calls = [(b.add(book, "series", sid), b.add(book, "marks", sid), b.add(book, "open_interest", sid)) for sid in sids]
    cache_time = r["cache"][1] if r["cache"] is not None else 0
    out = b.run()
    _, answer, _, updated, _ = out[round_call][0]
    timestamp = chain.blocks[block].timestamp

    share_decimals = v["decimals"][0]
    asset_decimals = share_decimals - v["DECIMALS_OFFSET"][0]
    unit = 10**asset_decimals
    usd = lambda key: None if v[key][0] is None else v[key][0] / unit  # noqa: E731
    series = []
    for sid, (si, mi, oi) in zip(sids, series_calls):
        strike, expiry, is_call = out[si][0]
        m = out[mi][0]
        series.append(SeriesMark(
            series_id=sid, strike=strike / WAD, expiry=expiry, is_call=is_call,
            open_interest=out[oi][0] / WAD, vol=m.vol / WAD, price=m.price / WAD,
            delta=m.delta / WAD, mark_age=timestamp - cache_time,
        ))
    twap = spot = depth = None
    if r["reading"] is not None and r["reading"].twap:
        twap, spot, depth = r["reading"].twap / WAD, r["reading"].pool_spot / WAD, r["reading"].depth / WAD
    hedge = v["hedge_units"][0]
    nav_status = v["nav_status"][0]
    bits = lambda mask: tuple(names[i] for i in range(N_BREAKERS) if mask >> i & 1)  # noqa: E731

    return Snapshot(
        block=block, timestamp=timestamp, vault=vault.address, asset_decimals=asset_decimals,
        nav=nav_status.nav / unit, nav_error=None if nav_status.fresh else "marks stale: conservative NAV (NAV - stress margin)",
        total_supply=v["totalSupply"][0] / 10**share_decimals,
        free_collateral=usd("free_collateral"), idle=usd("total_idle"), reserved=usd("total_reserved"),
        hedge_eth=hedge / WAD, net_delta_eth=r["net_delta"] / WAD,
        oracle_price=answer / 10 ** out[dec_call][0], oracle_age=timestamp - updated,
        pool_twap=twap, pool_spot=spot, pool_depth=depth,
        level=r["level"], latched=bits(r["latched"]), live=bits(r["conditions"]),
        keeper_silent_for=timestamp - r["last_action"], keeper_timeout=r["timeout"],
        paused=v["paused"][0], shutdown=v["is_shutdown"][0], series=tuple(series),
    )


def _money(x: float | None) -> str:
    return "unreadable" if x is None else f"{x:,.2f} USD"


def format_status(s: Snapshot) -> str:
    """Human-readable status (pure)."""
    lines = [
        f"vault {s.vault} at block {s.block} (t={s.timestamp})",
        f"  risk level   {s.level_name}" + (f"; latched: {', '.join(s.latched)}" if s.latched else "")
        + (f"; holding now: {', '.join(s.live)}" if s.live else ""),
        f"  NAV          {_money(s.nav)}" + (f" ({s.nav_error})" if s.nav_error else ""),
        f"  free         {_money(s.free_collateral)}; idle {s.idle:,.2f} USD; claims reserve {s.reserved:,.2f} USD",
        f"  shares       {s.total_supply:,.4f}" + ("; PAUSED" if s.paused else "") + ("; SHUT DOWN" if s.shutdown else ""),
        f"  hedge        {s.hedge_eth:,.6f} ETH; net delta {s.net_delta_eth:+,.6f} ETH",
        f"  oracle       {s.oracle_price:,.2f} USD/ETH, {s.oracle_age} s old",
        "  pool         " + ("unreadable" if s.pool_twap is None else
                             f"TWAP {s.pool_twap:,.2f}, spot {s.pool_spot:,.2f}, depth {s.pool_depth:,.0f} USD per 1 %"),
        f"  keeper       last action {s.keeper_silent_for} s ago (fallback opens after {s.keeper_timeout} s)",
        f"  series       {len(s.series)} live",
    ]
    for m in s.series:
        kind = "call" if m.is_call else "put"
        lines.append(
            f"    #{m.series_id} {m.strike:,.0f} {kind} exp {m.expiry}: OI {m.open_interest:,.4f} ETH, "
            f"vol {m.vol:.2%}, mark {m.price:,.4f}, delta {m.delta:+.4f}, mark age {m.mark_age} s"
        )
    return "\n".join(lines)
