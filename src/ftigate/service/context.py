"""The gateway object: settings, the store, keys, and the audited transaction wrapper."""

from __future__ import annotations

import getpass
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TypeVar

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.engine import Connection

from ftigate.config import Settings
from ftigate.errors import FtigateError
from ftigate.keys import load_private_key, load_secret
from ftigate.store import repo
from ftigate.store.db import Database

T = TypeVar("T")
log = logging.getLogger("ftigate")

try:
    SOFTWARE_VERSION = version("ftigate")
except PackageNotFoundError:  # running from a source tree without installation
    SOFTWARE_VERSION = "0+unknown"


@dataclass(frozen=True)
class Principal:
    """Who acts, in which role, through which door. ``agency`` scopes a requester's reads."""

    name: str
    role: str  # requester | officer | auditor | admin | system
    origin: str = "cli"
    agency: str | None = None

    @classmethod
    def local(cls, role: str = "admin", name: str | None = None) -> Principal:
        return cls(name or f"local:{getpass.getuser()}", role, "cli")


class Gateway:
    """Everything a use case needs. Cheap to build; keys are read on first use."""

    def __init__(self, settings: Settings, db: Database | None = None) -> None:
        self.settings = settings
        self.db = db or Database.connect(settings.database_url)

    @cached_property
    def signing_key(self) -> Ed25519PrivateKey:
        return load_private_key(self.settings.gateway_key_path)

    @cached_property
    def tin_hmac_key(self) -> bytes:
        return load_secret(self.settings.tin_hmac_key_path)

    @property
    def snapshots_root(self) -> Path:
        return self.settings.data_path / "snapshots"

    def audited(
        self,
        principal: Principal,
        event_type: str,
        obj: str,
        fn: Callable[[Connection], T],
        detail: str | None = None,
    ) -> T:
        """Run ``fn`` in one transaction with its audit event; record failures separately."""
        try:
            with self.db.transaction() as conn:
                result = fn(conn)
                repo.record_audit(
                    conn,
                    principal=principal.name,
                    event_type=event_type,
                    outcome="success",
                    origin=principal.origin,
                    object=obj,
                    detail=detail,
                )
            return result
        except FtigateError as e:
            self._record_failure(principal, event_type, obj, str(getattr(e, "refusal", e.code)))
            raise
        except Exception:
            self._record_failure(principal, event_type, obj, "INTERNAL")
            raise

    def _record_failure(self, principal: Principal, event_type: str, obj: str, code: str) -> None:
        try:
            with self.db.transaction() as conn:
                repo.record_audit(
                    conn,
                    principal=principal.name,
                    event_type=event_type,
                    outcome="failure",
                    origin=principal.origin,
                    object=obj,
                    detail=code,
                )
        except FtigateError:  # the store itself is down; the original error is what matters
            log.exception("could not record audit event %s for %s", event_type, obj)

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        with self.db.reading() as conn:
            yield conn
