"""Parse and validate a disclosure agreement's YAML into a frozen :class:`Agreement` (pure).

An agreement is the gateway's whole authority to disclose, so it is read strictly: every key
must be known (a typo such as ``disclosable_feilds`` would otherwise silently drop a limit), every
value must have the right type and range, and *all* problems are reported together, each with
the dotted path of the key and its line in the file::

    agreements/x.yaml:14 [disclosable_feilds]: unknown key (did you mean 'disclosable_fields'?)
    agreements/x.yaml:22 [signers[0].public_key]: not base64 of a 32-byte Ed25519 public key

Some checks encode the statute rather than taste, so no agreement can weaken it:
``required_fields`` must include the fields 26 U.S.C. 6103(i)(2)(B) requires a request to set
forth (:data:`STATUTORY_FIELDS`); ``allowed_statutes`` may not cite Title 26 (the subsection is
for non-tax criminal statutes); ``disclosable_fields`` may name only what ftigate can disclose
(:data:`DISCLOSABLE_FIELD_NAMES`: the last known address; never a phone or an email).

The schema is documented by ``agreements/irs-ice-2025.yaml``; :data:`SCHEMA` lists its keys.
``Agreement.sha256`` is the SHA-256 of the exact bytes (``text.encode("utf-8")`` for a str).

Example:
    >>> try:
    ...     parse_agreement("id: x\\nversion: 0\\n", "x.yaml")
    ... except AgreementInvalid as e:
    ...     print(e.message, e.details[0], e.details[-1], sep="\\n")
    x.yaml: 14 problems in the agreement
    x.yaml:1 [title]: required key is missing
    x.yaml:2 [version]: must be at least 1, not 0
"""

from __future__ import annotations

import base64
import binascii
import difflib
import hashlib
import re
from collections.abc import Iterator, Mapping, Sequence
from datetime import date, datetime
from typing import Any

import yaml

from ftigate.errors import AgreementInvalid, Detail
from ftigate.model import (
    REQUEST_FIELDS,
    Agreement,
    AgreementStatus,
    MatchPolicy,
    SafeguardFinding,
    Signer,
)
from ftigate.policy.statutes import Citation, parse_citation

SUPPORTED_LEGAL_BASES: tuple[str, ...] = ("26 U.S.C. 6103(i)(2)",)
"""The request rules in :mod:`ftigate.policy.requests` implement this subsection and no other."""

STATUTORY_FIELDS: tuple[str, ...] = (
    "first_name", "last_name", "street", "tax_periods", "statute", "reason", "officer_id",
)  # fmt: skip
"""6103(i)(2)(B): name and address (i), tax periods (ii), statutory authority (iii), specific
reason (iv); (A): disclosure only to officers personally and directly engaged, so one is named."""

DISCLOSABLE_FIELD_NAMES: tuple[str, ...] = ("last_known_address",)
"""What the gateway can put in a response. A phone or email is not in the register and never is."""

SCHEMA: Mapping[str, tuple[str, ...]] = {
    "": (
        "id", "version", "title", "parties", "legal_basis", "status", "term", "allowed_statutes",
        "required_fields", "disclosable_fields", "match_policy", "limits", "po_box_allowed",
        "safeguard_findings", "signers",
    ),
    "parties": ("disclosing", "requesting"),
    "status": ("state", "reason", "date"),
    "term": ("effective", "expires"),
    "match_policy": ("threshold", "margin", "review_floor", "require_address_corroboration"),
    "limits": ("max_batch_rows", "max_cases_per_officer"),
    "safeguard_findings[]": ("id", "description", "opened", "corrective_action_plan", "closed"),
    "signers[]": ("name", "role", "public_key"),
}  # fmt: skip
"""Keys of each mapping, by path (``[]``: every item of a list). All are required except those
in :data:`OPTIONAL`."""

OPTIONAL: frozenset[str] = frozenset(
    {"status.reason", "status.date", "safeguard_findings[].corrective_action_plan",
     "safeguard_findings[].closed"}
)  # fmt: skip

_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


def parse_agreement(text: str | bytes, source: str) -> Agreement:
    """Validate ``text`` (the file's content) and return the agreement it describes.

    Raises :class:`AgreementInvalid` listing every problem (file, line, dotted key path).
    ``source`` names the file in messages. Pass bytes to hash exactly what was on disk.
    """
    data = text.encode("utf-8") if isinstance(text, str) else text
    try:
        decoded = data.decode("utf-8") if isinstance(text, bytes) else text
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise AgreementInvalid(
            f"{source} is not UTF-8 (byte 0x{data[e.start]:02x}); save it as UTF-8",
            file=source,
            line=line,
        ) from e
    value, lines = _load_yaml(decoded, source)
    checker = _Checker(source, lines)
    agreement = _build(checker, value, hashlib.sha256(data).hexdigest())
    if checker.problems or agreement is None:
        n = len(checker.problems)
        raise AgreementInvalid(
            f"{source}: {n} problem{'s' if n != 1 else ''} in the agreement",
            details=checker.problems,
        )
    return agreement


# --- YAML at the seam: values from safe_load, lines and duplicate keys from the node tree -----


def _load_yaml(text: str, source: str) -> tuple[Any, dict[str, int]]:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        value = yaml.safe_load(text)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark is not None else None
        raise AgreementInvalid(
            f"{source} is not valid YAML: {e.problem or e.context}", file=source, line=line
        ) from e
    except yaml.YAMLError as e:
        raise AgreementInvalid(f"{source} is not valid YAML: {e}", file=source) from e
    lines: dict[str, int] = {"": 1}
    duplicates = list(_walk(node, "", lines)) if node is not None else []
    if duplicates:
        raise AgreementInvalid(
            f"{source}: a key appears twice in one mapping",
            details=[
                Detail("key appears twice", file=source, line=ln, field=p) for p, ln in duplicates
            ],
        )
    return value, lines


def _walk(
    node: yaml.Node, path: str, lines: dict[str, int], seen_nodes: set[int] | None = None
) -> Iterator[tuple[str, int]]:
    """Record the line of every key path; yield (path, line) of duplicate keys.

    A node reached twice through YAML aliases is walked once, so a recursive or "billion
    laughs" alias cannot make this loop or explode.
    """
    seen_nodes = set() if seen_nodes is None else seen_nodes
    if id(node) in seen_nodes:
        return
    seen_nodes.add(id(node))
    if isinstance(node, yaml.MappingNode):
        keys: set[str] = set()
        for key, child in node.value:
            name = str(key.value)
            sub = f"{path}.{name}" if path else name
            if name in keys:
                yield sub, key.start_mark.line + 1
            keys.add(name)
            lines.setdefault(sub, key.start_mark.line + 1)
            yield from _walk(child, sub, lines, seen_nodes)
    elif isinstance(node, yaml.SequenceNode):
        for i, child in enumerate(node.value):
            sub = f"{path}[{i}]"
            lines.setdefault(sub, child.start_mark.line + 1)
            yield from _walk(child, sub, lines, seen_nodes)


# --- the checker: typed reads that collect problems instead of raising ----------------------


class _Checker:
    def __init__(self, source: str, lines: dict[str, int]) -> None:
        self.source = source
        self.lines = lines
        self.problems: list[Detail] = []
        self._failed: list[str] = []

    def fail(self, path: str, message: str) -> None:
        """Record one problem per path; nothing under a path that already failed."""
        if any(p == "" or path == p or path.startswith((f"{p}.", f"{p}[")) for p in self._failed):
            return
        self._failed.append(path)
        line = self.lines.get(path)
        probe = path
        while line is None and probe:  # a missing key: report its parent's line
            probe = probe.rsplit(".", 1)[0] if "." in probe else ""
            line = self.lines.get(probe)
        self.problems.append(Detail(message, file=self.source, line=line, field=path or None))

    def mapping(self, value: Any, path: str, schema_key: str) -> dict[str, Any] | None:
        if not isinstance(value, dict):
            self.fail(path, f"must be a mapping, not {_kind(value)}")
            return None
        known = SCHEMA[schema_key]
        for key in value:
            if not isinstance(key, str):
                self.fail(path, f"key {key!r} must be a string")
            elif key not in known:
                close = difflib.get_close_matches(key, known, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else f"; known: {', '.join(known)}"
                self.fail(_join(path, key), f"unknown key{hint}")
        for key in known:
            if key not in value and f"{schema_key}.{key}".lstrip(".") not in OPTIONAL:
                self.fail(_join(path, key), "required key is missing")
        return value

    def text(self, value: Any, path: str, *, optional: bool = False) -> str | None:
        if value is None and optional:
            return None
        if not isinstance(value, str) or not value.strip():
            self.fail(path, f"must be a non-blank string, not {_kind(value)}")
            return None
        return value.strip()

    def integer(self, value: Any, path: str, minimum: int) -> int | None:
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(path, f"must be a whole number, not {_kind(value)}")
            return None
        if value < minimum:
            self.fail(path, f"must be at least {minimum}, not {value}")
            return None
        return value

    def number(self, value: Any, path: str, low: float, high: float) -> float | None:
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.fail(path, f"must be a number, not {_kind(value)}")
            return None
        if not low <= value <= high:
            self.fail(path, f"must be between {low} and {high}, not {value}")
            return None
        return float(value)

    def boolean(self, value: Any, path: str) -> bool | None:
        if not isinstance(value, bool):
            self.fail(path, f"must be true or false, not {_kind(value)}")
            return None
        return value

    def day(self, value: Any, path: str, *, optional: bool = False) -> date | None:
        if value is None and optional:
            return None
        if isinstance(value, datetime):
            self.fail(path, "must be a date (YYYY-MM-DD), not a date and time")
            return None
        if isinstance(value, date):
            return value
        if isinstance(value, str):
            try:
                return date.fromisoformat(value.strip())
            except ValueError:
                pass
        self.fail(path, f"must be a date (YYYY-MM-DD), not {_kind(value)}")
        return None

    def strings(self, value: Any, path: str, *, non_empty: bool = True) -> list[str] | None:
        if not isinstance(value, list):
            self.fail(path, f"must be a list, not {_kind(value)}")
            return None
        if non_empty and not value:
            self.fail(path, "must not be empty")
        out: list[str] = []
        for i, item in enumerate(value):
            text = self.text(item, f"{path}[{i}]")
            if text is not None:
                if text in out:
                    self.fail(f"{path}[{i}]", f"{text!r} is listed twice")
                out.append(text)
        return out


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _kind(value: Any) -> str:
    if value is None:
        return "empty"
    if isinstance(value, str):
        return f"the text {value!r}" if len(value) < 40 else "a long text"
    if isinstance(value, dict | list):
        return type(value).__name__
    return f"{type(value).__name__} {value!r}"


# --- building the agreement ------------------------------------------------------------------


def _build(c: _Checker, value: Any, sha256: str) -> Agreement | None:
    top = c.mapping(value, "", "")
    if top is None:
        return None
    agreement_id = c.text(top.get("id"), "id")
    if agreement_id is not None and not _ID.match(agreement_id):
        c.fail("id", "must be lower-case letters, digits, '.', '_' or '-' (at most 64)")
    version = c.integer(top.get("version"), "version", 1)
    title = c.text(top.get("title"), "title")
    parties = c.mapping(top.get("parties"), "parties", "parties") or {}
    disclosing = c.text(parties.get("disclosing"), "parties.disclosing")
    requesting = c.text(parties.get("requesting"), "parties.requesting")
    legal_basis = _legal_basis(c, top.get("legal_basis"))
    status = _status(c, top.get("status"))
    term = _term(c, top.get("term"))
    statutes = _allowed_statutes(c, top.get("allowed_statutes"))
    required = _field_list(c, top.get("required_fields"), "required_fields", REQUEST_FIELDS)
    if required is not None:
        missing = [f for f in STATUTORY_FIELDS if f not in required]
        if missing:
            c.fail(
                "required_fields",
                f"must include {', '.join(missing)}: 26 U.S.C. 6103(i)(2) "
                "requires every request to set them forth",
            )
    disclosable = _field_list(
        c, top.get("disclosable_fields"), "disclosable_fields", DISCLOSABLE_FIELD_NAMES
    )
    policy = _match_policy(c, top.get("match_policy"))
    limits = c.mapping(top.get("limits"), "limits", "limits") or {}
    max_rows = c.integer(limits.get("max_batch_rows"), "limits.max_batch_rows", 1)
    max_cases = c.integer(limits.get("max_cases_per_officer"), "limits.max_cases_per_officer", 1)
    po_box = c.boolean(top.get("po_box_allowed"), "po_box_allowed")
    findings = _safeguards(c, top.get("safeguard_findings"))
    signers = _signers(c, top.get("signers"))
    if c.problems:
        return None
    assert agreement_id and version and title and disclosing and requesting and legal_basis
    assert status and term and statutes and required and disclosable and policy and max_rows
    assert max_cases is not None and po_box is not None and findings is not None and signers
    return Agreement(
        id=agreement_id, version=version, title=title, disclosing_agency=disclosing,
        requesting_agency=requesting, legal_basis=legal_basis, status=status[0],
        status_reason=status[1], status_date=status[2], effective=term[0], expires=term[1],
        allowed_statutes=statutes, required_fields=tuple(required),
        disclosable_fields=tuple(disclosable), match_policy=policy, max_batch_rows=max_rows,
        max_cases_per_officer=max_cases, po_box_allowed=po_box, safeguard_findings=findings,
        signers=signers, sha256=sha256,
    )  # fmt: skip


def _legal_basis(c: _Checker, value: Any) -> str | None:
    text = c.text(value, "legal_basis")
    if text is None:
        return None
    cited = parse_citation(text)
    supported = [parse_citation(s) for s in SUPPORTED_LEGAL_BASES]
    if cited is None or cited not in supported:
        c.fail(
            "legal_basis",
            f"{text!r} is not supported; ftigate implements the request rules "
            f"of {', '.join(SUPPORTED_LEGAL_BASES)}",
        )
        return None
    return str(cited)


def _status(c: _Checker, value: Any) -> tuple[AgreementStatus, str | None, date | None] | None:
    m = c.mapping(value, "status", "status")
    if m is None:
        return None
    state = m.get("state")
    states = [s.value for s in AgreementStatus]
    if state not in states:
        c.fail("status.state", f"must be one of {', '.join(states)}, not {_kind(state)}")
        return None
    reason = c.text(m.get("reason"), "status.reason", optional=True)
    when = c.day(m.get("date"), "status.date", optional=True)
    if state == AgreementStatus.SUSPENDED.value:
        if reason is None and m.get("reason") is None:
            c.fail("status.reason", "a suspended agreement must record why (e.g. the court order)")
        if when is None and m.get("date") is None:
            c.fail("status.date", "a suspended agreement must record since when")
    return AgreementStatus(state), reason, when


def _term(c: _Checker, value: Any) -> tuple[date, date] | None:
    m = c.mapping(value, "term", "term")
    if m is None:
        return None
    effective = c.day(m.get("effective"), "term.effective")
    expires = c.day(m.get("expires"), "term.expires")
    if effective is None or expires is None:
        return None
    if expires <= effective:
        c.fail("term.expires", f"must be after term.effective ({effective.isoformat()})")
        return None
    return effective, expires


def _allowed_statutes(c: _Checker, value: Any) -> tuple[str, ...] | None:
    items = c.strings(value, "allowed_statutes")
    if items is None:
        return None
    out: list[Citation] = []
    for i, text in enumerate(items):
        path = f"allowed_statutes[{i}]"
        cited = parse_citation(text)
        if cited is None:
            c.fail(path, f"{text!r} is not a U.S.C. citation such as '8 U.S.C. 1326'")
        elif cited.title == 26:
            c.fail(path, f"{text!r} is in Title 26: 6103(i)(2) serves non-tax statutes only")
        elif any(prior.covers(cited) or cited.covers(prior) for prior in out):
            c.fail(path, f"{text!r} overlaps another allowed statute")
        else:
            out.append(cited)
    return tuple(str(s) for s in out)


def _field_list(c: _Checker, value: Any, path: str, known: Sequence[str]) -> list[str] | None:
    items = c.strings(value, path)
    if items is None:
        return None
    for i, name in enumerate(items):
        if name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            c.fail(f"{path}[{i}]", f"{name!r} is not one of {', '.join(known)}{hint}")
    return items


def _match_policy(c: _Checker, value: Any) -> MatchPolicy | None:
    m = c.mapping(value, "match_policy", "match_policy")
    if m is None:
        return None
    threshold = c.number(m.get("threshold"), "match_policy.threshold", 0.5, 1.0)
    margin = c.number(m.get("margin"), "match_policy.margin", 0.0, 0.5)
    floor = c.number(m.get("review_floor"), "match_policy.review_floor", 0.0, 1.0)
    corroborate = c.boolean(
        m.get("require_address_corroboration"), "match_policy.require_address_corroboration"
    )
    if threshold is None or margin is None or floor is None or corroborate is None:
        return None
    if floor > threshold:
        c.fail("match_policy.review_floor", f"must not exceed the threshold ({threshold})")
        return None
    return MatchPolicy(threshold, margin, floor, corroborate)


def _safeguards(c: _Checker, value: Any) -> tuple[SafeguardFinding, ...] | None:
    if not isinstance(value, list):
        c.fail("safeguard_findings", f"must be a list (write [] for none), not {_kind(value)}")
        return None
    out: list[SafeguardFinding] = []
    for i, item in enumerate(value):
        path = f"safeguard_findings[{i}]"
        m = c.mapping(item, path, "safeguard_findings[]")
        if m is None:
            continue
        fid = c.text(m.get("id"), f"{path}.id")
        description = c.text(m.get("description"), f"{path}.description")
        opened = c.day(m.get("opened"), f"{path}.opened")
        plan_path = f"{path}.corrective_action_plan"
        plan = c.text(m.get("corrective_action_plan"), plan_path, optional=True)
        closed = c.day(m.get("closed"), f"{path}.closed", optional=True)
        if opened and closed and closed < opened:
            c.fail(f"{path}.closed", f"must not be before opened ({opened.isoformat()})")
        if fid is not None and any(f.id == fid for f in out):
            c.fail(f"{path}.id", f"finding {fid!r} is listed twice")
        if fid and description and opened:
            out.append(SafeguardFinding(fid, description, opened, plan, closed))
    return tuple(out)


def _signers(c: _Checker, value: Any) -> tuple[Signer, ...] | None:
    if not isinstance(value, list) or not value:
        c.fail("signers", f"must be a non-empty list of signers, not {_kind(value)}")
        return None
    out: list[Signer] = []
    for i, item in enumerate(value):
        path = f"signers[{i}]"
        m = c.mapping(item, path, "signers[]")
        if m is None:
            continue
        name = c.text(m.get("name"), f"{path}.name")
        role = c.text(m.get("role"), f"{path}.role")
        key = _public_key(c, m.get("public_key"), f"{path}.public_key")
        if name is not None and any(s.name == name for s in out):
            c.fail(f"{path}.name", f"signer {name!r} is listed twice")
        if key is not None and any(s.public_key == key for s in out):
            c.fail(f"{path}.public_key", "this key already belongs to another signer")
        if name and role and key:
            out.append(Signer(name, role, key))
    return tuple(out)


def _public_key(c: _Checker, value: Any, path: str) -> bytes | None:
    text = c.text(value, path)
    if text is None:
        return None
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 32:
        c.fail(
            path,
            "must be base64 of a raw 32-byte Ed25519 public key "
            "(`ftigate keys generate` prints one)",
        )
        return None
    return raw
