"""Synthetic data for ftigate: a tax register, an enforcement agency's batch, and its truth.

``generate(taxpayers, requests, seed, out)`` writes everything ``ftigate synth`` promises; see
:mod:`ftigate.synth.generate`. The request cases and their expected outcomes are one table,
:data:`ftigate.synth.cases.CASES`.
"""

from ftigate.synth.cases import CASES, Case, Expected
from ftigate.synth.generate import Progress, SynthSummary, generate

__all__ = ["CASES", "Case", "Expected", "Progress", "SynthSummary", "generate"]
