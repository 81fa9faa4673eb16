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

from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WAD = 10**18
LEVELS = ("normal", "reduce-only", "withdraw-only", "halted")
N_BREAKERS = 6


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


def eth_call(contract, method: str, *args, sender=None, block="latest") -> tuple[bytes | None, str | None]:
    """eth_call `method(*args)` on an ape contract: (return data, None) or (None,
    revert reason). Goes straight to the node, so a revert is a value here,
    not an exception with a printed trace."""
    from ape import chain
    from web3.exceptions import ContractLogicError as Web3Revert

    tx = {"to": contract.address, "data": getattr(contract, method).encode_input(*args)}
    if sender is not None:
        tx["from"] = sender.address
    try:
        return bytes(chain.provider.web3.eth.call(tx, block)), None
    except Web3Revert as err:
        return None, str(err.args[0]).removeprefix("execution reverted: ")


def _words(data: bytes) -> list[int]:
    return [int.from_bytes(data[i : i + 32], "big") for i in range(0, len(data), 32)]


def _names(guard, bits: int, block: int) -> tuple[str, ...]:
    return tuple(guard.breaker_name(i, block_id=block) for i in range(N_BREAKERS) if bits >> i & 1)


def read_snapshot(vault_address: str) -> Snapshot:
    """Read a deployment at the current head block (needs an ape network connection)."""
    from ape import Project, chain

    project = Project(ROOT)
    block = chain.blocks.head.number
    at = {"block_id": block}
    vault = project.Vault.at(vault_address)
    book = project.OptionBook.at(vault.option_book(**at))
    hedger = project.Hedger.at(vault.hedger(**at))
    guard = project.RiskGuard.at(vault.risk_guard(**at))
    share_decimals = vault.decimals(**at)
    asset_decimals = share_decimals - vault.DECIMALS_OFFSET(**at)
    scale, unit = 10**share_decimals, 10**asset_decimals
    usd = lambda x: x / unit  # noqa: E731

    nav = free = twap = spot = depth = None
    out, nav_error = eth_call(vault, "totalAssets", block=block)
    if out is not None:
        nav = usd(_words(out)[0])
        free = usd(vault.free_collateral(**at))
    out, _ = eth_call(hedger, "prices", block=block)
    if out is not None:
        _, twap_w, spot_w = _words(out)
        twap, spot = twap_w / WAD, spot_w / WAD
        depth = hedger.pool_depth(**at) / WAD
    feed = project.MockAggregator.at(book.feed(**at))  # any Chainlink-style ABI will do
    _, answer, _, updated, _ = feed.latestRoundData(**at)
    timestamp = chain.blocks[block].timestamp
    hedge = vault.hedge_units(**at)

    series = []
    for i in range(book.live_count(**at)):
        sid = book.live_series(i, **at)
        strike, expiry, is_call = book.series(sid, **at)
        m = book.marks(sid, **at)
        series.append(SeriesMark(
            series_id=sid, strike=strike / WAD, expiry=expiry, is_call=is_call,
            open_interest=book.open_interest(sid, **at) / WAD, vol=m.vol / WAD, price=m.price / WAD,
            delta=m.delta / WAD, mark_age=timestamp - m.computed_at,
        ))

    return Snapshot(
        block=block, timestamp=timestamp, vault=vault.address, asset_decimals=asset_decimals,
        nav=nav, nav_error=nav_error, total_supply=vault.totalSupply(**at) / scale, free_collateral=free,
        idle=usd(vault.total_idle(**at)), reserved=usd(vault.total_reserved(**at)),
        hedge_eth=hedge / WAD, net_delta_eth=(book.net_delta(**at) + hedge) / WAD,
        oracle_price=answer / 10 ** feed.decimals(**at), oracle_age=timestamp - updated,
        pool_twap=twap, pool_spot=spot, pool_depth=depth,
        level=guard.level(**at), latched=_names(guard, guard.latched(**at), block),
        live=_names(guard, guard.conditions(**at), block),
        keeper_silent_for=timestamp - hedger.last_keeper_action(**at), keeper_timeout=hedger.keeper_timeout(**at),
        paused=vault.paused(**at), shutdown=vault.is_shutdown(**at), series=tuple(series),
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
