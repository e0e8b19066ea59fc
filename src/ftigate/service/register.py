"""Register snapshots: ingest files into an immutable snapshot, prepare and train linkage once."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy.engine import Connection

from ftigate.errors import NotFound
from ftigate.linkage import model_sha256
from ftigate.service.context import Gateway, Principal
from ftigate.service.linkage_backend import backend_for
from ftigate.store import repo
from ftigate.store.register import ingest_register

Progress = Callable[[str], None]


@dataclass(frozen=True)
class SnapshotResult:
    snapshot: repo.StoredSnapshot
    reused: bool  # the same content was ingested before; its prepared tables and model are reused


def ingest(
    gw: Gateway,
    directory: Path,
    principal: Principal,
    *,
    train: bool = True,
    progress: Progress | None = None,
) -> SnapshotResult:
    """Validate and snapshot ``directory``; on any bad row nothing changes (InputError)."""
    say = progress or (lambda _msg: None)
    say("validating register files")
    files = ingest_register(directory, gw.snapshots_root, date.today())
    with gw.reading() as conn:
        try:
            before: repo.StoredSnapshot | None = repo.get_snapshot(conn, files.id)
        except NotFound:  # a new snapshot
            before = None
    backend = backend_for(gw.settings)
    say("preparing linkage tables")
    backend.prepare_register(files.path, gw.settings)  # a no-op when already prepared
    model_path: Path | None = None
    trained = before is not None and before.model_path and Path(before.model_path).exists()
    if train and not trained:
        say("training the linkage model")
        model_path = backend.train(files.path, gw.settings)

    def run(conn: Connection) -> repo.StoredSnapshot:
        snap = repo.upsert_current_snapshot(
            conn,
            id=files.id,
            path=str(files.path),
            source=files.source,
            taxpayers=files.taxpayers,
            addresses=files.addresses,
            content_sha256=files.content_sha256,
        )
        if model_path is not None:
            repo.set_snapshot_model(conn, files.id, str(model_path), model_sha256(model_path))
            snap = repo.get_snapshot(conn, files.id)
        return snap

    snap = gw.audited(
        principal,
        "REGISTER_INGEST",
        f"snapshot:{files.id}",
        run,
        detail=f"taxpayers={files.taxpayers} addresses={files.addresses}",
    )
    return SnapshotResult(snap, reused=before is not None)


def ensure_trained(
    gw: Gateway, snapshot: repo.StoredSnapshot, principal: Principal
) -> repo.StoredSnapshot:
    """The snapshot with a trained model; trains (once) if it has none yet."""
    if snapshot.model_path and Path(snapshot.model_path).exists():
        return snapshot
    backend = backend_for(gw.settings)
    path = Path(snapshot.path)
    backend.prepare_register(path, gw.settings)
    model_path = backend.train(path, gw.settings)

    def run(conn: Connection) -> repo.StoredSnapshot:
        repo.set_snapshot_model(conn, snapshot.id, str(model_path), model_sha256(model_path))
        return repo.get_snapshot(conn, snapshot.id)

    return gw.audited(principal, "MODEL_TRAIN", f"snapshot:{snapshot.id}", run)
