"""Backtest output: a Markdown table, a CSV, and PNG plots (matplotlib, Agg backend).

    write_report(results, out_dir, command="keeper backtest ...")

writes into `out_dir`:
- `results.md`: the command, the headline table (one row per strategy), breaker
  trips per breaker and the refusal reasons;
- `results.csv`: every summary field (`StrategyResult.summary()`), one row per strategy;
- `nav_fan.png`: NAV per share over days, median and 5-95 % / 25-75 % bands, per strategy;
- `drawdown.png`: the distribution over paths of the max drawdown, per strategy;
- `daily_pnl.png`: the distribution of daily NAV returns (pooled path-days), per strategy.
Metric definitions: `keeper.backtest` (module doc) and docs/backtest.md.
"""
from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np

from keeper.backtest import BREAKERS, StrategyResult

__all__ = ["write_report", "markdown_table", "HEADLINE"]

# (summary key, column title, format)
HEADLINE = (
    ("strategy", "strategy", "{}"),
    ("return_mean", "return mean", "{:+.2%}"),
    ("return_p5", "return p5", "{:+.2%}"),
    ("max_dd_mean", "max DD mean", "{:.2%}"),
    ("max_dd_p95", "max DD p95", "{:.2%}"),
    ("cvar99_daily", "CVaR99 daily", "{:.2%}"),
    ("hedge_error_std", "hedge error std", "{:.3%}"),
    ("turnover", "turnover x NAV", "{:.2f}"),
    ("gas_usd", "gas USD", "{:,.0f}"),
    ("trade_cost_usd", "fees+impact USD", "{:,.0f}"),
    ("breaker_trips", "trips", "{:.2f}"),
    ("sales_refused", "sales refused", "{:.1f}"),
    ("sales_refused_share", "refused share", "{:.1%}"),
)


def _fmt(fmt: str, v) -> str:
    if isinstance(v, float) and not math.isfinite(v):
        return "n/a"
    return fmt.format(v)


def markdown_table(summaries: list[dict], columns=HEADLINE) -> str:
    head = "| " + " | ".join(title for _, title, _ in columns) + " |"
    align = "|" + "|".join("---" if key == "strategy" else "---:" for key, _, _ in columns) + "|"
    rows = ["| " + " | ".join(_fmt(f, s[key]) for key, _, f in columns) + " |" for s in summaries]
    return "\n".join([head, align, *rows])


def write_report(results: dict[str, StrategyResult], out_dir, command: str = "") -> list[Path]:
    """Write results.md, results.csv and the three PNGs; returns the paths written."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    summaries = [r.summary() for r in results.values()]
    first = next(iter(results.values()))
    written = []

    lines = ["# Backtest results", ""]
    if command:
        lines += ["Command:", "", f"    {command}", ""]
    lines += [
        f"Model `{first.model}`, {first.n_paths} paths x {first.day_nav.shape[1] - 1} days, "
        f"step {first.step_seconds // 60} min, NAV0 {first.nav0:,.0f} USD. Per path means unless named "
        "(p5 / p95: percentiles over paths; CVaR and hedge error pooled over path-days). "
        "Definitions: docs/backtest.md.",
        "",
        markdown_table(summaries),
        "",
        "Breaker trips per path (latch events), by breaker:",
        "",
        markdown_table(summaries, [("strategy", "strategy", "{}")]
                       + [(f"trips_{b}", b, "{:.2f}") for b in BREAKERS]),
        "",
        "Refusals per path, by reason (sales: OptionMarket.buy reverts; trades: Hedger.rebalance reverts):",
        "",
        markdown_table(summaries, [("strategy", "strategy", "{}")] + [
            (k, k.replace("trade_refused_", "trade ").replace("refused_", "sale "), "{:.2f}")
            for k in summaries[0] if k.startswith("refused_") or k.startswith("trade_refused_")
        ]),
        "",
        "Simulation speed (path-steps per second, policy included): "
        + ", ".join(f"{s['strategy']} {s['path_steps_per_s'] / 1e6:.2f} M" for s in summaries) + ".",
        "",
    ]
    p = out / "results.md"
    p.write_text("\n".join(lines))
    written.append(p)

    p = out / "results.csv"
    with p.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(summaries[0]))
        w.writeheader()
        for s in summaries:
            w.writerow({k: (f"{v:.10g}" if isinstance(v, float) else v) for k, v in s.items()})
    written.append(p)
    written += _plots(results, out)
    return written


def _plots(results: dict[str, StrategyResult], out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(results)
    written = []

    n = len(names)
    fig, axes = plt.subplots(1, n, figsize=(4.2 * n, 3.4), sharey=True, squeeze=False)
    for ax, name in zip(axes[0], names):
        nps = results[name].day_nps
        days = np.arange(nps.shape[1])
        q = np.percentile(nps, [5, 25, 50, 75, 95], axis=0)
        ax.fill_between(days, q[0], q[4], alpha=0.2, color="C0", label="5-95 %")
        ax.fill_between(days, q[1], q[3], alpha=0.4, color="C0", label="25-75 %")
        ax.plot(days, q[2], color="C0", lw=1.5, label="median")
        ax.axhline(1.0, color="grey", lw=0.8, ls=":")
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("day")
    axes[0][0].set_ylabel("NAV per share")
    axes[0][0].legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    p = out / "nav_fan.png"
    fig.savefig(p, dpi=110)
    plt.close(fig)
    written.append(p)

    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    hi = max(float(np.max(results[k].max_dd)) for k in names) or 1e-6
    bins = np.linspace(0.0, hi, 40)
    for k in names:
        ax.hist(results[k].max_dd, bins=bins, histtype="step", lw=1.5, label=k)
    ax.set_xlabel("max drawdown of NAV per share (per path)")
    ax.set_ylabel("paths")
    ax.legend(fontsize=8)
    fig.tight_layout()
    p = out / "drawdown.png"
    fig.savefig(p, dpi=110)
    plt.close(fig)
    written.append(p)

    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    daily = {k: results[k].daily_returns() for k in names}
    lo = min(float(np.min(v)) for v in daily.values() if v.size)
    hi = max(float(np.max(v)) for v in daily.values() if v.size)
    bins = np.linspace(lo, hi if hi > lo else lo + 1e-6, 60)
    for k in names:
        ax.hist(daily[k], bins=bins, histtype="step", lw=1.5, label=k)
    ax.set_yscale("log")
    ax.set_xlabel("daily NAV return (path-days pooled)")
    ax.set_ylabel("path-days")
    ax.legend(fontsize=8)
    fig.tight_layout()
    p = out / "daily_pnl.png"
    fig.savefig(p, dpi=110)
    plt.close(fig)
    written.append(p)
    return written
