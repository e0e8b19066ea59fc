"""The use cases: ingest, submit, match, review, release, suspend. Each runs in one transaction.

The CLI and the API call these and nothing below them. Every call is attributed to a principal
and leaves an audit event (also when it fails: the failure is recorded in a transaction of its
own after the failed one rolled back).
"""

from ftigate.service.context import Gateway, Principal

__all__ = ["Gateway", "Principal"]
