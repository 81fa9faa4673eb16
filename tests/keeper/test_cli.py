"""The `keeper` console script: answers, and clear errors with exit 2 for bad input."""
import subprocess
import sys

import pytest

from keeper.cli import main


def test_greeks_and_iv_round_trip(capsys):
    assert main(["greeks", "--spot", "3000", "--strike", "3200", "--days", "7", "--vol", "0.65"]) == 0
    out = dict(line.split() for line in capsys.readouterr().out.splitlines())
    price = float(out["price"])
    assert 0 < price < 3000 and 0 < float(out["delta"]) < 1
    assert main(["iv", "--price", repr(price), "--spot", "3000", "--strike", "3200", "--days", "7"]) == 0
    assert float(capsys.readouterr().out.split()[1]) == pytest.approx(0.65, rel=1e-10)


@pytest.mark.parametrize(
    "argv,message",
    [
        (["greeks", "--spot", "-1", "--strike", "3200", "--days", "7", "--vol", "0.6"], "S must be > 0"),
        (["greeks", "--spot", "3000", "--strike", "3200", "--days", "-1", "--vol", "0.6"], "T must be >= 0"),
        (["iv", "--price", "5000", "--spot", "3000", "--strike", "3200", "--days", "7"], "outside the no-arbitrage bounds"),
    ],
)
def test_bad_input_is_a_clear_error(capsys, argv, message):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_console_script_usage_error_exits_2():
    run = subprocess.run([sys.executable, "-m", "keeper.cli", "greeks", "--spot", "abc"], capture_output=True, text=True)
    assert run.returncode == 2
    assert "invalid float value" in run.stderr and "Traceback" not in run.stderr
