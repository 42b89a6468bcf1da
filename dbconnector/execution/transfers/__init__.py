"""Transfers (issue 14): copy a query's rows from one connection into a table on another, as a
job. submit (validate both sides and queue), runner (run one transfer job), source (stream the
rows in batches), load (the target side of each mode: append, create, replace)."""
