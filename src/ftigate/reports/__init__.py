"""Oversight and batch reports: data gathered by the service, rendered here (JSON, HTML, plots)."""
