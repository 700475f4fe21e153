"""A small self-contained HTML report of an evaluation: tables and two SVG charts.

No plotting library is needed: the charts are drawn as inline SVG, so the report opens in any
browser and can be attached to an issue as one file.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b")
_W, _H, _PAD = 520, 300, 44


def hits_at_k_chart(curves: Mapping[str, Sequence[float]]) -> str:
    """Lines of Hits@k (k = 1..len) per question type, y from 0 to 1."""
    n = max((len(v) for v in curves.values()), default=0)
    if n == 0:
        return "<p>No answerable questions.</p>"

    def x(k: int) -> float:
        return _PAD + (k - 1) * (_W - 2 * _PAD) / max(n - 1, 1)

    def y(v: float) -> float:
        return _H - _PAD - v * (_H - 2 * _PAD)

    parts = [_frame("k (passages retrieved)", "Hits@k")]
    for tick in range(1, n + 1):
        parts.append(
            f'<text x="{x(tick):.1f}" y="{_H - _PAD + 16}" font-size="11" text-anchor="middle">{tick}</text>'
        )
    for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
        parts.append(
            f'<text x="{_PAD - 6}" y="{y(tick) + 4:.1f}" font-size="11" text-anchor="end">{tick:.2f}</text>'
        )
        parts.append(
            f'<line x1="{_PAD}" x2="{_W - _PAD}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" stroke="#eee"/>'
        )
    for i, (name, values) in enumerate(sorted(curves.items())):
        colour = _COLOURS[i % len(_COLOURS)]
        points = " ".join(f"{x(k):.1f},{y(v):.1f}" for k, v in enumerate(values, 1))
        parts.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{points}"/>'
        )
        parts.append(
            f'<text x="{_W - _PAD + 4}" y="{y(values[-1]) + 4 + 12 * i:.1f}" font-size="11" '
            f'fill="{colour}">{html.escape(name)}</text>'
        )
    return _svg(parts, width=_W + 150)


def latency_histogram(latencies_ms: Sequence[float], bins: int = 20) -> str:
    """Bars of how many questions took each span of milliseconds."""
    if not latencies_ms:
        return "<p>No latencies.</p>"
    top = max(latencies_ms) or 1.0
    width = top / bins
    counts = [0] * bins
    for value in latencies_ms:
        counts[min(int(value / width), bins - 1)] += 1
    tallest = max(counts)
    bar = (_W - 2 * _PAD) / bins
    parts = [_frame("milliseconds per question", "questions")]
    for i, count in enumerate(counts):
        h = count / tallest * (_H - 2 * _PAD)
        parts.append(
            f'<rect x="{_PAD + i * bar:.1f}" y="{_H - _PAD - h:.1f}" width="{bar - 1:.1f}" '
            f'height="{h:.1f}" fill="#1f77b4"><title>{i * width:.0f}–{(i + 1) * width:.0f} ms: {count}</title></rect>'
        )
    for i in range(0, bins + 1, max(bins // 5, 1)):
        parts.append(
            f'<text x="{_PAD + i * bar:.1f}" y="{_H - _PAD + 16}" font-size="11" text-anchor="middle">{i * width:.0f}</text>'
        )
    parts.append(
        f'<text x="{_PAD - 6}" y="{_PAD + 4}" font-size="11" text-anchor="end">{tallest}</text>'
    )
    return _svg(parts)


def _frame(x_label: str, y_label: str) -> str:
    return (
        f'<line x1="{_PAD}" y1="{_H - _PAD}" x2="{_W - _PAD}" y2="{_H - _PAD}" stroke="#333"/>'
        f'<line x1="{_PAD}" y1="{_PAD}" x2="{_PAD}" y2="{_H - _PAD}" stroke="#333"/>'
        f'<text x="{_W / 2}" y="{_H - 8}" font-size="12" text-anchor="middle">{x_label}</text>'
        f'<text x="12" y="{_H / 2}" font-size="12" text-anchor="middle" '
        f'transform="rotate(-90 12 {_H / 2})">{y_label}</text>'
    )


def _svg(parts: list[str], width: int = _W) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{_H}" '
        f'viewBox="0 0 {width} {_H}" font-family="sans-serif">' + "".join(parts) + "</svg>"
    )


def _table(rows: Sequence[Sequence[Any]], header: Sequence[str]) -> str:
    def cell(v: Any) -> str:
        return f"{v:.3f}" if isinstance(v, float) else html.escape(str(v))

    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{cell(v)}</td>" for v in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


RETRIEVAL_COLUMNS = ("fact_hits_at_4", "fact_hits_at_10", "fact_mrr_at_10", "doc_recall_at_10")


def retrieval_rows(report: Mapping[str, Any]) -> list[list[Any]]:
    """One row per question type and one for all: type, n, Hits@4, Hits@10, MRR@10, doc R@10."""
    rows = [
        [t, s["n"], *(s[c] for c in RETRIEVAL_COLUMNS)]
        for t, s in report["retrieval_by_type"].items()
    ]
    overall = report["retrieval"]
    rows.append(["all answerable", overall["n"], *(overall[c] for c in RETRIEVAL_COLUMNS)])
    return rows


def answer_rows(report: Mapping[str, Any]) -> list[list[Any]]:
    """One row per question type and one for all: type, n, answer accuracy, always "Yes"."""
    return [[t, r["n"], r["accuracy"], r["always_yes"]] for t, r in report["answers"].items()]


def render_html(
    report: Mapping[str, Any],
    curves: Mapping[str, Sequence[float]],
    latencies: Sequence[float],
    title: str,
) -> str:
    header = ("question type", "n", "Hits@4", "Hits@10", "MRR@10", "doc Recall@10")
    refusal, quotes, latency = report["refusal"], report["quotes"], report["latency_ms"]
    others = [
        ["null questions refused", refusal["null_refused"]],
        ["answerable questions refused", refusal["answerable_refused"]],
        ["quotes exact at their offsets", quotes["exact"]],
        ["answerable questions quoting a gold fact", quotes["gold_fact_quoted"]],
        ["latency p50 (ms)", latency["p50"]],
        ["latency p95 (ms)", latency["p95"]],
    ]
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif;max-width:60em;margin:2em auto;color:#222}}
table{{border-collapse:collapse;margin:1em 0}}td,th{{border:1px solid #ccc;padding:.3em .6em;text-align:right}}
td:first-child,th:first-child{{text-align:left}}</style></head><body>
<h1>{html.escape(title)}</h1>
<p>{report["n_queries"]} questions; chunks of at most {report.get("chunk_tokens", "?")} word pieces.</p>
<h2>Retrieval</h2>{_table(retrieval_rows(report), header)}
<h3>Hits@k by question type</h3>{hits_at_k_chart(curves)}
<h2>Answers</h2><p>Written by {html.escape(str(report.get("llm", "none")))}; a normalised match
to the gold answer (null questions: refused).</p>
{_table(answer_rows(report), ("question type", "n", "accuracy", "always Yes"))}
<h2>Refusal, quotes, latency</h2>{_table(others, ("figure", "value"))}
<h3>Latency of <code>ask</code></h3>{latency_histogram(latencies)}
</body></html>
"""
