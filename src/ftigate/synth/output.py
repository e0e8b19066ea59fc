"""Write tables as CSV fast and byte-for-byte reproducibly; write the requester's keys.

Arrow's own CSV writer quotes every string, which doubles the size of a two-million-row
register for nothing. Here a field is quoted only when RFC 4180 requires it (it holds a
comma, a quote or a line break), lines end in ``\\n``, and the text is UTF-8. The whole table is
joined into lines inside Arrow and the bytes are written straight from Arrow's buffer, so no
Python string is made per row. Files are written to a temporary name and renamed, so a reader
never sees half a file.

Example:
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
    >>> write_csv(pa.table({"a": ["x", "a,b"], "b": ["", "José"]}), p)
    >>> print(p.read_text(encoding="utf-8"), end="")
    a,b
    x,
    "a,b",José
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from ftigate.keys import generate_keypair, load_private_key, public_key_b64, public_key_pem

CHUNK_ROWS = 500_000
SIGNER_NAME = "ERO Demo Signer"
SIGNER_ROLE = "Supervisory Detention and Deportation Officer (synthetic)"


def _quoted(col: pa.Array) -> pa.Array:
    col = pc.fill_null(col.cast(pa.string()), "")
    needs = pc.match_substring_regex(col, r'[",\r\n]')
    if not pc.any(needs).as_py():
        return col
    escaped = pc.replace_substring(col, '"', '""')
    quoted = pc.binary_join_element_wise('"', escaped, '"', "")
    return pc.if_else(needs, quoted, col)


def _header(table: pa.Table) -> bytes:
    return (",".join(table.column_names) + "\n").encode()


def _rows(batch: pa.RecordBatch) -> pa.Buffer:
    """The CSV lines of ``batch`` as one buffer: join in Arrow, slice its data buffer."""
    cols = [_quoted(c) for c in batch.columns]
    lines = pc.binary_join_element_wise(*cols, ",") if len(cols) > 1 else cols[0]
    lines = pc.binary_join_element_wise(lines, "", "\n")
    if lines.offset:
        lines = pa.concat_arrays([lines])
    offsets = pa.Array.from_buffers(pa.int32(), len(lines) + 1, [None, lines.buffers()[1]])
    lo, hi = offsets[0].as_py(), offsets[len(lines)].as_py()
    data = lines.buffers()[2]
    assert data is not None
    return data.slice(lo, hi - lo)


def _batches(table: pa.Table) -> list[pa.RecordBatch]:
    return [b for b in table.combine_chunks().to_batches(max_chunksize=CHUNK_ROWS) if b.num_rows]


def csv_bytes(table: pa.Table) -> bytes:
    """The CSV text of ``table`` (header included) as UTF-8 bytes."""
    return _header(table) + b"".join(_rows(b).to_pybytes() for b in _batches(table))


def write_csv(table: pa.Table, path: Path) -> None:
    """Write ``table`` to ``path`` atomically (temporary file, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(_header(table))
        for batch in _batches(table):
            f.write(memoryview(_rows(batch)))
    os.replace(tmp, path)


def write_keys(directory: Path) -> dict[str, str]:
    """The requester's Ed25519 key pair and ``signer.json``; an existing key is kept.

    Keys are random, never derived from the seed: a key that anyone can recompute from a
    published seed would sign for anybody. So ``keys/`` is the one output that differs
    between two runs with the same seed.
    """
    key_path, pub_path = directory / "requester.key", directory / "requester.pub"
    if key_path.exists():
        key = load_private_key(key_path)
        if not pub_path.exists():
            pub_path.write_bytes(public_key_pem(key.public_key()))
    else:
        key = generate_keypair(key_path, pub_path)
    signer = {
        "name": SIGNER_NAME,
        "role": SIGNER_ROLE,
        "public_key_b64": public_key_b64(key.public_key()),
    }
    (directory / "signer.json").write_text(json.dumps(signer, indent=2) + "\n", encoding="utf-8")
    return signer
