"""No Django models: the history relations (readings_1m/1h/1d and the refresh bookkeeping) are
hypertables or continuous aggregates made in SQL, see migrations/0001_rollups.py and continuous.py.
(This module exists so that Django sends this app its post_migrate signal.)"""
