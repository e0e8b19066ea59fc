"""Smoke test of ``bench/compare.py --size small`` (200,000 taxpayers, 20,000 requests): it runs
end to end and reports both sides.

No timing is asserted (benchmarks print figures; tests never judge them). The accuracy
properties checked are the gateway's first rule (no wrong-person disclosure, nothing that must
be refused disclosed) and the issue's claims that hold at any size: precision of at least 99.9%
and a recall above the plain linkage's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]


@pytest.mark.slow
def test_compare_runs_both_pipelines_and_writes_the_report(tmp_path: Path) -> None:
    out = tmp_path / "compare.json"
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "compare.py"),
            "--size",
            "small",
            "--work",
            str(tmp_path / "work"),
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "FTIGATE_DUCKDB_THREADS": "1"},
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    report = json.loads(out.read_text())
    stages = [s["stage"] for s in report["ftigate"]["stages"] + report["plain"]["stages"]]
    assert "match" in stages and "plain_match" in stages
    by_stage = {s["stage"]: s for s in report["ftigate"]["stages"] + report["plain"]["stages"]}
    # where the match's time goes, and how many pairs each side scored
    linkage = by_stage["match"]["linkage"]
    assert linkage["pairs"] > 0 and linkage["requests"] > 0
    assert {"requests", "register", "predict", "candidates"} <= set(linkage["seconds"])
    assert by_stage["plain_match"]["pairs"] > 0
    assert all(s["peak_rss_mib"] > 0 for s in report["ftigate"]["stages"])
    for side in ("ftigate", "plain"):
        evaluation = report[side]["evaluation"]
        assert evaluation["requests"] == 20_000
        assert {"precision", "recall", "wrong_person", "by_case", "by_origin"} <= set(evaluation)
        assert set(evaluation["by_origin"]) <= {
            "hispanic",
            "anglo",
            "vietnamese",
            "chinese",
            "arabic",
        }
    ftigate, plain = report["ftigate"]["evaluation"], report["plain"]["evaluation"]
    assert ftigate["wrong_person"] == 0 and ftigate["forbidden_disclosed"] == 0
    assert ftigate["precision"] >= 0.999 and ftigate["recall"] > plain["recall"]
    # the batch report's data carries the same evaluation, origin by origin
    batch_report = json.loads((tmp_path / "work" / "report.json").read_text())
    assert batch_report["evaluation"]["by_origin"] == report["ftigate"]["evaluation"]["by_origin"]
    assert report["summary"]["match_time_ratio"] > 0
    assert "origin" in proc.stdout and "ratio ftigate/plain" in proc.stdout
