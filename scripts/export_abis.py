"""Write the ABIs the keeper reads into keeper/abi/ (the package data it reads them from).

    .venv/bin/python scripts/export_abis.py            # compile (through ape) and write
    .venv/bin/python scripts/export_abis.py --check    # write nothing; exit 1 if a file would change

Ballast's contracts (`keeper.abi.BALLAST`) are compiled through ape's project
for this repository (ape recompiles only what changed; `vyper` 0.4.3 must be on
PATH, so this script puts its own interpreter's bin directory first). The
Uniswap V3 pool ABI is copied from the npm artifact. `AggregatorV3.json` is
written by hand and left alone. `tests/keeper/test_abi.py` fails when the
committed files differ from these sources: rerun this script after changing a
contract, and commit what it writes.

Plain Python (also runs as `ape run export_abis`); it never imports `keeper`, so
it writes into this checkout even where another checkout is pip-installed.
"""
from __future__ import annotations

import json
import os
import sys
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ABI_DIR = ROOT / "keeper" / "abi"
BALLAST = ("Vault", "OptionBook", "OptionMarket", "Hedger", "RiskGuard")  # = keeper.abi.BALLAST
NPM = {"UniswapV3Pool": "@uniswap/v3-core/artifacts/contracts/UniswapV3Pool.sol/UniswapV3Pool.json"}


def render(abi: list[dict]) -> str:
    """The committed form of an ABI: the compiler's order, two-space indent, final newline."""
    return json.dumps(abi, indent=2) + "\n"


def compiled_abis(project=None) -> dict[str, list[dict]]:
    """Ballast's ABIs as the contracts compile now, from an ape project
    (default: this repository's, compiled on demand)."""
    if project is None:
        warnings.filterwarnings("ignore", message="Field 'import_remapping' has an incomplete definition")
        from ape import Project

        project = Project(ROOT)
    return {
        name: getattr(project, name).contract_type.model_dump(mode="json", by_alias=True)["abi"]
        for name in BALLAST
    }


def npm_abis(root: Path = ROOT) -> dict[str, list[dict]]:
    """The external ABIs copied from npm artifacts (needs `npm ci`: node_modules)."""
    out = {}
    for name, rel in NPM.items():
        path = root / "node_modules" / rel
        if not path.exists():
            raise SystemExit(f"export_abis: {path} is missing; run `make setup` (npm ci) first")
        out[name] = json.loads(path.read_text())["abi"]
    return out


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    check = "--check" in argv
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    wanted = {**compiled_abis(), **npm_abis()}
    stale = []
    for name, abi in wanted.items():
        path = ABI_DIR / f"{name}.json"
        text = render(abi)
        if path.exists() and path.read_text() == text:
            continue
        stale.append(path.relative_to(ROOT))
        if not check:
            path.write_text(text)
    verb = "differ from the sources" if check else "written"
    print(f"export_abis: {len(stale)} of {len(wanted)} ABIs {verb}" + "".join(f"\n  {p}" for p in stale))
    return 1 if check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
