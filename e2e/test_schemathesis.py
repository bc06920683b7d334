"""schemathesis against /openapi.json on the live server with a valid key: no 5xx, and every response
matches the schema (status codes, content types, bodies)."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path


def test_the_live_api_keeps_to_its_openapi_document(server, audio, tmp_path: Path):
    key = server.bootstrap_key
    # Real transcriptions, so the {id} routes are exercised with ids that exist, not only with 404s.
    completed = server.submit(key, audio["wav"]).json()["data"]["transcriptionId"]
    failed = server.submit(key, audio["truncated"]).json()["data"]["transcriptionId"]
    assert server.wait_for(key, completed, {"COMPLETED", "FAILED"})["status"] == "COMPLETED"
    assert server.wait_for(key, failed, {"COMPLETED", "FAILED"})["status"] == "FAILED"
    config = tmp_path / "schemathesis.toml"
    config.write_text(
        f"""
[dictionaries.transcriptions]
values = ["{completed}", "{failed}"]

[parameters]
"path.id" = {{ dictionary = "transcriptions", probability = 0.7 }}
"""
    )
    run = subprocess.run(
        [
            str(Path(sys.executable).with_name("schemathesis")),
            "--config-file",
            str(config),
            "run",
            server.base + "/openapi.json",
            "--header",
            f"Authorization: Bearer {key}",
            "--checks",
            "not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance",
            "--max-examples",
            "40",
            "--seed",
            "20261129",
            "--request-timeout",
            "120",
            "--workers",
            "1",
            # The user's event stream never ends by itself; e2e/test_user_events.py checks it.
            "--exclude-path",
            "/api/v1/events",
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-6000:]
    counts = re.search(r"(\d+) generated, (\d+) passed", output)
    assert counts and counts.group(1) == counts.group(2) and int(counts.group(1)) > 500, output[-3000:]
