"""Fixtures of the contract tests: the local Uniswap V3 market, wired Ballast
deployments on it, and vaults over a stand-in option book.

Every Ballast contract that prices or limits risk reads the oracle and the pool
through the RiskGuard, and the guard needs a real pool: the market is the local
one of `scripts/market.py` (real Uniswap V3 bytecode), deployed once per
session. Deployments are session-scoped; ape's isolation fixtures snapshot and
revert anvil around every test, so each test starts from the same chain state.
"""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from scripts.market import FEE, arbitrage_to, deploy_market, pool_price, sqrt_price_x96  # noqa: E402
from scripts.vault import deploy_ballast  # noqa: E402
from tests.conftest import USD  # noqa: E402

WAD = 10**18
DAY = 86_400
DEPOSIT_CAP = 10_000_000 * USD
SCALE = WAD * 10**12  # wad x wad -> 6-decimal asset units
TIMELOCK_DELAY = 86_400
ZERO = "0x0000000000000000000000000000000000000000"


def _anvil_without_step_traces():
    """ape-foundry starts anvil with --steps-tracing: every transaction records a
    step-by-step trace, which ape only needs for source-level tracebacks, coverage
    and gas reports. Heavy transactions (a book refresh prices every series) run
    about twice as fast without it. Kept when coverage or a gas report is asked for."""
    import os
    import warnings

    with warnings.catch_warnings():  # ape_foundry imports the deprecated websockets.legacy
        warnings.simplefilter("ignore", DeprecationWarning)
        from ape_foundry.provider import FoundryProvider

    if os.environ.get("BALLAST_STEP_TRACES") or any(a.startswith(("--gas", "--coverage")) for a in sys.argv):
        return
    build = FoundryProvider.build_command
    FoundryProvider.build_command = lambda self: [a for a in build(self) if a != "--steps-tracing"]


_anvil_without_step_traces()


@pytest.fixture(scope="session", autouse=True)
def fast_reverts():
    """Keep ape from re-executing every expected revert to decorate it.

    On a revert, ape (0.8.51 with ape-foundry and ape-vyper) fetches the failed
    call's trace, prints its call tree and maps every frame back to Vyper source
    to build a Python-style traceback. For a reverting `buy` (Black-Scholes and
    the guard's pool reads: tens of thousands of frames) that took 50 to 110 s
    per revert on this machine, against well under 1 s without it. The revert
    reason, which `ape.reverts` checks, comes from the node's error and is kept;
    only the decoration goes.
    """
    import ape.exceptions
    from ape_foundry.provider import FoundryProvider

    original = FoundryProvider._handle_execution_reverted

    def handle_without_trace(self, exception, revert_message=None, **kwargs):
        kwargs.pop("trace", None)
        kwargs.pop("txn", None)
        return original(self, exception, revert_message=revert_message, **kwargs)

    mp = pytest.MonkeyPatch()
    mp.setattr(FoundryProvider, "_handle_execution_reverted", handle_without_trace)
    mp.setattr(ape.exceptions, "_get_ape_traceback_from_tx", lambda txn: None)
    yield
    mp.undo()


@pytest.fixture(scope="session")
def market(owner, chain):
    """The local market (WETH9, a 6-decimal stablecoin, Uniswap V3 pool and router,
    an 8-decimal ETH/USD feed at 3,000), with a TWAP window of pool history."""
    m = deploy_market(owner)
    chain.pending_timestamp += 700
    m.feed.set_answer(3_000 * 10**8, sender=owner)
    return m


@pytest.fixture(scope="session")
def usdc(market):
    """The vault asset of these tests: the market's stablecoin (the pool's quote token)."""
    return market.usdc


class System:
    """A wired Ballast deployment: vault (money), guard (rules, oracle and pool),
    pricer, option book, option market (`options`) and hedger, on market `m`."""

    def __init__(self, **parts):
        self.__dict__.update(parts)


def post(feed, owner, usd_price):
    """A fresh oracle answer (in the feed's own decimals) at the next block's time."""
    feed.set_answer(int(round(usd_price * 10 ** feed.decimals())), sender=owner)


def spot_of(feed):
    return feed.latestAnswer() * 10 ** (18 - feed.decimals())


def arbitrage(m, usd_price, trader, chain):
    """Swap the pool to `usd_price` (scripts.market.arbitrage_to, whose downward leg
    hands ape-foundry's set_balance an account object, which anvil rejects: the
    trader's WETH is funded here by address first)."""
    if usd_price < pool_price(m):
        amount = 10**24
        chain.provider.set_balance(trader.address, amount + 10**21)
        m.weth.deposit(value=amount, sender=trader)
        m.weth.approve(m.router, 2**256 - 1, sender=trader)
        weth_is_token0 = m.pool.token0() == m.weth.address
        target = sqrt_price_x96(usd_price, weth_is_token0)
        m.router.exactInputSingle(
            (m.weth, m.usdc, FEE, trader, chain.pending_timestamp + 60, amount, 0, target), sender=trader
        )
    else:
        arbitrage_to(m, usd_price, trader)


def move_spot(s, owner, arbitrageur, chain, usd_price, wait=700):
    """Move the pool (arbitrage) and, a TWAP window later, the oracle to `usd_price`:
    the market moved, and the pool agrees with the oracle (no deviation breaker)."""
    arbitrage(s.m, usd_price, arbitrageur, chain)
    chain.pending_timestamp += wait
    post(s.feed, owner, usd_price)


@pytest.fixture(scope="session")
def deploy_system(project, market, owner, keeper, guardian):
    """Factory: Ballast through `deploy_ballast` (the one deploy path) on the local
    market, on `feed` (default: the market's 8-decimal feed), with a fresh answer
    at 3,000."""

    def _deploy(feed=None, cap=DEPOSIT_CAP):
        feed = feed or market.feed
        b = deploy_ballast(
            project, owner, keeper, guardian, market.usdc, feed, market.router, market.pool, market.weth, cap=cap
        )
        post(feed, owner, 3_000)
        return System(
            vault=b.vault, book=b.book, options=b.options, hedger=b.hedger, guard=b.guard, pricer=b.pricer,
            feed=feed, usdc=market.usdc, m=market,
        )

    return _deploy


@pytest.fixture(scope="session")
def system(deploy_system):
    return deploy_system()


@pytest.fixture(scope="session")
def fund_system(system, usdc):
    """fund_system(actor, amount): mint the stablecoin to `actor`, approve the system's vault."""

    def _fund(actor, amount):
        usdc.mint(actor, amount, sender=actor)
        usdc.approve(system.vault, 2**256 - 1, sender=actor)

    return _fund


@pytest.fixture
def s(system, fund_system, depositor, owner):
    """The system with 100,000 USDC deposited and a fresh oracle at 3,000."""
    post(system.feed, owner, 3_000)
    fund_system(depositor, 100_000 * USD)
    system.vault.deposit(100_000 * USD, sender=depositor)
    return system


def new_series(s, keeper, chain, strike, is_call, days=7, vol=0.6, seconds=None, expiry=None):
    """Create a series (keeper); returns (series id, expiry)."""
    if expiry is None:
        expiry = chain.pending_timestamp + (seconds if seconds is not None else days * DAY)
    tx = s.book.create_series(int(strike * WAD), expiry, is_call, int(vol * WAD), sender=keeper)
    (ev,) = tx.events.filter(s.book.SeriesCreated)
    return ev.series_id, expiry


def apply_loosening(contract, method, args, owner, chain, feed=None):
    """Queue a loosening parameter change, wait out the timelock, apply it; the
    oracle is posted again afterwards so that it is fresh."""
    getattr(contract, method)(*args, sender=owner)
    chain.pending_timestamp += TIMELOCK_DELAY
    tx = getattr(contract, method)(*args, sender=owner)
    if feed is not None:
        feed.set_answer(feed.latestAnswer(), sender=owner)
    return tx


# ---------------------------------------------------------------- vaults over the stand-in book


@pytest.fixture(scope="session")
def deploy_vault(project, owner, keeper, guardian, usdc):
    """Factory: a fresh, unconnected Vault (no book, no guard: NAV is its tracked cash)."""

    def _deploy(asset=None):
        return project.Vault.deploy(asset or usdc, "Ballast ETH Options USDC", "bUSDC", keeper, guardian, sender=owner)

    return _deploy


@pytest.fixture(scope="session")
def vault(deploy_vault):
    """A vault with no option book and no guard: NAV is its tracked cash."""
    return deploy_vault()


@pytest.fixture(scope="session")
def book(project, owner):
    """Stand-in option book with a settable liability, stress margin and freshness (wad USD)."""
    return project.MockOptionBook.deploy(sender=owner)


@pytest.fixture(scope="session")
def booked(project, deploy_vault, book, market, owner):
    """A vault connected to the stand-in book and a real risk guard (deposit cap
    DEPOSIT_CAP) on the market's feed and pool, so tests can move NAV."""
    v = deploy_vault()
    guard = project.RiskGuard.deploy(v, market.feed, market.pool, market.weth, DEPOSIT_CAP, sender=owner)
    options = project.OptionMarket.deploy(v, book, guard, sender=owner)
    hedger = project.Hedger.deploy(v, book, guard, market.router, market.pool, market.weth, sender=owner)
    v.connect(book, options, hedger, guard, sender=owner)
    return System(vault=v, guard=guard, options=options, hedger=hedger, book=book, feed=market.feed)


@pytest.fixture(scope="session")
def booked_vault(booked):
    return booked.vault


@pytest.fixture
def fresh_feed(market, owner):
    """A fresh oracle answer at 3,000 (deposits into a guarded vault need one)."""
    post(market.feed, owner, 3_000)


@pytest.fixture(scope="session")
def fund(usdc, vault, booked_vault, depositor, victim, attacker, buyer, stranger):
    """fund(actor, amount): mint the stablecoin to `actor`; every actor approved both
    vaults once, at session start."""
    for actor in (depositor, victim, attacker, buyer, stranger):
        usdc.approve(vault, 2**256 - 1, sender=actor)
        usdc.approve(booked_vault, 2**256 - 1, sender=actor)

    def _fund(actor, amount):
        usdc.mint(actor, amount, sender=actor)

    return _fund


# ---------------------------------------------------------------- reference arithmetic (Vyper's)


def sdiv(a, b):
    """Vyper/EVM signed division: truncates toward zero."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


def ceil_div(a, b):
    return -(-a // b)


def taylor(base, delta, gamma, ds):
    """OptionBook._taylor: base + delta ds + gamma ds^2 / 2, floored at 0, EVM rounding."""
    v = base + sdiv(delta * ds, WAD) + sdiv(sdiv(gamma * ds, WAD) * ds, 2 * WAD)
    return max(v, 0)


GRID = [
    -(10**18), -75 * 10**16, -5 * 10**17, -35 * 10**16, -25 * 10**16, -15 * 10**16, -8 * 10**16, -4 * 10**16,
    0, 4 * 10**16, 8 * 10**16, 15 * 10**16, 25 * 10**16, 5 * 10**17, 10**18, 2 * 10**18,
]  # constants.GRID: spot shocks of the stress grid
GRID_UNIT = 10**12  # wad USD per grid unit (micro-USD)


def payoff(is_call, strike, spot):
    return max(spot - strike, 0) if is_call else max(strike - spot, 0)


def term(q, mark, strike, is_call, s0):
    """One series' contribution to the aggregates (liability, delta, gamma, vega,
    grid), exactly as OptionBook sums it: liability rounded up per series, grid
    payoffs in micro-USD rounded up per series and shock."""
    grid = []
    for shock in GRID:
        p = payoff(is_call, strike, s0 * (WAD + shock) // WAD)
        grid.append(0 if p == 0 or q == 0 else (q * p - 1) // (WAD * GRID_UNIT) + 1)
    liability = 0 if q * mark.price == 0 else (q * mark.price - 1) // WAD + 1
    return (liability, sdiv(q * mark.delta, WAD), q * mark.gamma // WAD, q * mark.vega // WAD, grid)
