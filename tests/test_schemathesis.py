"""`schemathesis run` against the live OpenAPI schema of a real `jianwang serve` (uvicorn on
the loopback, a home with the demo data, an administrator's token): no 500s, and every
response matches the schema (status codes, content types, bodies, headers). A few examples
per operation and a time budget keep it near a minute and a half."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from jianwang import Jianwang
from jianwang.demo import load_service_demo

from .service_fixtures import free_port, start_server, stop_server

#: revoking the token the run itself uses would end the run (tests/test_api.py covers it)
EXCLUDED = "revoke_token_api_v1_tokens__token_id__delete"


@pytest.mark.slow
def test_api_conforms_to_its_schema(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with Jianwang.open(home=home) as jw:
        load_service_demo(jw)
        _, secret = jw.accounts.create_token(jw.accounts.find_user("admin").id, "schemathesis")
    port = free_port()
    proc = start_server(home, port)
    try:
        res = subprocess.run(
            [
                sys.executable,
                "-m",
                "schemathesis.cli",
                "run",
                f"http://127.0.0.1:{port}/api/v1/openapi.json",
                "--header",
                f"Authorization: Bearer {secret}",
                "--checks",
                "all",
                # business rules no schema states (a decodable file, a valid ISBN, a real
                # domain) reject some schema-valid requests with a 4xx, as they should
                "--exclude-checks",
                "positive_data_acceptance",
                "--max-examples",
                "5",
                "--max-time",
                "50",
                "--seed",
                "1",
                # index rebuilds are slow while the rest of the suite runs beside this test
                "--request-timeout",
                "120",
                "--exclude-operation-id",
                EXCLUDED,
                "--no-color",
                "--report-dir",
                str(tmp_path / "reports"),
            ],
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        stop_server(proc)
    out = res.stdout + res.stderr
    assert res.returncode == 0, out[-6000:]
    assert "No issues found" in out or "passed" in out.lower(), out[-3000:]
