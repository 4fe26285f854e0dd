"""Which rollup back end a test needs: the database server's edition decides (apps.history.rollups)."""

from __future__ import annotations

import pytest
from django.db import connection

from apps.history import continuous, rollups


@pytest.fixture
def apache_backend(db) -> None:
    """Tests of the Apache-edition back end: its refresh runs inside the test's transaction."""
    if rollups.uses_continuous_aggregates():
        pytest.skip(
            "Apache-edition rollup back end; this server runs the Community edition (timescaledb.license ="
            " timescale), whose continuous aggregates test_continuous_aggregates.py checks"
        )


@pytest.fixture
def community_backend(transactional_db) -> None:
    """Tests of the continuous aggregates: they run only on the Community edition. The policies
    run on the server's clock, in the background; they are paused so that only the test's own
    refreshes move the aggregates (a policy refresh at the wrong moment leaves a coarse level
    stale until its next run: eventual, but not what a test can assert on)."""
    if not rollups.uses_continuous_aggregates():
        pytest.skip(
            f"needs the TimescaleDB Community edition (timescaledb.license = timescale); this server's is"
            f" {rollups.license()!r}, which has no continuous aggregates, compression or policies"
        )
    with connection.cursor() as cursor:
        # Fresh aggregates: the tests' readings are in November 2026 and a policy that ran during
        # earlier tests (on the real clock) leaves the watermarks past them, which would make them
        # backfills, invisible until a refresh.
        for view, *_ in reversed(continuous.VIEWS):
            cursor.execute(f"DROP MATERIALIZED VIEW {view} CASCADE")
        for statement in continuous.create_sql():
            cursor.execute(statement)
        continuous.apply_policies(cursor)
        cursor.execute("SELECT alter_job(job_id, scheduled => false) FROM timescaledb_information.jobs")
