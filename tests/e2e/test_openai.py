"""The official `openai` Python SDK against the running server, unchanged but for its base URL."""
from __future__ import annotations

import re

import openai
import pytest

from tests.e2e.conftest import ENGLISH
from tests.support import overlap


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from tests.support import Server

    started = Server(tmp_path_factory.mktemp("openai"), env={"OPENAI_MAX_FILE_SIZE": "1000000"}).start()
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
