"""Fork fixtures: an upstream anvil with chain id 1 on a free loopback port holding the
local market, and a scratch ape project whose config names that upstream.

Once per session the market is deployed into a builder anvil (chain id 1) with
`ape run market --network ethereum:mainnet:node`; the builder dumps its state on
exit (`--dump-state`), and the upstream anvil starts from that dump
(`--load-state`, chain id 1, a free loopback port). The fork tests then run on
`ethereum:mainnet-fork:foundry` pinned at the upstream's head block. Both run as
subprocesses in the scratch project, so the suite's own local-network session is
left alone. The upstream is stopped when the session ends.
"""
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ANVIL_BIN = ROOT / "node_modules/@foundry-rs/anvil-linux-amd64/bin"

CONFIG = """name: ballast-fork
plugins: [{{name: vyper}}, {{name: foundry}}]
vyper: {{version: 0.4.3}}
ethereum:
  local: {{default_provider: foundry}}
  mainnet: {{required_confirmations: 0, gas_limit: max}}   # estimates were seen to run out (ReentrancySentryOOG)
  mainnet_fork: {{default_provider: foundry}}
foundry:
  host: auto
  base_fee: 0
  priority_fee: 0
  fork:
    ethereum:
      mainnet:
        upstream_provider: node
        block_number: {block}
        evm_version: cancun
node:
  ethereum:
    mainnet: {{uri: "{uri}"}}
test:
  mnemonic: test test test test test test test test test test test junk
  number_of_accounts: 10
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rpc(url, method, params=()):
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}).encode()
    req = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())["result"]


def wait_for(port, proc, seconds=20):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("upstream anvil exited early")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("upstream anvil did not start")


class ForkProject:
    """A scratch ape project sharing this repository's code, pointed at `uri`."""

    def __init__(self, path: Path, uri: str):
        self.path, self.uri = path, uri
        path.mkdir(parents=True, exist_ok=True)
        for name in ("contracts", "scripts", "keeper", "node_modules"):
            (path / name).symlink_to(ROOT / name)
        self.pin(0)

    def pin(self, block: int):
        (self.path / "ape-config.yaml").write_text(CONFIG.format(block=block, uri=self.uri))

    def ape_run(self, script, network, env=None, timeout=300):
        bin_dir = Path(sys.executable).parent
        full_env = dict(os.environ, PATH=f"{bin_dir}:{ANVIL_BIN}:{os.environ['PATH']}", **(env or {}))
        return subprocess.run(
            [str(bin_dir / "ape"), "run", script, "--network", network],
            cwd=self.path, env=full_env, capture_output=True, text=True, timeout=timeout,
        )


def start_anvil(port, *extra, chain_id=1):
    proc = subprocess.Popen(
        [str(ANVIL_BIN / "anvil"), "--host", "127.0.0.1", "--port", str(port), "--chain-id", str(chain_id), "--silent", *extra],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    wait_for(port, proc)
    return proc


def stop(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)  # anvil writes --dump-state on a clean exit
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="session")
def fork_project(tmp_path_factory):
    """One scratch ape project for the session: the contracts compile in it once."""
    return ForkProject(tmp_path_factory.mktemp("fork") / "project", "http://127.0.0.1:0")


@pytest.fixture(scope="session")
def upstream(fork_project, tmp_path_factory):
    """(scratch project, market addresses, pinned block) for a chain-id-1 upstream with the market.

    A builder anvil gets the market and dumps its state on exit; the upstream
    anvil starts from that dump, as a real chain would already hold it.
    """
    dump = tmp_path_factory.mktemp("dump") / "market-state.json"
    build_port = free_port()
    fork = fork_project
    fork.uri = f"http://127.0.0.1:{build_port}"
    fork.pin(0)
    builder = start_anvil(build_port, "--dump-state", str(dump))
    try:
        run = fork.ape_run("market", "ethereum:mainnet:node")
        assert run.returncode == 0, (run.stdout + run.stderr)[-4000:]
    finally:
        stop(builder)
    assert dump.exists() and dump.stat().st_size > 0, "anvil did not dump the market state"
    addresses = json.loads((fork.path / ".build" / "market-1.json").read_text())
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    fork.uri = url
    proc = start_anvil(port, "--load-state", str(dump))
    try:
        assert rpc(url, "eth_getCode", [addresses["pool"], "latest"]) not in ("0x", None), "market missing after load"
        block = int(rpc(url, "eth_blockNumber"), 16)
        fork.pin(block)
        yield fork, addresses, block
    finally:
        stop(proc)
