"""A bad-input suite of our own: hostile or malformed requests across every route family against one live server.
Each is a 4xx with a code (or, for audio that only the engine can judge, a cleanly FAILED job), and afterwards the
server is still up and transcribes real speech."""
from __future__ import annotations

import io
import socket
import struct
import uuid

import pytest
import requests

from e2e.conftest import ENGLISH
from e2e.support import overlap

#: (label, method, path, keyword arguments for requests, expected status, expected code); `KEY` in a header is
#: replaced by the test user's key, `ID` in a path by an existing transcription's id.
CASES: list[tuple[str, str, str, dict, int, str]] = [
    # auth headers
    ("no key", "GET", "/api/v1/transcriptions", {}, 401, "UNAUTHORIZED"),
    ("bearer without a key", "GET", "/api/v1/transcriptions", {"headers": {"Authorization": "Bearer"}}, 401, "INVALID_API_KEY"),
    ("basic auth", "GET", "/api/v1/transcriptions", {"headers": {"Authorization": "Basic dXNlcjpwYXNz"}}, 401, "INVALID_API_KEY"),
    ("unknown key", "GET", "/api/v1/usage", {"headers": {"Authorization": "Bearer wapi_AAAAAAAA_" + "B" * 32}}, 401, "INVALID_API_KEY"),
    ("a 6 KB key", "GET", "/api/v1/usage", {"headers": {"Authorization": "Bearer " + "k" * 6000}}, 401, "INVALID_API_KEY"),
    ("a forged session cookie", "GET", "/api/v1/usage", {"cookies": {"wapi_session": "wsess_forged"}}, 401, "SESSION_EXPIRED"),
    ("a sign-in posted from another site", "POST", "/auth/session", {"json": {"key": "nope"}, "headers": {"Origin": "http://evil.example"}}, 403, "CROSS_SITE_REQUEST"),
    ("sign-in with a non-JSON body", "POST", "/auth/session", {"data": "key=1"}, 400, "INVALID_BODY"),
    # ids
    ("status of a non-uuid", "GET", "/api/v1/status/not-a-uuid", {"key": True}, 404, "NOT_FOUND"),
    ("status of an unknown uuid", "GET", f"/api/v1/status/{uuid.uuid4()}", {"key": True}, 404, "NOT_FOUND"),
    ("result of an unknown uuid", "GET", f"/api/v1/transcriptions/{uuid.uuid4()}/result", {"key": True}, 404, "NOT_FOUND"),
    ("audio of an unknown uuid", "GET", f"/api/v1/transcriptions/{uuid.uuid4()}/audio", {"key": True}, 404, "NOT_FOUND"),
    ("cancel of a path traversal", "DELETE", "/api/v1/transcribe/..%2f..%2fetc%2fpasswd", {"key": True}, 404, "NOT_FOUND"),
    ("retry of a completed job", "POST", "/api/v1/transcriptions/ID/retry", {"key": True}, 409, "NOT_FAILED"),
    ("an unsatisfiable audio range", "GET", "/api/v1/transcriptions/ID/audio", {"key": True, "headers": {"Range": "bytes=99999999-"}}, 416, "RANGE_NOT_SATISFIABLE"),
    # query strings
    ("limit 0", "GET", "/api/v1/transcriptions?limit=0", {"key": True}, 400, "INVALID_LIMIT"),
    ("limit not a number", "GET", "/api/v1/transcriptions?limit=ten", {"key": True}, 400, "INVALID_LIMIT"),
    ("limit too large", "GET", "/api/v1/transcriptions?limit=100000", {"key": True}, 400, "INVALID_LIMIT"),
    ("a forged cursor", "GET", "/api/v1/transcriptions?cursor=bm90LWEtY3Vyc29y", {"key": True}, 400, "INVALID_CURSOR"),
    ("an unknown status filter", "GET", "/api/v1/transcriptions?status=DONE", {"key": True}, 400, "INVALID_STATUS"),
    ("an unknown result format", "GET", "/api/v1/transcriptions/ID/result?format=docx", {"key": True}, 400, "INVALID_FORMAT"),
    # multipart and fields
    ("JSON without an audio_url", "POST", "/api/v1/transcribe", {"key": True, "json": {"file": "x"}}, 400, "MISSING_FILE"),
    ("JSON that is not an object", "POST", "/api/v1/transcribe", {"key": True, "json": ["http://example.com/a.wav"]}, 400, "INVALID_BODY"),
    ("an audio_url that is not http(s)", "POST", "/api/v1/transcribe", {"key": True, "json": {"audio_url": "file:///etc/passwd"}}, 400, "INVALID_AUDIO_URL"),
    ("an audio_url at the metadata service", "POST", "/api/v1/transcribe", {"key": True, "json": {"audio_url": "http://169.254.169.254/latest/meta-data/"}}, 400, "INVALID_AUDIO_URL"),
    ("a text body instead of multipart", "POST", "/api/v1/transcribe", {"key": True, "data": b"file=x", "headers": {"Content-Type": "text/plain"}}, 400, "INVALID_MULTIPART"),
    ("multipart without a boundary", "POST", "/api/v1/transcribe", {"key": True, "data": b"--x\r\n", "headers": {"Content-Type": "multipart/form-data"}}, 400, "INVALID_MULTIPART"),
    ("a body cut before its closing boundary", "POST", "/api/v1/transcribe", {"key": True, "data": b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\n\r\nRIFF', "headers": {"Content-Type": "multipart/form-data; boundary=b"}}, 400, "INVALID_MULTIPART"),
    ("no file part", "POST", "/api/v1/transcribe", {"key": True, "files": {"model": (None, "tiny.en")}}, 400, "MISSING_FILE"),
    ("an empty file", "POST", "/api/v1/transcribe", {"key": True, "files": {"file": ("a.wav", b"")}}, 400, "EMPTY_FILE"),
    ("two files", "POST", "/api/v1/transcribe", {"key": True, "files": [("file", ("a.wav", b"RIFF0000WAVE")), ("file", ("b.wav", b"RIFF0000WAVE"))]}, 400, "INVALID_MULTIPART"),
    ("a text file named .mp3", "POST", "/api/v1/transcribe", {"key": True, "files": {"file": ("notes.mp3", b"meeting notes " * 50)}}, 415, "UNSUPPORTED_MEDIA_TYPE"),
    ("an unknown model", "POST", "/api/v1/transcribe", {"key": True, "audio": True, "data": {"model": "large-v9"}}, 400, "INVALID_MODEL"),
    ("an unknown format", "POST", "/api/v1/transcribe", {"key": True, "audio": True, "data": {"format": "pdf"}}, 400, "INVALID_FORMAT"),
    ("an unknown task", "POST", "/api/v1/transcribe", {"key": True, "audio": True, "data": {"task": "summarize"}}, 400, "INVALID_TASK"),
    ("translate with an English-only model", "POST", "/api/v1/transcribe", {"key": True, "audio": True, "data": {"task": "translate", "model": "tiny.en"}}, 400, "INVALID_TASK"),
    ("a language that is not a code", "POST", "/api/v1/transcribe", {"key": True, "audio": True, "data": {"language": "english please"}}, 400, "INVALID_LANGUAGE"),
    ("a 3000-character prompt", "POST", "/api/v1/transcribe", {"key": True, "audio": True, "data": {"prompt": "p" * 3000}}, 400, "INVALID_PROMPT"),
    ("a webhook to loopback", "POST", "/api/v1/transcribe", {"key": True, "audio": True, "data": {"webhook_url": "http://127.0.0.1:9/x"}}, 400, "INVALID_WEBHOOK_URL"),
    ("a webhook that is not http", "POST", "/api/v1/transcribe", {"key": True, "audio": True, "data": {"webhook_url": "ftp://example.com/x"}}, 400, "INVALID_WEBHOOK_URL"),
    ("a default webhook to the metadata address", "PUT", "/api/v1/keys/current/webhook", {"key": True, "json": {"url": "http://169.254.169.254/latest"}}, 400, "INVALID_WEBHOOK_URL"),
    ("a webhook setting that is not JSON", "PUT", "/api/v1/keys/current/webhook", {"key": True, "data": "url=x"}, 400, "INVALID_BODY"),
    # admin JSON
    ("admin: not JSON", "POST", "/api/v1/admin/users", {"key": True, "data": "{email"}, 400, "INVALID_BODY"),
    ("admin: an array", "POST", "/api/v1/admin/users", {"key": True, "json": ["a@b.c"]}, 400, "INVALID_BODY"),
    ("admin: no email", "POST", "/api/v1/admin/users", {"key": True, "json": {"plan": "PRO"}}, 400, "INVALID_BODY"),
    ("admin: an email without @", "POST", "/api/v1/admin/users", {"key": True, "json": {"email": "nobody"}}, 400, "INVALID_EMAIL"),
    ("admin: an unknown plan", "POST", "/api/v1/admin/users", {"key": True, "json": {"email": "gold@example.com", "plan": "GOLD"}}, 400, "INVALID_PLAN"),
    ("admin: an unknown user", "PATCH", "/api/v1/admin/users/ghost@example.com", {"key": True, "json": {"plan": "PRO"}}, 404, "USER_NOT_FOUND"),
    ("admin: revoke an unknown key", "DELETE", "/api/v1/admin/keys/wapi_zzzzzzzz", {"key": True}, 404, "KEY_NOT_FOUND"),
    # methods
    ("a method a path does not serve", "PATCH", "/api/v1/transcriptions", {"key": True}, 405, "METHOD_NOT_ALLOWED"),
]

#: OpenAI routes answer in OpenAI's envelope: (label, form fields, file or None, expected status, expected param).
OPENAI_CASES: list[tuple[str, dict, bool, int, str]] = [
    ("openai: no file", {"model": "whisper-1"}, False, 400, "file"),
    ("openai: an unknown response_format", {"response_format": "docx"}, True, 400, "response_format"),
    ("openai: an unknown timestamp granularity", {"timestamp_granularities[]": "char"}, True, 400, "timestamp_granularities[]"),
    ("openai: stream is not a boolean", {"stream": "maybe"}, True, 400, "stream"),
    ("openai: an unknown model", {"model": "gpt-4o-transcribe-xl"}, True, 400, "model"),
]

#: Raw HTTP framing that no client library would send.
RAW_CASES: list[tuple[str, bytes]] = [
    ("a chunk size that is not hex", b"Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n"),
    ("two content lengths", b"Content-Length: 3\r\nContent-Length: 9\r\n\r\nabc"),
    ("a header line without a colon", b"Not a header\r\n\r\n"),
    ("a 200 KB header", b"X-Big: " + b"a" * 200_000 + b"\r\n\r\n"),
]


def wav(seconds: float = 0.5, rate: int = 8000, bits: int = 8) -> bytes:
    """A valid but unusual WAV file: 8 kHz, 8-bit, mono silence."""
    samples = int(seconds * rate)
    data = bytes([128]) * samples if bits == 8 else b"\x00\x00" * samples
    width = bits // 8
    header = b"RIFF" + struct.pack("<I", 36 + len(data)) + b"WAVEfmt " + struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * width, width, bits)
    return header + b"data" + struct.pack("<I", len(data)) + data


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    from e2e.support import Server, speak

    folder = tmp_path_factory.mktemp("hostile")
    server = Server(folder / "data").start()
    key = server.bootstrap_key
    speech = speak(ENGLISH, folder / "speech.wav")
    first = server.submit(key, speech).json()["data"]["transcriptionId"]
    assert server.wait_for(key, first, {"COMPLETED"})["status"] == "COMPLETED"
    yield server, key, first, speech
    server.stop()


@pytest.mark.parametrize("label,method,path,options,status,code", CASES, ids=[case[0] for case in CASES])
def test_a_hostile_request_is_a_typed_4xx(live, label, method, path, options, status, code):
    server, key, completed, speech = live
    options = dict(options)
    headers = dict(options.pop("headers", {}))
    if options.pop("key", False):
        headers.setdefault("Authorization", f"Bearer {key}")
    if options.pop("audio", False):
        options["files"] = {"file": ("speech.wav", speech.read_bytes())}
    response = requests.request(method, server.base + path.replace("ID", completed), headers=headers, timeout=30, **options)
    assert response.status_code == status, (label, response.status_code, response.text[:300])
    assert response.json()["error"]["code"] == code, (label, response.text[:300])


@pytest.mark.parametrize("label,fields,with_file,status,param", OPENAI_CASES, ids=[case[0] for case in OPENAI_CASES])
def test_a_hostile_openai_request_is_a_typed_4xx_in_openais_envelope(live, label, fields, with_file, status, param):
    server, key, _, speech = live
    files = {"file": ("speech.wav", speech.read_bytes())} if with_file else {"placeholder": (None, "x")}
    response = requests.post(server.base + "/v1/audio/transcriptions", headers={"Authorization": f"Bearer {key}"}, data=fields, files=files, timeout=30)
    assert response.status_code == status, (label, response.text[:300])
    error = response.json()["error"]
    assert error["param"] == param and error["type"] == "invalid_request_error" and error["code"], (label, error)


@pytest.mark.parametrize("label,framing", RAW_CASES, ids=[case[0] for case in RAW_CASES])
def test_broken_framing_is_a_4xx_or_a_closed_connection(live, label, framing):
    server, key, _, _ = live
    head = f"POST /api/v1/transcribe HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {key}\r\n".encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as connection:
        connection.sendall(head + framing)
        answer = b""
        try:
            while chunk := connection.recv(65536):
                answer += chunk
        except (TimeoutError, ConnectionResetError):
            pass
    status = answer.split(b" ", 2)[1] if answer.startswith(b"HTTP/1.1 ") else b""
    assert status == b"" or status.startswith(b"4"), (label, answer[:200])


def test_audio_only_the_engine_can_judge_fails_cleanly_or_transcribes(live):
    server, key, _, speech = live
    truncated = speech.read_bytes()[:200]  # a WAV header with almost nothing after it
    odd = wav()  # valid: 8 kHz, 8-bit, silent
    outcomes = {}
    for name, body in (("truncated.wav", truncated), ("odd.wav", odd)):
        response = requests.post(server.base + "/api/v1/transcribe", headers={"Authorization": f"Bearer {key}"}, files={"file": (name, io.BytesIO(body))}, timeout=30)
        assert response.status_code == 202, response.text
        job = response.json()["data"]["transcriptionId"]
        outcomes[name] = server.wait_for(key, job, {"COMPLETED", "FAILED"})
    assert outcomes["odd.wav"]["status"] == "COMPLETED"
    truncated_outcome = outcomes["truncated.wav"]
    assert truncated_outcome["status"] == "COMPLETED" or truncated_outcome["errorMessage"].startswith("INVALID_AUDIO:"), truncated_outcome


def test_after_all_of_it_the_server_is_up_and_transcribes(live):
    server, key, _, speech = live
    assert len(CASES) + len(OPENAI_CASES) + len(RAW_CASES) >= 40
    assert requests.get(server.base + "/health", timeout=5).status_code == 200
    job = server.submit(key, speech).json()["data"]["transcriptionId"]
    assert server.wait_for(key, job, {"COMPLETED", "FAILED"})["status"] == "COMPLETED"
    text = requests.get(f"{server.base}/api/v1/transcriptions/{job}/result?format=text", headers={"Authorization": f"Bearer {key}"}, timeout=30).text
    assert overlap(ENGLISH, text) >= 0.8, text
    assert "unhandled error" not in server.log()
