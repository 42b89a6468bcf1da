"""`Client`: every DBConnector endpoint as a method, with tokens kept fresh behind the scenes."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from types import TracebackType
from typing import Any, cast

import httpx

from .errors import error_for
from .tokens import TokenKeeper
from .transport import Transport

EXPIRED = "Expired Token"
Row = dict[str, Any]
Filter = Sequence[Any]


def _drop_none(fields: Mapping[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in fields.items() if value is not None}


class Client:
    """A DBConnector caller for one user.

    It logs in on first use, refreshes the authToken shortly before it expires (and when the
    service answers 401 Expired Token), waits out flood answers up to `max_retries` times, and
    retries idempotent calls after connection errors with backoff. Safe to share between
    threads. Use it as a context manager, or call close().

    `http` replaces the underlying httpx.Client (for proxies, TLS settings or event hooks); the
    client then uses it as given and does not close it.
    """

    def __init__(
        self,
        base_url: str,
        username: str | None,
        password: str | None,
        *,
        timeout: float = 30.0,
        max_retries: int = 3,
        http: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._owns_http = http is None
        self.http = http or httpx.Client(base_url=base_url, timeout=timeout)
        if http is not None and not str(http.base_url):
            self.http.base_url = httpx.URL(base_url)
        self._transport = Transport(self.http, max_retries, sleep)
        self._sleep = sleep
        self.tokens = TokenKeeper(self._post_public, username, password)

    @classmethod
    def from_tokens(
        cls, base_url: str, auth_token: str, refresh_token: str, **options: Any
    ) -> Client:
        """A client with a pair obtained elsewhere and no password: when its refresh token is
        refused, calls raise RefreshRejected instead of logging in again."""
        client = cls(base_url, None, None, **options)
        client.tokens.adopt(auth_token, refresh_token)
        return client

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        if self._owns_http:
            self.http.close()

    def __repr__(self) -> str:  # never the password or a token
        return f"<dbconnector_client.Client {self.http.base_url}>"

    # --- the exchange ---------------------------------------------------------------------

    def _post_public(self, path: str, body: dict[str, Any], token: str) -> Any:
        """/v1/auth and /v1/auth/refresh: a login is safe to retry, a refresh never is (its
        refresh token may already be spent)."""
        status, answer = self._transport.send(
            "POST", path, body=body, token=token, idempotent=path == "/v1/auth"
        )
        if status == 401:
            raise error_for(status, answer)
        return answer

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        params: Mapping[str, Any] | None = None,
        idempotent: bool | None = None,
        raw: bool = False,
    ) -> Any:
        """Any endpoint, authenticated: the decoded JSON answer (with `raw`, its text). GETs
        are idempotent unless told otherwise."""
        retry = method == "GET" if idempotent is None else idempotent
        query = _drop_none(params or {}) or None
        token = self.tokens.token()
        options = {"body": body, "params": query, "idempotent": retry, "raw": raw}
        status, answer = self._transport.send(method, path, token=token, **options)
        if status == 401 and isinstance(answer, dict) and answer.get("error") == EXPIRED:
            token = self.tokens.expired(token)
            status, answer = self._transport.send(method, path, token=token, **options)
        if status == 401:
            raise error_for(status, answer)
        return answer

    def refresh(self) -> None:
        """Renew the token pair now (normally not needed: calls renew it when due)."""
        self.tokens.refresh()

    # --- execution ------------------------------------------------------------------------

    def _execute(self, operation: str, driver: str, body: dict[str, Any], read: bool) -> Any:
        return self.call("POST", f"/v1/{operation}/{driver}", _drop_none(body), idempotent=read)

    def select(
        self,
        driver: str,
        token: str,
        table: str,
        fields: Sequence[str] | None = None,
        filter: Filter | None = None,
        sort: Sequence[str] | None = None,
        limit: int | None = None,
        page: int | None = None,
    ) -> list[Row]:
        """Rows of `table`; `limit` needs `sort`, `page` counts from 0."""
        body = {
            "token": token,
            "table": table,
            "fields": fields,
            "filter": filter,
            "sort": sort,
            "limit": limit,
            "page": page,
        }
        return cast("list[Row]", self._execute("select", driver, body, read=True))

    def iter_select(
        self,
        driver: str,
        token: str,
        table: str,
        sort: Sequence[str],
        fields: Sequence[str] | None = None,
        filter: Filter | None = None,
        page_size: int = 1000,
    ) -> Iterator[Row]:
        """Every matching row, fetched one page of `page_size` at a time as it is consumed.
        `sort` must order the rows uniquely, or rows may repeat or go missing between pages."""
        page = 0
        while True:
            rows = self.select(driver, token, table, fields, filter, sort, page_size, page)
            yield from rows
            if len(rows) < page_size:
                return
            page += 1

    def insert(
        self,
        driver: str,
        token: str,
        table: str,
        fields: Sequence[str],
        values: Sequence[Sequence[Any]] | Sequence[Any],
    ) -> dict[str, Any]:
        """{"Identity": N} for one row, {"result": "success"} for several."""
        body = {"token": token, "table": table, "fields": fields, "values": values}
        return cast("dict[str, Any]", self._execute("insert", driver, body, read=False))

    def update(
        self,
        driver: str,
        token: str,
        table: str,
        values: Mapping[str, Any],
        filter: Filter,
    ) -> int:
        """The number of rows matched."""
        body = {"token": token, "table": table, "values": values, "filter": filter}
        return int(self._execute("update", driver, body, read=False)["Updated"])

    def delete(self, driver: str, token: str, table: str, filter: Filter) -> int:
        """The number of rows deleted."""
        body = {"token": token, "table": table, "filter": filter}
        return int(self._execute("delete", driver, body, read=False)["Deleted"])

    def query(
        self, driver: str, token: str, statement: str, args: Mapping[str, Any] | None = None
    ) -> Any:
        """One result set: its rows; none or several: a list of them. `args` is text
        substitution ({name} tokens), never for values from end users."""
        body = {"token": token, "statement": statement, "args": args}
        return self._execute("query", driver, body, read=False)

    def exec(
        self,
        driver: str,
        token: str,
        procname: str,
        params: Mapping[str, Any] | None = None,
        output: Mapping[str, str] | None = None,
    ) -> Any:
        """A stored procedure's result sets, or {"result": ..., "output": {...}}."""
        body = {"token": token, "procname": procname, "params": params, "output": output}
        return self._execute("exec", driver, body, read=False)

    # --- users ----------------------------------------------------------------------------

    def list_users(self, page: int | None = None, limit: int | None = None) -> list[Row]:
        return cast(
            "list[Row]", self.call("GET", "/v1/users", params={"page": page, "limit": limit})
        )

    def get_user(self, user: int | str) -> Row:
        """A user record by id or username."""
        return cast("Row", self.call("GET", f"/v1/users/{user}")[0])

    def user_connections(self, user: int | str) -> list[Row]:
        return cast("list[Row]", self.call("GET", f"/v1/users/{user}/connections"))

    def create_user(
        self,
        username: str,
        password: str,
        role: int,
        *,
        enabled: bool | None = None,
        ipaddresses: str | None = None,
        ttl: str | None = None,
    ) -> int:
        """The new user's id."""
        body = {"username": username, "password": password, "role": role, "ttl": ttl}
        body |= {"enabled": None if enabled is None else int(enabled), "ipaddresses": ipaddresses}
        return int(self.call("POST", "/v1/users", _drop_none(body))["id"])

    def update_user(self, user: int, **changes: Any) -> None:
        """Change username, password, role, enabled, ipaddresses or ttl."""
        self.call("PATCH", f"/v1/users/{user}", changes)

    def delete_user(self, user: int) -> None:
        self.call("DELETE", f"/v1/users/{user}")

    # --- connections and grants -----------------------------------------------------------

    def list_connections(self, page: int | None = None, limit: int | None = None) -> list[Row]:
        return cast(
            "list[Row]", self.call("GET", "/v1/connections", params={"page": page, "limit": limit})
        )

    def get_connection(self, token: str) -> Row:
        return cast("Row", self.call("GET", f"/v1/connections/{token}")[0])

    def find_connection(self, name: str) -> str:
        """The connToken of the connection called `name`."""
        return str(self.call("GET", f"/v1/connections/find/{name}")["connToken"])

    def connection_users(self, token: str) -> list[Row]:
        return cast("list[Row]", self.call("GET", f"/v1/connections/{token}/users"))

    def create_connection(
        self,
        name: str,
        connection_string: Mapping[str, Any] | str,
        *,
        description: str | None = None,
        enabled: bool | None = None,
    ) -> str:
        """The new connection's connToken."""
        body = {
            "name": name,
            "connectionString": connection_string,
            "description": description,
            "enabled": None if enabled is None else int(enabled),
        }
        return str(self.call("POST", "/v1/connections", _drop_none(body))["connToken"])

    def update_connection(self, token: str, **changes: Any) -> None:
        """Change connectionString, name, description or enabled."""
        self.call("PATCH", f"/v1/connections/{token}", changes)

    def delete_connection(self, token: str) -> None:
        self.call("DELETE", f"/v1/connections/{token}")

    def grant(self, token: str, user: int) -> None:
        self.call("POST", f"/v1/connections/{token}/users/{user}")

    def revoke(self, token: str, user: int) -> None:
        self.call("DELETE", f"/v1/connections/{token}/users/{user}")

    # --- operations -----------------------------------------------------------------------

    def ok(self) -> Any:
        """GET /admin/ok (no token needed)."""
        return self._transport.send("GET", "/admin/ok", idempotent=True)[1]

    # --- async jobs -----------------------------------------------------------------------

    def submit(
        self,
        kind: str,
        driver: str,
        body: Mapping[str, Any],
        *,
        timeout: int | None = None,
        retain: int | None = None,
    ) -> str:
        """Queue a `select`, `query` or `exec` (the synchronous call's body) as a job; its id.
        `timeout`: seconds the statement may run; `retain`: seconds its results are kept."""
        payload = _drop_none({**body, "timeout": timeout, "retain": retain})
        answer = self.call("POST", f"/v1/jobs/{kind}/{driver}", payload, idempotent=False)
        return str(answer["jobId"])

    def job(self, job_id: str) -> Row:
        """The job's status, times, row counts and error."""
        return cast("Row", self.call("GET", f"/v1/jobs/{job_id}"))

    def jobs(
        self, status: str | None = None, page: int | None = None, limit: int | None = None
    ) -> list[Row]:
        """The caller's jobs, newest first."""
        params = {"status": status, "page": page, "limit": limit}
        return cast("list[Row]", self.call("GET", "/v1/jobs", params=params))

    def wait(self, job_id: str, timeout: float = 3600.0, poll: float = 0.5) -> Row:
        """Poll until the job has finished (any status but queued or running); TimeoutError
        after `timeout` seconds, leaving the job as it is."""
        deadline = time.monotonic() + timeout
        while True:
            state = self.job(job_id)
            if state["status"] not in ("queued", "running"):
                return state
            if time.monotonic() >= deadline:
                raise TimeoutError(f"job {job_id} still {state['status']} after {timeout} s")
            self._sleep(poll)

    def cancel(self, job_id: str) -> str:
        """Cancel a queued or running job (at the database); its new status. A finished job
        raises DBConnectorError with status 409."""
        return str(self.call("POST", f"/v1/jobs/{job_id}/cancel", idempotent=True)["status"])

    def delete_job(self, job_id: str) -> None:
        """Cancel the job if needed and delete its results."""
        self.call("DELETE", f"/v1/jobs/{job_id}", idempotent=True)

    def results(self, job_id: str) -> Row:
        """{"resultSets": [{"index", "columns", "rows"}], "output"} of a finished job."""
        return cast("Row", self.call("GET", f"/v1/jobs/{job_id}/results"))

    def iter_rows(self, job_id: str, index: int = 0, page_size: int = 1000) -> Iterator[Row]:
        """Every row of result set `index`, fetched a page of `page_size` at a time as it is
        consumed (stored results: the statement does not run again)."""
        offset = 0
        while True:
            page = self.call(
                "GET",
                f"/v1/jobs/{job_id}/results/{index}",
                params={"offset": offset, "limit": page_size},
            )
            yield from page["rows"]
            if page["next"] is None:
                return
            offset += len(page["rows"])

    def download(self, job_id: str, index: int = 0, format: str = "csv") -> str:
        """Result set `index` whole, as RFC 4180 CSV with a header row or as NDJSON."""
        path = f"/v1/jobs/{job_id}/results/{index}"
        return str(self.call("GET", path, params={"format": format}, raw=True))
