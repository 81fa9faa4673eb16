"""deposit -> sell -> hedge -> settle on ape's ethereum:mainnet-fork:foundry, pinned at a block.

The upstream is a local anvil with chain id 1 that holds the local market (see
conftest.py). Pointing the scratch project's `node.ethereum.mainnet.uri` at a real
mainnet RPC is how the same network choice forks mainnet (see the README).
"""
import json

import pytest


@pytest.mark.fork
def test_deposit_sell_hedge_settle_on_a_fork(upstream):
    fork, addresses, block = upstream
    run = fork.ape_run("fork_flow", "ethereum:mainnet-fork:foundry", env={"BALLAST_MARKET": json.dumps(addresses)})
    out = run.stdout + run.stderr
    assert run.returncode == 0, out[-4000:]
    assert f"fork: chain 1, block {block}" in out  # forked at the pinned block
    assert "buyer claimed 4000000000" in out  # 20 calls x 200 USD, to the wei
    assert "FORK FLOW OK" in out
