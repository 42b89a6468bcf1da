"""The metadata database: users, connections, grants and refresh tokens."""
