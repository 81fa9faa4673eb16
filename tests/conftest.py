"""Shared fixtures: actors named by role, and one fixture per real component.

Deployments are session-scoped; ape's isolation fixtures snapshot/revert anvil
around every test, so each test starts from the same chain state.
"""
import pytest

USD = 10**6  # the default quote asset has 6 decimals


@pytest.fixture(scope="session")
def owner(accounts):
    return accounts[0]


@pytest.fixture(scope="session")
def keeper(accounts):
    return accounts[1]


@pytest.fixture(scope="session")
def guardian(accounts):
    return accounts[2]


@pytest.fixture(scope="session")
def depositor(accounts):
    return accounts[3]


@pytest.fixture(scope="session")
def attacker(accounts):
    return accounts[4]


@pytest.fixture(scope="session")
def victim(accounts):
    return accounts[5]


@pytest.fixture(scope="session")
def buyer(accounts):
    return accounts[6]


@pytest.fixture(scope="session")
def stranger(accounts):
    return accounts[7]


@pytest.fixture(scope="session")
def usdc(project, owner):
    """The quote asset: a 6-decimal stablecoin."""
    return project.TestToken.deploy("USD Coin (test)", "USDC", 6, sender=owner)


@pytest.fixture(scope="session")
def oracle(project, owner):
    """ETH/USD Chainlink-style feed, 8 decimals, starting at 3,000 USD."""
    return project.MockAggregator.deploy(8, 3_000 * 10**8, "ETH / USD", sender=owner)
