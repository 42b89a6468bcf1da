"""Admin operations on users, connections and grants: their rules, their writes and their audit
line, shared by every door that manages the service (the REST API and the console)."""
