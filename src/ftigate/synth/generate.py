"""``ftigate synth``: a synthetic register, an ICE-style batch, its truth and a requester key.

Everything but the key is a function of ``(taxpayers, requests, seed)``: the same arguments
give byte-identical files on any machine, so a benchmark or a bug report can name its data
by three numbers. Separate random streams (``SeedSequence.spawn``) feed the register and the
batch, so changing how requests are made never changes the register.

Example:
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp())
    >>> s = generate(taxpayers=2000, requests=200, seed=7, out=out)
    >>> (s.taxpayers, s.requests, (out / "truth.csv").exists())
    (2000, 200, True)
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType

import numpy as np
import pandas as pd
import pyarrow as pa

from ftigate.errors import Detail, InputError
from ftigate.synth.batch import REQUEST_COLUMNS, TRUTH_COLUMNS, build_batch
from ftigate.synth.cases import CASE_BY_NAME, CASES, Case, allocate
from ftigate.synth.output import write_csv, write_keys
from ftigate.synth.people import DecoyPlan
from ftigate.synth.pools import load_pools
from ftigate.synth.register import build_register

Progress = Callable[[str, float], None]
"""``progress(stage, fraction)``: the stage now running and the overall fraction done (0-1)."""

MAX_TAXPAYERS = 50_000_000

# Where each stage starts on the progress bar: roughly its share of the time at 2M/200k.
_STAGES = (("register", 0.0), ("requests", 0.4), ("writing", 0.65), ("keys", 0.98))


@dataclass(frozen=True)
class SynthSummary:
    """What was written, in numbers, for the CLI to print."""

    out: Path
    seed: int
    taxpayers: int
    itin_filers: int
    addresses: int
    requests: int
    tin_supplied: int
    cases: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    expected: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    refusal_codes: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    files: tuple[Path, ...] = ()
    seconds: float = 0.0


def decoy_plan(taxpayers: int, counts: Mapping[str, int]) -> DecoyPlan:
    """Enough decoys for the requests, and a realistic number more that nobody asks about."""
    twins = counts.get("twin", 0) + counts.get("twin_ambiguous", 0)
    jr_sr = counts.get("jr_sr", 0) + counts.get("jr_sr_ambiguous", 0)
    crowd_rows = counts.get("crowd", 0) + counts.get("crowd_member", 0)
    return DecoyPlan(
        twin_pairs=max(twins, round(0.004 * taxpayers)),
        ambiguous_twin_pairs=counts.get("twin_ambiguous", 0),
        jr_sr_pairs=max(jr_sr, round(0.003 * taxpayers)),
        crowds=max(math.ceil(crowd_rows / 8), round(taxpayers / 20_000), 1 if crowd_rows else 0),
    )


def generate(
    taxpayers: int,
    requests: int,
    seed: int,
    out: Path,
    progress: Progress | None = None,
    cases: Sequence[Case] = CASES,
) -> SynthSummary:
    """Write ``out/register``, ``out/batch``, ``out/truth.csv`` and ``out/keys``.

    ``cases`` re-weights or leaves out cases of :data:`~ftigate.synth.cases.CASES`; only
    ``share`` may differ, since how a case's rows are made fixes what they must come to.

    Raises :class:`~ftigate.errors.InputError` (naming the option) when the sizes cannot
    work: every request about a register person needs a distinct person, so the register must
    be at least as large as the batch.
    """
    _check(taxpayers, requests, seed)
    _check_cases(cases)
    started = time.perf_counter()
    report = progress or (lambda stage, fraction: None)
    stages = dict(_STAGES)
    out = Path(out)
    pools = load_pools()
    register_rng, batch_rng = (
        np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2)
    )
    counts = allocate(cases, requests)

    report("register", stages["register"])
    span = stages["requests"] - stages["register"]
    reg = build_register(
        pools,
        register_rng,
        taxpayers,
        decoy_plan(taxpayers, counts),
        step=lambda what, f: report(f"register: {what}", stages["register"] + span * f),
    )
    report("requests", stages["requests"])
    batch = build_batch(pools, reg, batch_rng, counts) if requests else None

    report("writing", stages["writing"])
    files = [
        out / "register" / "taxpayers.csv",
        out / "register" / "addresses.csv",
        out / "batch" / "requests.csv",
        out / "truth.csv",
    ]
    write_csv(reg.taxpayers, files[0])
    report("writing addresses", 0.72)
    write_csv(reg.addresses, files[1])
    report("writing batch", 0.93)
    req_table = _strings(batch.requests if batch else None, REQUEST_COLUMNS)
    truth_table = _strings(batch.truth if batch else None, TRUTH_COLUMNS)
    write_csv(req_table, files[2])
    write_csv(truth_table, files[3])

    report("keys", stages["keys"])
    write_keys(out / "keys")
    files += [
        out / "keys" / "requester.key",
        out / "keys" / "requester.pub",
        out / "keys" / "signer.json",
    ]
    report("done", 1.0)

    truth = batch.truth if batch else None
    codes: Counter[str] = Counter()
    if truth is not None:
        for value in truth["refusal_code"]:
            codes.update(c for c in value.split(";") if c)
    return SynthSummary(
        out=out,
        seed=seed,
        taxpayers=taxpayers,
        itin_filers=int(reg.people.itin.sum()),
        addresses=reg.addresses.num_rows,
        requests=requests,
        tin_supplied=int((batch.requests["tin"] != "").sum()) if batch else 0,
        cases=MappingProxyType(dict(Counter(truth["case"])) if truth is not None else {}),
        expected=MappingProxyType(dict(Counter(truth["expected"])) if truth is not None else {}),
        refusal_codes=MappingProxyType(dict(codes)),
        files=tuple(files),
        seconds=time.perf_counter() - started,
    )


def _check(taxpayers: int, requests: int, seed: int) -> None:
    problems = []
    if not 1 <= taxpayers <= MAX_TAXPAYERS:
        problems.append(("taxpayers", f"--taxpayers must be 1..{MAX_TAXPAYERS}, not {taxpayers}"))
    if requests < 0:
        problems.append(("requests", f"--requests must not be negative, not {requests}"))
    elif requests > taxpayers:
        problems.append(
            (
                "requests",
                f"--requests ({requests}) must not exceed --taxpayers ({taxpayers}): "
                "each request about a filer needs its own filer",
            )
        )
    if seed < 0:
        problems.append(("seed", f"--seed must not be negative, not {seed}"))
    if problems:
        raise InputError(
            "synth: " + "; ".join(m for _, m in problems),
            details=[Detail(m, field=f) for f, m in problems],
        )


def _check_cases(cases: Sequence[Case]) -> None:
    bad = [
        Detail(f"case {c.name!r}: only the share of a built-in case may change", field="cases")
        for c in cases
        if c.name not in CASE_BY_NAME or replace(CASE_BY_NAME[c.name], share=c.share) != c
    ]
    if not cases or sum(c.share for c in cases) <= 0:
        bad.append(Detail("the case table needs at least one case with a share", field="cases"))
    if bad:
        raise InputError("synth: unusable case table", details=bad)


def _strings(df: pd.DataFrame | None, columns: tuple[str, ...]) -> pa.Table:
    """A frame as an all-string Arrow table with exactly ``columns`` (empty when None)."""
    if df is None:
        return pa.table({c: pa.array([], type=pa.string()) for c in columns})
    return pa.table({c: pa.array(df[c].astype(str).tolist(), type=pa.string()) for c in columns})
