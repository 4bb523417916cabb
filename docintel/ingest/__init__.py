"""Ingestion: anything a user has (path, bytes, URL) becomes a ``Document`` or a typed error."""
