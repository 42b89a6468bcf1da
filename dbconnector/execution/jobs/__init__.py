"""Async jobs (issue 13): submit a select, query or exec, watch it, cancel it at the database, and
read its results page by page. One idea per module: submit (validate and queue), queue (claim
with a lease), worker (threads and watcher), runner (one job), cancel (native cancel), pages
(spooling and reading results), calls (what the views in api/jobs.py call), broker (the RQ
transport, with DBCONNECTOR_JOB_BROKER_URL) and dedicated (`dbconnector worker`)."""
