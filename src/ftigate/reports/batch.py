"""The batch report: what was asked, what was refused and why, what was disclosed, how sure.

The report carries no FTI: counts, refusal codes, probability distributions, hashes and the
checkpoint. It is safe to hand to an overseer.
"""

from __future__ import annotations

import base64
import io
import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from ftigate.model import Decision, Outcome


@dataclass(frozen=True)
class BatchReport:
    batch_id: str
    agreement_id: str | None
    agreement_sha256: str | None
    status: str
    refusal_code: str | None
    snapshot_id: str | None
    model_sha256: str | None
    software_version: str | None
    rows: int
    outcomes: Mapping[str, int]
    final_outcomes: Mapping[str, int]
    refusal_codes: Mapping[str, int]
    internal_reasons: Mapping[str, int]
    estimated_false_disclosures: float
    probabilities: Sequence[float]
    checkpoint: str | None = None
    timings: Mapping[str, float] = field(default_factory=dict)
    evaluation: Mapping[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if k != "probabilities"}
        out["probability_histogram"] = histogram(self.probabilities)
        return out


def summarise(decisions: Sequence[Decision]) -> dict[str, Any]:
    """Counts a report needs from a batch's decisions (every code of a refused row counts)."""
    return {
        "outcomes": dict(Counter(str(d.outcome) for d in decisions)),
        "refusal_codes": dict(Counter(str(c) for d in decisions for c in d.refusal_codes)),
        "internal_reasons": dict(Counter(str(d.reason) for d in decisions if d.reason)),
        "probabilities": [d.probability for d in decisions if d.probability is not None],
        "estimated_false_disclosures": sum(
            1.0 - (d.probability or 0.0) for d in decisions if d.outcome is Outcome.DISCLOSE
        ),
    }


def histogram(values: Sequence[float], bins: int = 20) -> list[int]:
    counts = [0] * bins
    for v in values:
        counts[min(int(v * bins), bins - 1)] += 1
    return counts


def probability_plot_png(values: Sequence[float]) -> bytes:
    """Histogram of best-candidate probabilities (log count), as PNG bytes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 2.6), dpi=100)
    ax.hist(list(values) or [0.0], bins=40, range=(0, 1), color="#35608d", log=True)
    ax.set_xlabel("match probability of the best candidate")
    ax.set_ylabel("requests (log)")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


_env = Environment(
    loader=PackageLoader("ftigate.reports", "templates"), autoescape=select_autoescape(["html"])
)


def render_html(report: BatchReport) -> str:
    png = base64.b64encode(probability_plot_png(report.probabilities)).decode()
    return _env.get_template("batch.html").render(
        r=report,
        plot=png,
        data_json=json.dumps(report.to_json(), indent=1, sort_keys=True, default=str),
    )
