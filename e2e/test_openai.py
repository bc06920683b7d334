"""The official `openai` Python SDK against the running server, unchanged but for its base URL."""
from __future__ import annotations

import re

import openai
import pytest

from e2e.conftest import ENGLISH
from e2e.support import overlap


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from e2e.support import Server

    # Batches of two windows, so that the long file's text is decoded, and streamed, in more than one batch.
    started = Server(tmp_path_factory.mktemp("openai"), env={"OPENAI_MAX_FILE_SIZE": "1000000", "WHISPER_BATCH_SIZE": "2"}).start()
    yield started
    started.stop()


@pytest.fixture(scope="module")
def client(server):
    return openai.OpenAI(api_key=server.bootstrap_key, base_url=server.base + "/v1", max_retries=0, timeout=300)


def test_every_response_format(client, audio):
    with open(audio["wav"], "rb") as handle:
        text = client.audio.transcriptions.create(model="whisper-1", file=handle).text
    assert overlap(ENGLISH, text) >= 0.8, text
    with open(audio["mp3"], "rb") as handle:
        plain = client.audio.transcriptions.create(model="tiny.en", file=handle, response_format="text")
    assert isinstance(plain, str) and overlap(ENGLISH, plain) >= 0.8, plain
    # OpenAI's chunking_strategy maps to our VAD (speech only), the SDK sending it as it would to OpenAI.
    with open(audio["wav"], "rb") as handle:
        chunked = client.audio.transcriptions.create(model="whisper-1", file=handle, chunking_strategy="auto").text
    assert overlap(ENGLISH, chunked) >= 0.8, chunked
    with open(audio["wav"], "rb") as handle:
        srt = client.audio.transcriptions.create(model="whisper-1", file=handle, response_format="srt")
    assert re.match(r"1\n\d\d:\d\d:\d\d,\d{3} --> \d\d:\d\d:\d\d,\d{3}\n", srt), srt
    with open(audio["wav"], "rb") as handle:
        vtt = client.audio.transcriptions.create(model="whisper-1", file=handle, response_format="vtt")
    assert vtt.startswith("WEBVTT"), vtt
    with open(audio["wav"], "rb") as handle:
        verbose = client.audio.transcriptions.create(
            model="whisper-1", file=handle, response_format="verbose_json", timestamp_granularities=["word", "segment"]
        )
    assert verbose.language in ("en", "english") and verbose.duration > 1
    assert verbose.segments and verbose.segments[0].end > verbose.segments[0].start
    assert verbose.words and all(word.end >= word.start for word in verbose.words)
    assert overlap(ENGLISH, " ".join(word.word for word in verbose.words)) >= 0.8


def test_translation_to_english(client, audio):
    with open(audio["german"], "rb") as handle:
        english = client.audio.translations.create(model="whisper-1", file=handle).text
    words = set(re.findall(r"[a-z]+", english.lower()))
    assert words & {"morning", "coffee", "milk", "today", "how"}, english


def test_errors_raise_the_sdks_exception_types(client, server, audio):
    with pytest.raises(openai.BadRequestError) as bad_model:
        with open(audio["wav"], "rb") as handle:
            client.audio.transcriptions.create(model="whisper-9000", file=handle)
    assert bad_model.value.body["param"] == "model"
    with pytest.raises(openai.AuthenticationError):
        with open(audio["wav"], "rb") as handle:
            openai.OpenAI(api_key="wapi_bad", base_url=server.base + "/v1", max_retries=0).audio.transcriptions.create(
                model="whisper-1", file=handle
            )
    with pytest.raises(openai.APIStatusError) as too_large:
        with open(audio["long"], "rb") as handle:  # over the 1 MB limit this server was given
            client.audio.transcriptions.create(model="whisper-1", file=handle)
    assert too_large.value.status_code == 413
    with pytest.raises(openai.APIStatusError) as not_audio:
        with open(audio["text"], "rb") as handle:
            client.audio.transcriptions.create(model="whisper-1", file=handle)
    assert not_audio.value.status_code == 415 and not_audio.value.body["code"] == "unsupported_media_type"
    assert "whisper-1" in [model.id for model in client.models.list()]


@pytest.fixture(scope="module")
def long_mp3(audio, tmp_path_factory):
    from e2e.support import convert

    return convert(audio["long"], tmp_path_factory.mktemp("long") / "long.mp3", "libmp3lame", "mp3")


def test_stream_sends_the_text_as_segments_are_transcribed(client, long_mp3):
    import time

    from e2e.conftest import LONG

    deltas: list[tuple[float, str]] = []
    done = None
    with open(long_mp3, "rb") as handle:
        stream = client.audio.transcriptions.create(model="whisper-1", file=handle, stream=True)
        for event in stream:
            if event.type == "transcript.text.delta":
                deltas.append((time.monotonic(), event.delta))
            elif event.type == "transcript.text.done":
                done = (time.monotonic(), event.text)
    assert done is not None, deltas
    # The engine decodes windows of up to 30 s in batches, so segments come in bursts: with batches of two windows the
    # text arrives in more than one piece.
    assert len(deltas) >= 2, deltas
    assert "".join(delta for _, delta in deltas) == done[1]
    assert overlap(LONG, done[1]) >= 0.8, done[1]
    # The first words arrive while the rest is still being transcribed, not all at the end.
    assert done[0] - deltas[0][0] >= 0.3, (deltas[0][0], done[0])


def test_a_client_that_goes_away_cancels_its_job(server, long_mp3):
    import socket
    import time

    body = long_mp3.read_bytes()
    boundary = "whisperapi-test-boundary"
    form = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="model"\r\n\r\nwhisper-1\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="long.mp3"\r\n'
        "Content-Type: audio/mpeg\r\n\r\n"
    ).encode() + body + f"\r\n--{boundary}--\r\n".encode()
    head = (
        "POST /v1/audio/transcriptions HTTP/1.1\r\n"
        f"Host: 127.0.0.1\r\nAuthorization: Bearer {server.bootstrap_key}\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {len(form)}\r\n\r\n"
    ).encode()
    connection = socket.create_connection(("127.0.0.1", server.port))
    connection.sendall(head + form)

    def newest() -> dict:
        items = server.get(server.bootstrap_key, "/api/v1/transcriptions?limit=1").json()["data"]["items"]
        return items[0] if items else {}

    deadline = time.monotonic() + 120
    while newest().get("status") != "PROCESSING" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert newest().get("status") == "PROCESSING"
    connection.close()
    deadline = time.monotonic() + 30
    while newest().get("status") != "CANCELLED" and time.monotonic() < deadline:
        time.sleep(0.2)
    assert newest()["status"] == "CANCELLED", newest()
