"""One modest synthetic data set, generated once per session and read back as frames."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from ftigate.synth import SynthSummary, generate

TAXPAYERS, REQUESTS, SEED = 5_000, 1_000, 11


@dataclass(frozen=True)
class Synth:
    out: Path
    summary: SynthSummary
    taxpayers: pd.DataFrame
    addresses: pd.DataFrame
    requests: pd.DataFrame
    truth: pd.DataFrame

    @property
    def rows(self) -> pd.DataFrame:
        """Requests and truth side by side (same order, one row per request row)."""
        return pd.concat(
            [self.requests, self.truth.drop(columns=["request_id"]).add_prefix("truth_")], axis=1
        )

    def last_address(self) -> pd.DataFrame:
        """Each taxpayer's most recent address, indexed by TIN."""
        a = self.addresses.sort_values(["tin", "valid_from"], ascending=[True, False])
        return a.groupby("tin").first()


def read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False)


def load(out: Path, summary: SynthSummary) -> Synth:
    return Synth(
        out=out,
        summary=summary,
        taxpayers=read(out / "register" / "taxpayers.csv"),
        addresses=read(out / "register" / "addresses.csv"),
        requests=read(out / "batch" / "requests.csv"),
        truth=read(out / "truth.csv"),
    )


@pytest.fixture(scope="session")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    out = tmp_path_factory.mktemp("synth")
    return load(out, generate(TAXPAYERS, REQUESTS, SEED, out))
