"""schemathesis hooks for `make fuzz`: a fresh OWNER authToken every minute.

An authToken lives 180 s and a fuzzing run can take longer, so a single token passed as a header
would leave the later operations answering only 401. fuzz.py names this file in
SCHEMATHESIS_HOOKS and the service's address and the OWNER's login in DBC_FUZZ_* variables.
"""

from __future__ import annotations

import json
import os
import urllib.request
from typing import Any

import schemathesis


# retry_on=[]: a 401 is an answer under test, not a reason to log in again.
@schemathesis.auth(refresh_interval=60, retry_on=[])
class OwnerToken:
    def get(self, case: Any, context: Any) -> str:
        body = json.dumps(
            {"username": os.environ["DBC_FUZZ_USER"], "password": os.environ["DBC_FUZZ_PASSWORD"]}
        ).encode()
        request = urllib.request.Request(
            os.environ["DBC_FUZZ_BASE"] + "/v1/auth",
            data=body,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())["authToken"]

    def set(self, case: Any, data: str, context: Any) -> None:
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Bearer {data}"
