"""A Python client for the DBConnector REST API that keeps its own tokens fresh."""

from .client import Client
from .errors import (
    BadRequest,
    DBConnectorError,
    Flooded,
    Forbidden,
    RefreshRejected,
    ServiceUnavailable,
    Unauthorized,
)

__all__ = [
    "BadRequest",
    "Client",
    "DBConnectorError",
    "Flooded",
    "Forbidden",
    "RefreshRejected",
    "ServiceUnavailable",
    "Unauthorized",
]
