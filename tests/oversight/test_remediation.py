"""Remediation: erroneous release -> disposal notice -> acknowledgement, and every refusal.

The ledger here is made the real way (review by one officer, release by another). Every refused
step must leave the ledger exactly as it was; every accepted one adds one leaf and a checkpoint
that covers it, and ``ledger verify`` still passes.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from typer.testing import CliRunner

from ftigate.cli import app
from ftigate.errors import AuthError, Conflict, Forbidden, InputError, NotFound
from ftigate.errors import RefusalCode as C
from ftigate.keys import load_public_key, verify_signature
from ftigate.ledger import log as ledger_log
from ftigate.ledger import note, offline
from ftigate.ledger.leaf import RecordKind, tin_hmac
from ftigate.ledger.verify import verify_ledger
from ftigate.model import AgreementStatus
from ftigate.service import Principal
from ftigate.service.admin import set_status
from ftigate.service.oversight import annual_report, oversight_report
from ftigate.service.remediation import (
    build_disposal_ack,
    issue_disposal_notice,
    mark_erroneous_release,
    record_disposal_ack,
    remediation_status,
    sign_disposal_ack,
)

from .conftest import (
    ADMIN,
    AUDITOR,
    CBP,
    DEMO_SIGNER,
    ICE,
    OFFICER_A,
    OFFICER_B,
    Store,
    cli_base,
    demo_signer_key,
    disclose,
    no_match,
    refuse,
    review,
    write_key,
)

WRONG_TIN = "123456789"
runner = CliRunner()


@pytest.fixture
def released(store: Store) -> Store:
    """Batch B1: R1 disclosed in bulk, R2 approved by an officer, R3 withheld, R4 refused,
    R5 no match; released by a second officer."""
    store.make_batch(
        "B1",
        [
            disclose("R1", WRONG_TIN),
            review("R2", "912701234"),
            review("R3", "234567890"),
            refuse("R4", C.ADDRESS_NOT_SPECIFIC),
            no_match("R5"),
        ],
    )
    store.review_and_release("B1", approve=["R2"], withhold=["R3"])
    return store


def leaf_of(store: Store, request_id: str) -> int:
    with store.gw.reading() as conn:
        return ledger_log.find_leaves(conn, "B1", request_id)[0]


def ack_for(notice: Path, key: Ed25519PrivateKey | None = None, signer: str = DEMO_SIGNER) -> bytes:
    ack = build_disposal_ack(
        notice.read_bytes(),
        signer=signer,
        disposed_at=datetime(2026, 11, 26, tzinfo=UTC),
        statement="destroyed in the case system and the shared drive",
    )
    return sign_disposal_ack(ack, key or demo_signer_key())


def unchanged(store: Store, fn, *args, error: type[Exception], match: str | None = None) -> None:  # type: ignore[no-untyped-def]
    """``fn(*args)`` raises ``error`` and writes no leaf and no checkpoint."""
    with store.gw.reading() as conn:
        size, checkpoints = ledger_log.tree_size(conn), len(ledger_log.load_checkpoints(conn))
    with pytest.raises(error, match=match):
        fn(*args)
    with store.gw.reading() as conn:
        assert ledger_log.tree_size(conn) == size
        assert len(ledger_log.load_checkpoints(conn)) == checkpoints


def verifies(store: Store) -> bool:
    gw = store.gw
    verifier = note.NoteSigner(gw.settings.log_origin, gw.signing_key).verifier
    with gw.reading() as conn:
        report = verify_ledger(
            conn, [verifier], origin=gw.settings.log_origin, hmac_key=gw.tin_hmac_key
        )
    return report.ok and report.leaves == store.tree_size()


def test_the_whole_chain(released: Store, tmp_path: Path) -> None:
    s, gw = released, released.gw
    disclosure = leaf_of(s, "R1")
    size = s.tree_size()

    er = mark_erroneous_release(gw, OFFICER_A, "B1", "R1", "wrong person: the requested twin")
    assert (er.kind, er.leaf_index, er.remediates) == (
        RecordKind.ERRONEOUS_RELEASE,
        size,
        disclosure,
    )
    notice = issue_disposal_notice(gw, OFFICER_B, "B1", "R1", tmp_path / "notices")
    assert notice.leaf_index == size + 1
    path, sig = notice.files
    data = path.read_bytes()
    gateway_pub = load_public_key(Path(gw.settings.data_dir) / "keys" / "gateway.pub")
    assert verify_signature(gateway_pub, base64.b64decode(sig.read_bytes()), data)
    body = json.loads(data)
    assert body["to"] == ICE and body["disclosure_leaf"] == disclosure
    assert body["erroneous_release_leaf"] == er.leaf_index
    assert body["fields_disclosed"] == ["city", "state", "street", "unit", "zip"]
    assert WRONG_TIN not in data.decode() and "400 N Main St" not in data.decode()
    assert "twin" not in data.decode()  # the internal reason stays inside

    ack = record_disposal_ack(gw, ADMIN, "B1", "R1", ack_for(path))
    assert ack.leaf_index == size + 2 and ack.remediates == disclosure

    with gw.reading() as conn:
        chain = [ledger_log.load_leaf(conn, i).record for i in range(size, size + 3)]
        # a checkpoint was signed after each step and covers it
        assert [c.size for c in ledger_log.load_checkpoints(conn)][-3:] == [
            size + 1,
            size + 2,
            size + 3,
        ]
        decision = ledger_log.load_leaf(conn, disclosure).record
        accounting = ledger_log.accounting(conn, gw.tin_hmac_key, WRONG_TIN)
    assert [r.kind for r in chain] == [
        RecordKind.ERRONEOUS_RELEASE,
        RecordKind.DISPOSAL_NOTICE,
        RecordKind.DISPOSAL_ACK,
    ]
    assert {r.remediates for r in chain} == {disclosure}
    assert {r.tin_hmac for r in chain} == {decision.tin_hmac, tin_hmac(gw.tin_hmac_key, WRONG_TIN)}
    assert [r.releaser for r in chain] == [OFFICER_A.name, OFFICER_B.name, DEMO_SIGNER]
    assert chain[0].remediation_reason == "wrong person: the requested twin"
    assert hashlib.sha256(data).hexdigest() in (chain[1].remediation_reason or "")
    # the taxpayer's accounting lists the disclosure and everything done about it
    assert [(i, r.kind) for i, r in accounting] == [
        (disclosure, RecordKind.DECISION),
        (size, RecordKind.ERRONEOUS_RELEASE),
        (size + 1, RecordKind.DISPOSAL_NOTICE),
        (size + 2, RecordKind.DISPOSAL_ACK),
    ]
    assert verifies(s)

    status = remediation_status(gw, AUDITOR, "B1", "R1").to_json()
    assert status["disposal_ack"]["by"] == DEMO_SIGNER
    assert status["erroneous_release"]["leaf"] == size

    today = datetime.now(UTC).date()
    report = oversight_report(gw, AUDITOR, today, today)
    totals = report.to_json()["totals"]
    assert (totals["erroneous_releases"], totals["disposal_notices"], totals["disposal_acks"]) == (
        1,
        1,
        1,
    )
    assert totals["open_remediations"] == 0 and report.cross.ok
    table = annual_report(gw, AUDITOR, today.year)
    assert table.erroneous_releases == 1 and table.total.total == 2  # still disclosed


def test_only_a_disclosure_can_be_an_erroneous_release(released: Store) -> None:
    gw = released.gw
    for rid, outcome in (("R3", "NOT_DISCLOSED"), ("R4", "REFUSED"), ("R5", "NOT_DISCLOSED")):
        unchanged(
            released,
            mark_erroneous_release,
            gw,
            OFFICER_A,
            "B1",
            rid,
            "deficient request",
            error=Conflict,
            match=f"records {outcome}.*not a disclosure",
        )
    unchanged(
        released,
        mark_erroneous_release,
        gw,
        OFFICER_A,
        "B1",
        "R9",
        "deficient request",
        error=NotFound,
    )
    # the officer-approved disclosure can be; and only once
    mark_erroneous_release(gw, OFFICER_A, "B1", "R2", "court order 25-cv-1")
    unchanged(
        released,
        mark_erroneous_release,
        gw,
        OFFICER_B,
        "B1",
        "R2",
        "court order 25-cv-1",
        error=Conflict,
        match="already recorded",
    )
    assert released.audit(event_type="REMEDIATE_ERRONEOUS_RELEASE", outcome="failure")


def test_roles(released: Store, tmp_path: Path) -> None:
    gw = released.gw
    ice = Principal("ice", "requester", "api", ICE)
    for who in (AUDITOR, ADMIN, ice):
        unchanged(
            released,
            mark_erroneous_release,
            gw,
            who,
            "B1",
            "R1",
            "wrong person",
            error=Forbidden,
        )
    # another agency learns nothing, not even that nothing was noticed yet: 404, not 409
    cbp = Principal("cbp", "requester", "api", CBP)
    unchanged(released, record_disposal_ack, gw, cbp, "B1", "R1", b"{}", error=NotFound)
    assert "another agency" in released.audit(principal="cbp")[-1]["detail"]
    mark_erroneous_release(gw, OFFICER_A, "B1", "R1", "wrong person")
    for who in (AUDITOR, ADMIN):
        unchanged(
            released,
            issue_disposal_notice,
            gw,
            who,
            "B1",
            "R1",
            tmp_path,
            error=Forbidden,
        )
    notice = issue_disposal_notice(gw, OFFICER_A, "B1", "R1", tmp_path).files[0]
    ack = ack_for(notice)
    # an auditor does not hand in acknowledgements; another agency cannot see the request
    unchanged(released, record_disposal_ack, gw, AUDITOR, "B1", "R1", ack, error=Forbidden)
    unchanged(released, record_disposal_ack, gw, cbp, "B1", "R1", ack, error=NotFound)
    # the requester itself may hand in its own signed acknowledgement
    assert record_disposal_ack(gw, ice, "B1", "R1", ack).kind is RecordKind.DISPOSAL_ACK
    denied = released.audit(principal="audra", outcome="failure")
    assert {e["event_type"] for e in denied} >= {
        "REMEDIATE_ERRONEOUS_RELEASE",
        "REMEDIATE_DISPOSAL_NOTICE",
        "REMEDIATE_DISPOSAL_ACK",
    }


def test_order(released: Store, tmp_path: Path) -> None:
    gw = released.gw
    notices = tmp_path / "notices"
    ack = b'{"ack": {}, "signature": ""}'
    unchanged(
        released,
        issue_disposal_notice,
        gw,
        OFFICER_A,
        "B1",
        "R1",
        notices,
        error=Conflict,
        match="not recorded as an erroneous release",
    )
    assert not notices.exists()  # no notice file either
    unchanged(
        released,
        record_disposal_ack,
        gw,
        ADMIN,
        "B1",
        "R1",
        ack,
        error=Conflict,
        match="no disposal notice",
    )
    mark_erroneous_release(gw, OFFICER_A, "B1", "R1", "wrong person")
    unchanged(
        released,
        record_disposal_ack,
        gw,
        ADMIN,
        "B1",
        "R1",
        ack,
        error=Conflict,
        match="no disposal notice",
    )
    notice = issue_disposal_notice(gw, OFFICER_A, "B1", "R1", notices).files[0]
    unchanged(
        released,
        issue_disposal_notice,
        gw,
        OFFICER_B,
        "B1",
        "R1",
        notices,
        error=Conflict,
        match="already issued",
    )
    good = ack_for(notice)
    record_disposal_ack(gw, ADMIN, "B1", "R1", good)
    unchanged(
        released,
        record_disposal_ack,
        gw,
        ADMIN,
        "B1",
        "R1",
        good,
        error=Conflict,
        match="already acknowledged",
    )


def test_acknowledgements_that_are_refused(released: Store, tmp_path: Path) -> None:
    gw = released.gw
    mark_erroneous_release(gw, OFFICER_A, "B1", "R1", "wrong person")
    notice = issue_disposal_notice(gw, OFFICER_A, "B1", "R1", tmp_path).files[0]

    def refused(data: bytes, error: type[Exception], match: str) -> None:
        unchanged(
            released, record_disposal_ack, gw, ADMIN, "B1", "R1", data, error=error, match=match
        )

    # signed by a key that is not the named signer's: the signature does not verify
    refused(ack_for(notice, Ed25519PrivateKey.generate()), AuthError, "does not verify")
    # a signature tampered with after signing
    doc = json.loads(ack_for(notice))
    doc["ack"]["statement"] = "kept a copy"
    refused(json.dumps(doc).encode(), AuthError, "does not verify")
    # a signer the agreement does not authorise
    refused(ack_for(notice, signer="Someone Else"), Forbidden, "not among the signers")
    # an acknowledgement of a different notice (e.g. an edited copy)
    edited = tmp_path / "edited.json"
    edited.write_bytes(notice.read_bytes().replace(b"Destroy", b"Keep"))
    refused(ack_for(edited), InputError, "notice_sha256")
    # not an acknowledgement at all
    refused(b"not json", InputError, "not JSON")
    refused(b'{"ack": {"format": "x"}, "signature": "AA=="}', InputError, "exactly")
    # the good one is accepted
    assert record_disposal_ack(gw, ADMIN, "B1", "R1", ack_for(notice)).leaf_index == (
        released.tree_size() - 1
    )


def test_reason_is_checked_for_fti(released: Store) -> None:
    for reason in ("", "   ", "wrong person 123-45-6789", "x" * 1001):
        unchanged(
            released,
            mark_erroneous_release,
            released.gw,
            OFFICER_A,
            "B1",
            "R1",
            reason,
            error=InputError,
        )


def test_remediation_through_the_cli(released: Store, tmp_path: Path) -> None:
    base = cli_base(released)

    def ok(*args: str) -> str:
        r = runner.invoke(app, [*base, *args])
        assert r.exit_code == 0, r.output
        return r.output

    where = ["--batch", "B1", "--request", "R1"]
    r = runner.invoke(app, [*base, "remediate", "disposal-notice", *where, "--officer", "a"])
    assert r.exit_code == 6 and "erroneous-release" in r.output
    wrong = ["--batch", "B1", "--request", "R4", "--reason", "deficient", "--officer", "a"]
    r = runner.invoke(app, [*base, "remediate", "erroneous-release", *wrong])
    assert r.exit_code == 6 and "not a disclosure" in r.output
    ok("remediate", "erroneous-release", *where, "--reason", "wrong person", "--officer", "a")
    out = ok("remediate", "disposal-notice", *where, "--officer", "b", "--out", str(tmp_path))
    notice = next(tmp_path.glob("disposal-notice-B1-R1.json"))
    assert str(notice) in out.replace("\n", "")
    key = write_key(demo_signer_key(), tmp_path / "signer.key")
    ack = tmp_path / "ack.json"
    ok(
        "remediate",
        "sign-ack",
        "--notice",
        str(notice),
        "--key",
        str(key),
        "--signer",
        DEMO_SIGNER,
        "--out",
        str(ack),
    )
    forged = tmp_path / "forged.json"
    forged.write_bytes(ack_for(notice, Ed25519PrivateKey.generate()))
    r = runner.invoke(app, [*base, "remediate", "disposal-ack", *where, "--ack-file", str(forged)])
    assert r.exit_code == 4 and "does not verify" in r.output
    out = ok("remediate", "disposal-ack", *where, "--ack-file", str(ack))
    assert "DISPOSAL_ACK leaf" in out
    status = json.loads(ok("remediate", "status", *where))
    assert status["disposal_notice"]["by"] == "b" and status["disposal_ack"]["by"] == DEMO_SIGNER
    assert "OK" in ok("ledger", "verify")
    # an overseer's offline check of an export holding the remediation leaves
    ok("ledger", "export", str(tmp_path / "bundle"))
    with pytest.raises(SystemExit) as done:
        offline.main([str(tmp_path / "bundle")])
    assert done.value.code in (0, None)
    listed = json.loads(ok("accounting", "--tin", "123-45-6789", "--json"))
    assert [e["kind"] for e in listed] == [
        "DECISION",
        "ERRONEOUS_RELEASE",
        "DISPOSAL_NOTICE",
        "DISPOSAL_ACK",
    ]
    assert {e["remediates"] for e in listed[1:]} == {listed[0]["leaf_index"]}
    day = date.today().isoformat()
    ok("report", "oversight", "--from", day, "--to", day, "--out", str(tmp_path / "report"))
    doc = json.loads((tmp_path / "report" / "oversight.json").read_text())
    assert doc["totals"]["erroneous_releases"] == doc["totals"]["disposal_acks"] == 1


def test_two_officers_at_once_record_one_erroneous_release(any_store: Store) -> None:
    """Whatever the interleaving, one leaf is written and the other officer is refused."""
    s = any_store
    s.make_batch("B1", [disclose("R1", WRONG_TIN)])
    s.review_and_release("B1")
    size = s.tree_size()
    barrier = threading.Barrier(2)
    results: list[object] = []

    def attempt(officer: Principal) -> None:
        barrier.wait()
        try:
            results.append(mark_erroneous_release(s.gw, officer, "B1", "R1", "wrong person"))
        except Conflict as e:
            results.append(e)

    threads = [threading.Thread(target=attempt, args=(o,)) for o in (OFFICER_A, OFFICER_B)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert sorted(type(r).__name__ for r in results) == ["Conflict", "RemediationResult"]
    assert s.tree_size() == size + 1
    assert verifies(s)


def test_chain_and_reports_on_each_store(any_store: Store, tmp_path: Path) -> None:
    s, gw = any_store, any_store.gw
    s.make_batch("B1", [disclose("R1", WRONG_TIN), review("R2", "912701234")])
    s.review_and_release("B1", approve=["R2"])
    mark_erroneous_release(gw, OFFICER_A, "B1", "R2", "deficient request")
    notice = issue_disposal_notice(gw, OFFICER_A, "B1", "R2", tmp_path).files[0]
    record_disposal_ack(gw, ADMIN, "B1", "R2", ack_for(notice))
    assert verifies(s)
    today = datetime.now(UTC).date()
    report = oversight_report(gw, AUDITOR, today, today)
    t_ = report.totals
    assert (t_.disclosed_bulk, t_.disclosed_other, t_.erroneous_releases, t_.disposal_acks) == (
        1,
        1,
        1,
        1,
    )
    assert report.cross.ok and report.covered_size == report.tree_size == 5
    assert annual_report(gw, AUDITOR, today.year).total.cells() == ("Total", "", 1, 1, 2)


def test_a_suspended_agreement_can_still_be_remediated(released: Store, tmp_path: Path) -> None:
    """A court order suspends the agreement; cleaning up what it released must still work."""
    gw = released.gw
    set_status(gw, "irs-ice-2025", AgreementStatus.SUSPENDED, "court order 25-cv-1", ADMIN)
    mark_erroneous_release(gw, OFFICER_A, "B1", "R1", "request did not set forth an address")
    notice = issue_disposal_notice(gw, OFFICER_A, "B1", "R1", tmp_path).files[0]
    assert record_disposal_ack(gw, ADMIN, "B1", "R1", ack_for(notice)).kind is (
        RecordKind.DISPOSAL_ACK
    )
    assert verifies(released)
