"""The operator's path on a node they keep running: `ape run market`, `ape run vault`,
then `keeper status` against it (a fresh anvil on a free loopback port)."""
import json
import subprocess
import sys

from tests.fork.conftest import ROOT, free_port, start_anvil, stop


def test_market_then_vault_then_status_on_a_running_node(fork_project):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    node = start_anvil(port, chain_id=31337)  # not 1: the fork fixture's market record is for chain 1
    project = fork_project
    try:
        run = project.ape_run("vault", url)
        assert run.returncode != 0 and "run `ape run market` first" in run.stdout + run.stderr
        for script in ("market", "vault"):
            run = project.ape_run(script, url)
            assert run.returncode == 0, (run.stdout + run.stderr)[-3000:]
        record = json.loads((project.path / ".build" / "ballast-31337.json").read_text())
        # Changed: deploy_ballast also deploys the Black-Scholes pricer, and the record lists it.
        assert set(record) == {"vault", "book", "options", "hedger", "guard", "pricer"}
        status = subprocess.run(
            [sys.executable, "-m", "keeper.cli", "status", "--vault", record["vault"], "--network", url],
            cwd=ROOT, capture_output=True, text=True, timeout=120,
        )
        assert status.returncode == 0, status.stderr[-2000:]
        assert f"vault {record['vault']}" in status.stdout and "series       0 live" in status.stdout
    finally:
        stop(node)
