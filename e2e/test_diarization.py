"""Who spoke when: conversations spoken by espeak-ng in clearly different voices, with known turns, diarized by a real
server (embedded, a standalone Swift worker on Redis, and the Python cloud worker), in every output format."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
import requests
from faster_whisper.audio import decode_audio
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.select import Select

from e2e.browser import chromium_paths, fetch, open_browser, screenshot, wait
from e2e.support import BINARY, LINES, ROOT, conversation, free_port, parse_srt, parse_vtt, two_readers, wrong_share
from e2e.test_cloud import CloudWorker, shared_env  # noqa: F401 (a fixture)
from e2e.test_dashboard import check_labels, css, sign_in
from e2e.test_terminal_client import client_env  # noqa: F401 (a fixture)
from engine import diarize

MODEL = ROOT / "models" / "campplus.onnx"
if not MODEL.is_file():
    # `make test` installs it (make setup-diarization); in CI a missing model is a failure, never a skip.
    assert not os.environ.get("CI"), f"{MODEL} is missing: make setup-diarization"
    pytest.skip("speaker diarization is not installed (make setup-diarization)", allow_module_level=True)

@pytest.fixture(scope="module")
def talks(tmp_path_factory) -> dict[int, tuple[Path, list[tuple[float, float, int]]]]:
    folder = tmp_path_factory.mktemp("conversations")
    return {count: conversation(folder, count) for count in (1, 2, 3)}


def finished(server, key: str, path: Path, **fields: str) -> tuple[str, dict]:
    transcription = server.submitted(key, path, **fields)
    status = server.wait_for(key, transcription, {"COMPLETED", "FAILED"}, timeout=300)
    assert status["status"] == "COMPLETED", status
    result = server.get(key, f"/api/v1/transcriptions/{transcription}/result?format=verbose_json")
    assert result.status_code == 200, result.text
    return transcription, result.json()


@pytest.mark.parametrize("speakers", [2, 3])
def test_a_conversation_gets_its_speakers_in_every_format(speakers, server, talks):
    path, turns = talks[speakers]
    key = server.bootstrap_key
    transcription, verbose = finished(server, key, path, diarize="true", word_timestamps="true")
    assert [item["speaker"] for item in verbose["speakers"]] == [f"SPEAKER_{n + 1}" for n in range(speakers)]
    assert all(item["speaking_time"] > 5 for item in verbose["speakers"]), verbose["speakers"]
    wrong, mapping = wrong_share(verbose["segments"], turns)
    assert wrong <= 0.05, (wrong, mapping, verbose["segments"])
    # Each turn is its own segment (or segments) with the turn's speaker, and every word carries its segment's.
    for start, end, voice in turns:
        inside = [s for s in verbose["segments"] if s["start"] < end and s["end"] > start]
        assert inside and all(mapping[s["speaker"]] == voice for s in inside), (start, end, voice, inside)
    # verbose_json lists the words apart (OpenAI's shape): each carries the speaker of the segment it lies in.
    assert verbose["words"]
    for word in verbose["words"]:
        middle = (word["start"] + word["end"]) / 2
        holder = min(verbose["segments"], key=lambda s: max(s["start"] - middle, middle - s["end"]))
        assert word["speaker"] == holder["speaker"], (word, holder)
    base = f"/api/v1/transcriptions/{transcription}/result?format="
    cues = parse_srt(server.get(key, base + "srt").text)
    assert cues and all(text.startswith("SPEAKER_") and ": " in text for _, _, text in cues), cues
    vtt = server.get(key, base + "vtt").text
    assert [text.split(">")[0] for _, _, text in parse_vtt(vtt)] == [f"<v {s['speaker']}" for s in verbose["segments"]]
    paragraphs = server.get(key, base + "text").text.strip().split("\n\n")
    assert len(paragraphs) == len(turns) and all(p.startswith("SPEAKER_") for p in paragraphs), paragraphs
    diarized = server.get(key, base + "diarized_json").json()
    assert {s["speaker"] for s in diarized["segments"]} == set("ABC"[:speakers])


def test_the_openai_sdk_reads_diarized_json_with_known_speaker_names(server, talks):
    from openai import OpenAI

    client = OpenAI(api_key=server.bootstrap_key, base_url=server.base + "/v1")
    path, turns = talks[2]
    with open(path, "rb") as handle:
        result = client.audio.transcriptions.create(
            model="whisper-1", file=handle, response_format="diarized_json", known_speaker_names=["Alice", "Bob"])
    assert type(result).__name__ == "TranscriptionDiarized"
    assert [s.speaker for s in result.segments][:2] == ["Alice", "Bob"]
    assert all(s.type == "transcript.text.segment" for s in result.segments)
    wrong, _ = wrong_share([{"start": s.start, "end": s.end, "speaker": s.speaker} for s in result.segments], turns)
    assert wrong <= 0.05


def test_one_voice_is_one_speaker_and_a_short_clip_is_one_speaker_without_error(server, talks, tmp_path):
    key = server.bootstrap_key
    _, single = finished(server, key, talks[1][0], diarize="true")
    assert [s["speaker"] for s in single["speakers"]] == ["SPEAKER_1"]
    short, _ = conversation(tmp_path, 2, LINES[:1])
    _, clip = finished(server, key, short, speakers="2")
    assert [s["speaker"] for s in clip["speakers"]] == ["SPEAKER_1"] and clip["duration"] < 6


@pytest.mark.parametrize(
    "voices, lines", [(1, LINES * 4), (2, LINES * 3), (3, LINES * 4)], ids=["one-voice", "two-voices", "three-voices"]
)
def test_longer_conversations_keep_their_speaker_count(voices, lines, tmp_path):
    """Over a minute and more, with every sentence said several times: a voice's pieces are most alike within a
    sentence, so a graph pruned for short clips falls apart by sentence (7 speakers found in 105 s of 3 voices).
    The engine's diarization alone, without transcription."""
    path, turns = conversation(tmp_path, voices, lines)
    found = diarize.diarize(decode_audio(str(path)), diarize.Options())
    segments = [{"start": turn.start, "end": turn.end, "speaker": str(turn.speaker)} for turn in found]
    assert len({turn.speaker for turn in found}) == voices
    assert wrong_share(segments, turns)[0] <= 0.05


def test_two_real_people_are_two_speakers(server, tmp_path):
    """Real human speech (a LibriVox reader and another person reading card names, in turn) through the server."""
    path, turns = two_readers(tmp_path)
    _, result = finished(server, server.bootstrap_key, path, diarize="true")
    assert [speaker["speaker"] for speaker in result["speakers"]] == ["SPEAKER_1", "SPEAKER_2"]
    assert wrong_share(result["segments"], turns)[0] <= 0.05


def test_the_terminal_client_labels_speakers(client_env, talks, tmp_path):  # noqa: F811
    path, turns = talks[2]
    out = tmp_path / "out"
    done = subprocess.run(
        [str(BINARY), "transcribe", str(path), "--diarize", "--format", "srt,diarized_json", "--output-dir", str(out)],
        env=client_env, capture_output=True, text=True, timeout=240,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    cues = parse_srt((out / f"{path.stem}.srt").read_text())
    assert {cue[2].split(":")[0] for cue in cues} == {"SPEAKER_1", "SPEAKER_2"}
    diarized = json.loads((out / f"{path.stem}.diarized.json").read_text())
    assert wrong_share(diarized["segments"], turns)[0] <= 0.05
    # --speakers alone asks for them too.
    done = subprocess.run(
        [str(BINARY), "transcribe", str(path), "--speakers", "2", "--format", "txt", "--output-dir", str(tmp_path / "known")],
        env=client_env, capture_output=True, text=True, timeout=240,
    )
    assert done.returncode == 0 and "SPEAKER_2" in (tmp_path / "known" / f"{path.stem}.txt").read_text(), done.stdout


def test_options_are_checked_and_diarization_is_refused_where_no_worker_can(server_factory, talks):
    path = talks[2][0]
    able = server_factory().start()
    for fields, code in (({"speakers": "0"}, "INVALID_SPEAKERS"), ({"diarize": "maybe"}, "INVALID_DIARIZE"),
                         ({"min_speakers": "3", "max_speakers": "2"}, "INVALID_SPEAKERS")):
        refused = able.submit(able.bootstrap_key, path, **fields)
        assert refused.status_code == 400 and refused.json()["error"]["code"] == code, refused.text
    for env in ({"DIARIZATION_MODEL": "/nonexistent/campplus.onnx"}, {"WHISPER_ENGINE": "whisper.cpp"}):
        unable = server_factory(env=env).start()
        refused = unable.submit(unable.bootstrap_key, path, diarize="true")
        assert refused.status_code == 422 and refused.json()["error"]["code"] == "DIARIZATION_UNAVAILABLE", refused.text
        with open(path, "rb") as handle:
            openai = requests.post(unable.base + "/v1/audio/transcriptions", headers={"Authorization": f"Bearer {unable.bootstrap_key}"},
                                   files={"file": handle}, data={"model": "whisper-1", "response_format": "diarized_json"}, timeout=60)
        assert openai.status_code == 422, openai.text
        assert unable.submit(unable.bootstrap_key, path).status_code == 202  # without diarization, it still transcribes


def test_on_redis_only_a_worker_that_can_diarize_makes_it_accepted(cluster, talks):
    api, add_worker = cluster
    key = api.bootstrap_key
    path, turns = talks[2]
    refused = api.submit(key, path, diarize="true")
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "DIARIZATION_UNAVAILABLE", refused.text
    able = add_worker({"METRICS_PORT": str(free_port())})
    accepted(api, key, path, able)
    _, verbose = finished(api, key, path, diarize="true")
    assert len(verbose["speakers"]) == 2 and wrong_share(verbose["segments"], turns)[0] <= 0.05
    able.stop()  # withdraws its claim: refused again at once
    assert api.submit(key, path, diarize="true").status_code == 422


def accepted(api, key: str, path: Path, worker) -> str:
    """Waits until a worker's claim to diarize reaches the API server; the submit that proves it (its transcription
    id) runs too."""
    deadline = time.time() + 30
    while (response := api.submit(key, path, diarize="true")).status_code != 202:
        assert time.time() < deadline, worker.log()[-2000:]
        time.sleep(0.5)
    return response.json()["data"]["transcriptionId"]


def left_to_the_able(api, key: str, talk, able, unable) -> None:
    """The worker that can diarize is paused (its claim stays current for 20 s at least) while one that cannot takes a
    diarized job: the job goes back to the queue each time, no attempt counted, and the other work goes on; resumed,
    the able worker diarizes it."""
    path, turns = talk
    able.process.send_signal(signal.SIGSTOP)
    try:
        diarized = api.submitted(key, path, diarize="true")
        plain = api.submitted(key, path)
        # Handed over as many times as a job has attempts (3): none of them counts as one.
        deadline = time.time() + 15
        while unable.log().count("job left to a worker that can diarize") < 3:
            assert time.time() < deadline, unable.log()[-2000:]
            time.sleep(0.2)
        assert api.status(key, diarized)["status"] in ("QUEUED", "PROCESSING"), api.status(key, diarized)
    finally:
        able.process.send_signal(signal.SIGCONT)
    assert api.wait_for(key, plain, {"COMPLETED", "FAILED"}, timeout=120)["status"] == "COMPLETED"
    status = api.wait_for(key, diarized, {"COMPLETED", "FAILED"}, timeout=120)
    assert status["status"] == "COMPLETED", status
    result = api.get(key, f"/api/v1/transcriptions/{diarized}/result?format=verbose_json").json()
    assert len(result["speakers"]) == 2 and wrong_share(result["segments"], turns)[0] <= 0.05


def test_in_a_mixed_fleet_a_worker_without_the_model_leaves_diarized_jobs_to_one_with_it(cluster, talks):
    api, add_worker = cluster
    able = add_worker({})
    probe = accepted(api, api.bootstrap_key, talks[2][0], able)
    assert api.wait_for(api.bootstrap_key, probe, {"COMPLETED", "FAILED"}, timeout=120)["status"] == "COMPLETED"
    unable = add_worker({"DIARIZATION_MODEL": "/nonexistent/campplus.onnx"})
    left_to_the_able(api, api.bootstrap_key, talks[2], able, unable)


def test_the_python_cloud_worker_diarizes(tmp_path, shared_env, server_factory, talks):  # noqa: F811
    api = server_factory(env=shared_env, workers=0, data_dir=tmp_path / "api").start()
    cloud = CloudWorker(tmp_path / "cloud", shared_env)
    unable: list[CloudWorker] = []
    try:
        key = api.new_key("speakers@example.com", "PRO")
        path, turns = talks[3]
        accepted(api, key, path, cloud)
        _, verbose = finished(api, key, path, diarize="true", speakers="3")
        assert len(verbose["speakers"]) == 3 and wrong_share(verbose["segments"], turns)[0] <= 0.05
        assert cloud.completed_jobs() >= 2
        # Beside it, a cloud worker without the model.
        unable.append(CloudWorker(tmp_path / "unable", {**shared_env, "DIARIZATION_MODEL": "/nonexistent/campplus.onnx"}))
        left_to_the_able(api, key, talks[2], cloud, unable[0])
    finally:
        assert cloud.stop() == 0
        for worker in unable:
            assert worker.stop() == 0


@pytest.mark.skipif(chromium_paths() is None, reason="needs chromium and chromium-driver (make test installs them)")
def test_the_dashboard_asks_for_speakers_colours_them_and_renames_them_for_display(server_factory, talks, tmp_path):
    path, turns = talks[2]
    unable = server_factory(env={"DIARIZATION_MODEL": "/nonexistent/campplus.onnx"}).start()
    able = server_factory().start()
    driver = open_browser()
    try:
        # Where no worker can diarize, the option is there but disabled, and says why.
        sign_in(driver, unable.base, unable.bootstrap_key)
        driver.get(unable.base + "/#/upload")
        box = wait(lambda: css(driver, "#diarize"), message="the speaker option")[0]
        assert not box.is_enabled()
        assert css(driver, "#diarize-unavailable")[0].text == "Not installed on this server"

        # Where one can: the number of speakers shows once the box is ticked; the upload asks for two.
        sign_in(driver, able.base, able.bootstrap_key)
        driver.get(able.base + "/#/upload")
        box = wait(lambda: css(driver, "#diarize"), message="the speaker option")[0]
        assert box.is_enabled() and not css(driver, "#speakers")[0].is_displayed()
        box.click()
        Select(wait(lambda: [e for e in css(driver, "#speakers") if e.is_displayed()], message="the speaker count")[0]).select_by_value("2")
        check_labels(driver, "upload with speakers")
        css(driver, "#file-input")[0].send_keys(str(path))
        selector = f'.upload-item[data-file="{path.name}"]'
        wait(lambda: css(driver, f'{selector}[data-status="COMPLETED"]') or css(driver, f'{selector}[data-status="FAILED"]'),
             timeout=300, message="the upload to finish")
        assert css(driver, f'{selector}[data-status="COMPLETED"]'), css(driver, selector)[0].text
        css(driver, f"{selector} .upload-link a")[0].click()

        # Every segment has its speaker's chip; the chips follow the turns and each speaker has its own colour.
        wait(lambda: css(driver, "#segments .speaker"), message="the speaker chips")
        check_labels(driver, "job with speakers")
        segments = driver.execute_script(
            """return [...document.querySelectorAll('#segments .segment')].map((b) => ({start: +b.dataset.start,
               end: +b.dataset.end, speaker: b.querySelector('.speaker')?.dataset.speaker,
               colour: getComputedStyle(b.querySelector('.speaker')).color}));""")
        assert all(s["speaker"] for s in segments), segments
        assert wrong_share(segments, turns)[0] <= 0.05, segments
        colours = {s["speaker"]: s["colour"] for s in segments}
        assert sorted(colours) == ["SPEAKER_1", "SPEAKER_2"] and len(set(colours.values())) == 2, colours

        # Renaming relabels that speaker's chips at once, and this browser remembers it.
        name = css(driver, "#speaker-name-0")[0]
        assert css(driver, 'label[for="speaker-name-0"]')[0].text.startswith("SPEAKER_1 (")
        name.send_keys(Keys.CONTROL, "a")  # (clear() would fire a change: an empty name goes back to the label)
        name.send_keys("Alice", Keys.TAB)

        def chip_names() -> dict[str, set[str]]:
            named: dict[str, set[str]] = {}
            for chip in css(driver, "#segments .speaker"):
                named.setdefault(chip.get_attribute("data-speaker"), set()).add(chip.text)
            return named

        renamed = {"SPEAKER_1": {"Alice"}, "SPEAKER_2": {"SPEAKER_2"}}
        try:
            wait(lambda: chip_names() == renamed, message="the renamed chips")
        except AssertionError as error:
            raise AssertionError(f"{error}: {chip_names()}, field {css(driver, '#speaker-name-0')[0].get_attribute('value')!r}") from None
        driver.execute_script("document.getElementById('transcript-title').scrollIntoView()")
        screenshot(driver, "speakers", tmp_path / "shots")
        driver.refresh()
        wait(lambda: chip_names() == renamed, message="the name after a reload")
        assert css(driver, "#speaker-name-0")[0].get_attribute("value") == "Alice"

        # The name is for display only: the downloads keep the labels, and the diarized JSON download is offered.
        srt = fetch(driver, css(driver, 'a[data-format="srt"]')[0].get_attribute("href"))
        assert srt["status"] == 200 and "SPEAKER_1: " in srt["body"] and "Alice" not in srt["body"]
        link = css(driver, 'a[data-format="diarized_json"]')[0]
        assert link.get_attribute("download").endswith(".diarized.json")
        diarized = json.loads(fetch(driver, link.get_attribute("href"))["body"])
        assert {s["speaker"] for s in diarized["segments"]} == {"A", "B"}
    finally:
        driver.quit()
