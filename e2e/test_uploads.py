"""Large uploads stream to storage: memory stays flat and the size limit holds while streaming."""
from __future__ import annotations

import http.client
import struct
from pathlib import Path

import requests

CHUNK = 1 << 20


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def wav_header(data_bytes: int) -> bytes:
    return (
        b"RIFF" + struct.pack("<I", 36 + data_bytes) + b"WAVEfmt "
        + struct.pack("<IHHIIHH", 16, 1, 1, 16000, 32000, 2, 16)
        + b"data" + struct.pack("<I", data_bytes)
    )


def stream_upload(server, key: str, megabytes: int) -> tuple[int, dict, float, float]:
    """Sends a chunked multipart upload of `megabytes` MB; returns status, body, RSS before and peak RSS."""
    boundary = "----whisperapi-big-upload"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.wav"\r\n'
        f"Content-Type: audio/wav\r\n\r\n"
    ).encode() + wav_header(megabytes * CHUNK)
    tail = f"\r\n--{boundary}--\r\n".encode()
    pid = server.process.pid
    before = peak = rss_mb(pid)
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
    connection.putrequest("POST", "/api/v1/transcribe")
    connection.putheader("Authorization", f"Bearer {key}")
    connection.putheader("Content-Type", f"multipart/form-data; boundary={boundary}")
    connection.putheader("Transfer-Encoding", "chunked")
    connection.endheaders()

    def send(data: bytes) -> None:
        connection.send(f"{len(data):x}\r\n".encode() + data + b"\r\n")

    zeros = bytes(CHUNK)
    try:
        send(head)
        for index in range(megabytes):
            send(zeros)
            if index % 8 == 0:
                peak = max(peak, rss_mb(pid))
        send(tail)
        connection.send(b"0\r\n\r\n")
    except (BrokenPipeError, ConnectionResetError):
        pass  # the server answered early (413) and stopped reading
    response = connection.getresponse()
    body = response.read()
    peak = max(peak, rss_mb(pid))
    connection.close()
    import json

    return response.status, json.loads(body or b"{}"), before, peak


def stored_files(server) -> list[Path]:
    root = server.data_dir / "storage"
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


def test_a_large_upload_is_streamed_to_disk_not_memory(server_factory):
    server = server_factory(workers=0).start()
    status, body, before, peak = stream_upload(server, server.bootstrap_key, 300)
    assert status == 202, body
    files = stored_files(server)
    assert len(files) == 1 and files[0].stat().st_size == 300 * CHUNK + 44
    assert peak - before < 64, f"server memory grew {peak - before:.0f} MB for a 300 MB upload"


def test_the_size_limit_is_enforced_while_streaming(server_factory):
    server = server_factory(workers=0, env={"MAX_FILE_SIZE": str(50 * CHUNK)}).start()
    status, body, before, peak = stream_upload(server, server.bootstrap_key, 120)
    assert status == 413, body
    assert body["error"]["code"] == "FILE_TOO_LARGE"
    assert stored_files(server) == [], "the partial file is removed"
    assert peak - before < 64
    declared = requests.post(
        server.base + "/api/v1/transcribe",
        headers={"Authorization": f"Bearer {server.bootstrap_key}"},
        files={"file": ("big.wav", wav_header(60 * CHUNK) + bytes(60 * CHUNK))},
        timeout=60,
    )
    assert declared.status_code == 413 and declared.json()["error"]["code"] == "FILE_TOO_LARGE"
    assert requests.get(server.base + "/health", timeout=5).status_code == 200


def raw_exchange(server, request: bytes, timeout: float = 10) -> bytes:
    """Sends raw bytes and reads until the server answers and closes (or stops answering)."""
    import socket

    with socket.create_connection(("127.0.0.1", server.port), timeout=timeout) as connection:
        connection.sendall(request)
        answer = b""
        try:
            while chunk := connection.recv(65536):
                answer += chunk
                if b"\r\n\r\n" in answer and len(answer) > 2000:
                    break
        except (TimeoutError, ConnectionResetError):
            pass
    return answer


def test_malformed_http_framing_is_a_400_or_a_closed_connection_never_a_5xx(server):
    key = server.bootstrap_key
    head = (
        "POST /api/v1/transcribe HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + key + "\r\n"
        "Content-Type: multipart/form-data; boundary=xyz\r\n"
    )
    for framing in (
        "Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",  # a chunk size that is not hex
        "Transfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n",  # a chunk without its CRLF
        "Transfer-Encoding: chunked\r\n\r\nfffffffffffffffffffff\r\n",  # a chunk size that overflows
        "Content-Length: 12\r\nContent-Length: 99\r\n\r\nhello",  # two lengths
        "Content-Length: -4\r\n\r\nhello",
    ):
        answer = raw_exchange(server, (head + framing).encode())
        status = answer.split(b" ", 2)[1] if answer.startswith(b"HTTP/1.1 ") else b""
        assert not status.startswith(b"5"), (framing, answer[:300])
        assert status in (b"", b"400", b"413"), (framing, answer[:300])
    # The server is still up and still transcribes.
    assert requests.get(server.base + "/health", timeout=5).status_code == 200
    assert "unhandled error" not in server.log()
