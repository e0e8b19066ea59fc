"""The files ``ftigate synth`` writes: layout, determinism, keys, progress, bad sizes."""

from __future__ import annotations

import base64
import json
import stat
from pathlib import Path

import pytest

from ftigate.errors import InputError
from ftigate.keys import load_private_key, load_public_key, raw_public_key
from ftigate.model import REQUEST_FIELDS
from ftigate.synth import generate
from ftigate.synth.batch import TRUTH_COLUMNS
from ftigate.synth.register import ADDRESS_COLUMNS, TAXPAYER_COLUMNS

from .conftest import Synth

DATA_FILES = ("register/taxpayers.csv", "register/addresses.csv", "batch/requests.csv", "truth.csv")


def test_columns_are_the_documented_ones(synth: Synth) -> None:
    from ftigate.store import register as ingest  # what ingest requires

    assert tuple(synth.taxpayers.columns) == TAXPAYER_COLUMNS == ingest.TAXPAYER_COLUMNS
    assert tuple(synth.addresses.columns) == ADDRESS_COLUMNS == ingest.ADDRESS_COLUMNS
    assert tuple(synth.requests.columns) == REQUEST_FIELDS  # the intake's column list
    assert tuple(synth.truth.columns) == TRUTH_COLUMNS
    assert len(synth.requests) == len(synth.truth) == 1_000
    assert len(synth.taxpayers) == 5_000


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    generate(3_000, 1_000, 5, a)
    generate(3_000, 1_000, 5, b)
    generate(3_000, 1_000, 6, c)
    for name in DATA_FILES:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
        assert (a / name).read_bytes() != (c / name).read_bytes(), name


def test_rerun_into_the_same_directory_keeps_the_key_and_rewrites_the_data(tmp_path: Path) -> None:
    generate(1_000, 100, 1, tmp_path)
    key = (tmp_path / "keys" / "requester.key").read_bytes()
    first = (tmp_path / "truth.csv").read_bytes()
    generate(1_000, 100, 2, tmp_path)
    assert (tmp_path / "keys" / "requester.key").read_bytes() == key
    assert (tmp_path / "truth.csv").read_bytes() != first
    assert not list(tmp_path.rglob("*.tmp"))


def test_requester_key_is_private_and_signer_json_names_its_public_half(synth: Synth) -> None:
    keys = synth.out / "keys"
    assert stat.S_IMODE((keys / "requester.key").stat().st_mode) == 0o600
    private = load_private_key(keys / "requester.key")
    public = load_public_key(keys / "requester.pub")
    assert raw_public_key(private.public_key()) == raw_public_key(public)
    signer = json.loads((keys / "signer.json").read_text())
    assert set(signer) == {"name", "role", "public_key_b64"}
    assert base64.b64decode(signer["public_key_b64"]) == raw_public_key(public)


def test_summary_counts_agree_with_the_files(synth: Synth) -> None:
    s = synth.summary
    assert s.taxpayers == len(synth.taxpayers)
    assert s.addresses == len(synth.addresses)
    assert s.itin_filers == (synth.taxpayers["tin_type"] == "ITIN").sum()
    assert s.tin_supplied == (synth.requests["tin"] != "").sum()
    assert dict(s.cases) == synth.truth["case"].value_counts().to_dict()
    assert dict(s.expected) == synth.truth["expected"].value_counts().to_dict()
    assert all(p.exists() for p in s.files)


def test_progress_reports_stages_in_order_and_finishes_at_one(tmp_path: Path) -> None:
    seen: list[tuple[str, float]] = []
    generate(1_000, 100, 3, tmp_path, progress=lambda stage, f: seen.append((stage, f)))
    fractions = [f for _, f in seen]
    assert fractions == sorted(fractions)
    assert seen[0] == ("register", 0.0)
    assert seen[-1] == ("done", 1.0)
    assert {"register", "requests", "writing", "keys"} <= {s for s, _ in seen}


@pytest.mark.parametrize(
    ("taxpayers", "requests", "seed", "field"),
    [
        (0, 0, 1, "taxpayers"),
        (100, 200, 1, "requests"),
        (100, -1, 1, "requests"),
        (10, 5, -3, "seed"),
    ],
)
def test_impossible_sizes_are_refused_naming_the_option(
    tmp_path: Path, taxpayers: int, requests: int, seed: int, field: str
) -> None:
    with pytest.raises(InputError) as e:
        generate(taxpayers, requests, seed, tmp_path)
    assert [d.field for d in e.value.details] == [field]
    assert not (tmp_path / "register").exists()


def test_an_empty_batch_still_writes_headers(tmp_path: Path) -> None:
    generate(500, 0, 1, tmp_path)
    assert (tmp_path / "batch" / "requests.csv").read_text().strip() == ",".join(REQUEST_FIELDS)


def test_a_reweighted_case_table_changes_only_the_mix(tmp_path: Path) -> None:
    from dataclasses import replace

    from ftigate.synth import CASES, Expected

    only = [replace(c, share=1.0) if c.name == "exact" else replace(c, share=0.0) for c in CASES]
    s = generate(2_000, 500, 1, tmp_path, cases=[c for c in only if c.name in ("exact", "absent")])
    assert dict(s.cases) == {"exact": 500}
    wrong = [replace(CASES[0], expected=Expected.REFUSE)]
    with pytest.raises(InputError) as e:
        generate(2_000, 500, 1, tmp_path / "x", cases=wrong)
    assert e.value.details[0].field == "cases"


def test_a_tiny_register_still_gives_a_consistent_batch(tmp_path: Path) -> None:
    from .conftest import load

    s = load(tmp_path, generate(20, 20, 3, tmp_path))
    assert len(s.requests) == 20
    from ftigate.synth.cases import CASE_BY_NAME

    for case, expected in zip(s.truth["case"], s.truth["expected"], strict=True):
        assert CASE_BY_NAME[case].expected == expected
