"""The local market (real Uniswap V3 bytecode from npm) as a session fixture."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from scripts.market import deploy_market  # noqa: E402


@pytest.fixture(scope="session")
def market(owner):
    return deploy_market(owner)
