"""Shared helper for the gas benchmarks: run a function on a fresh local anvil via ape."""
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def on_local_chain(fn):
    """Call fn(project, accounts) connected to ethereum:local:foundry (anvil started and stopped by ape)."""
    os.chdir(ROOT)
    venv_bin = Path(sys.executable).parent
    anvil_bin = ROOT / "node_modules/@foundry-rs/anvil-linux-amd64/bin"
    os.environ["PATH"] = f"{venv_bin}:{anvil_bin}:{os.environ['PATH']}"
    from ape import accounts, networks, project
    from ape.logging import logger

    logger.set_level("WARNING")

    with networks.parse_network_choice("ethereum:local:foundry"):
        return fn(project, accounts.test_accounts)


def write_section(heading, body):
    """Replace (or append) the `## heading` section of benchmarks/RESULTS.md with `body`."""
    path = ROOT / "benchmarks" / "RESULTS.md"
    text = path.read_text() if path.exists() else "# Benchmark results\n"
    marker = f"## {heading}"
    section = f"{marker}\n\n{body.strip()}\n"
    if marker in text:
        start = text.index(marker)
        nxt = text.find("\n## ", start + len(marker))
        text = text[:start] + section + ("\n" + text[nxt + 1 :] if nxt != -1 else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text)
