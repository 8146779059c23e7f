"""Fixtures shared by integration test modules."""
from tests.integration.store_fixtures import pg_database, store_url  # noqa: F401
