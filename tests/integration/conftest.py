"""The local market (real Uniswap V3 bytecode from npm) as a session fixture."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from scripts.market import deploy_market  # noqa: E402
from scripts.vault import deploy_ballast  # noqa: E402


@pytest.fixture(scope="session")
def arb(accounts):
    """An arbitrageur who brings the pool to the market price."""
    return accounts[8]


@pytest.fixture(scope="session")
def market(owner):
    return deploy_market(owner)


USD = 10**6
WAD = 10**18


class Hedged:
    def __init__(self, **parts):
        self.__dict__.update(parts)


@pytest.fixture(scope="session")
def deploy_hedged(project, market, owner, keeper, guardian, chain):
    """Factory: vault + book + option market + hedger + risk guard on the local Uniswap V3 market.

    `feed` defaults to the market's 8-decimal feed. Time is moved past the TWAP
    window so the pool has observations to average.
    """

    def _deploy(feed=None):
        feed = feed or market.feed
        b = deploy_ballast(project, owner, keeper, guardian, market.usdc, feed, market.router, market.pool, market.weth)
        chain.pending_timestamp += 700
        feed.set_answer(3_000 * 10 ** feed.decimals(), sender=owner)
        return Hedged(vault=b.vault, book=b.book, options=b.options, hedger=b.hedger, guard=b.guard, feed=feed, m=market)

    return _deploy


@pytest.fixture(scope="session")
def hedged(deploy_hedged):
    return deploy_hedged()


@pytest.fixture(scope="session", autouse=True)
def _quick_reverts():
    """On every revert ape rebuilds a Vyper source traceback (about 25-35 s through
    the risk guard's call tree on this machine) and prints the decoded call tree
    (about 2.5 s). The tests match revert reasons, which need neither; skipping
    both keeps the suite within its time budget. The revert reason and the
    failing transaction are still reported as usual."""
    import ape.exceptions
    from ape_ethereum.trace import Trace

    original_tb, original_show = ape.exceptions._get_ape_traceback_from_tx, Trace.show
    ape.exceptions._get_ape_traceback_from_tx = lambda txn: None
    Trace.show = lambda self, *args, **kwargs: None
    yield
    ape.exceptions._get_ape_traceback_from_tx, Trace.show = original_tb, original_show
