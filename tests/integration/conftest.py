"""The local market (real Uniswap V3 bytecode from npm) as a session fixture."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from scripts.market import deploy_market  # noqa: E402
from scripts.vault import deploy_ballast  # noqa: E402


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
