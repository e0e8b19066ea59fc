"""Agreements and request validation: pure functions from values to findings.

Nothing here reads a file, a database or the clock; callers pass bytes, values and the time of
receipt. Modules:

* :mod:`~ftigate.policy.agreement`: parse and validate an agreement YAML into :class:`Agreement`;
* :mod:`~ftigate.policy.statutes`: U.S.C. citations, spelled many ways, compared by section;
* :mod:`~ftigate.policy.text`: folding text and telling a placeholder ("N/A") from a value;
* :mod:`~ftigate.policy.address`: does a request set forth a street-level address?
* :mod:`~ftigate.policy.requests`: every row-level rule over a whole batch of requests;
* :mod:`~ftigate.policy.batch`: the manifest, its signature and the batch-level refusals.
"""
