"""The terminal client (`whisperapi login|transcribe|jobs`) against a real server: progress bars under a
pseudo-terminal, plain lines otherwise, outputs written beside the inputs, Ctrl-C cancels, failures explained."""
from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import time
from pathlib import Path

import pexpect
import pytest
import requests

from e2e.conftest import LONG
from e2e.support import BINARY, ROOT, overlap, parse_srt, speak

TALK = "Please send the report to the office before noon on Monday."
INTERVIEW = "The weather is lovely today. We are going for a long walk in the park."


@pytest.fixture()
def client_env(server, tmp_path) -> dict[str, str]:
    """A HOME of its own, signed in to the test server with `whisperapi login`."""
    home = tmp_path / "home"
    home.mkdir()
    env = {**os.environ, "HOME": str(home), "XDG_CONFIG_HOME": "", "NO_COLOR": "1"}
    env.pop("WHISPERAPI_URL", None)
    env.pop("WHISPERAPI_KEY", None)
    done = subprocess.run([str(BINARY), "login", "--server", server.base, "--key", server.bootstrap_key], env=env, capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    config = home / ".config" / "whisperapi" / "config.json"
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert json.loads(config.read_text()) == {"key": server.bootstrap_key, "server": server.base}
    return env


@pytest.fixture()
def files(tmp_path) -> dict[str, Path]:
    folder = tmp_path / "audio"
    folder.mkdir()
    notes = folder / "notes.mp3"
    notes.write_text("these are meeting notes, not audio\n" * 20)
    return {
        "talk": speak(TALK, folder / "talk.wav"),
        "interview": speak(INTERVIEW, folder / "interview.wav"),
        "long": speak(LONG, folder / "long.wav"),
        "notes": notes,
    }


def transcribe_in_terminal(env, *args: str, timeout: float = 240) -> tuple[int, str]:
    child = pexpect.spawn(str(BINARY), ["transcribe", *args], cwd=str(ROOT), env=env, encoding="utf-8", dimensions=(40, 160), timeout=timeout)
    child.expect(pexpect.EOF)
    child.close()
    return child.exitstatus, child.before


def test_progress_bars_on_a_terminal_and_outputs_beside_each_input(client_env, files):
    status, screen = transcribe_in_terminal(client_env, str(files["talk"]), str(files["interview"]), "--format", "srt,txt")
    assert status == 0, screen
    # Bars are redrawn in place (cursor up, clear line) and end full.
    assert "\x1b[2K" in screen and re.search(r"\x1b\[\d+A", screen)
    for name in ("talk.wav", "interview.wav"):
        assert re.search(rf"{re.escape(name)}\s+█{{30}} 100%  completed", screen), screen[-2000:]
    assert "2 completed, 0 skipped, 0 failed" in screen
    for key, spoken in (("talk", TALK), ("interview", INTERVIEW)):
        srt = files[key].with_suffix(".srt")
        cues = parse_srt(srt.read_text())
        assert overlap(spoken, " ".join(cue[2] for cue in cues)) >= 0.6
        assert overlap(spoken, files[key].with_suffix(".txt").read_text()) >= 0.6
    # Outputs that exist are skipped unless --force.
    status, screen = transcribe_in_terminal(client_env, str(files["talk"]), "--format", "srt,txt")
    assert status == 0 and "0 completed, 1 skipped, 0 failed" in screen


def test_plain_lines_when_not_a_terminal_and_a_failed_file_explained(client_env, files, tmp_path):
    out = tmp_path / "out"
    done = subprocess.run(
        [str(BINARY), "transcribe", str(files["talk"]), str(files["notes"]), "--format", "vtt", "--output-dir", str(out)],
        env=client_env, capture_output=True, text=True, timeout=240,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "\x1b" not in done.stdout
    lines = done.stdout.splitlines()
    assert "talk.wav: completed -> talk.vtt" in lines
    summary = [line for line in lines if line.startswith("notes.mp3 ")]
    assert summary and "failed" in summary[0] and "UNSUPPORTED_MEDIA_TYPE" in summary[0], done.stdout
    assert (out / "talk.vtt").read_text().startswith("WEBVTT")
    assert not (out / "notes.vtt").exists()


def test_ctrl_c_cancels_the_jobs_it_started(client_env, files, server):
    child = pexpect.spawn(str(BINARY), ["transcribe", str(files["long"]), "--format", "txt"], cwd=str(ROOT), env=client_env, encoding="utf-8", dimensions=(40, 160), timeout=120)
    child.expect(["queued", "transcribing"])
    time.sleep(0.5)
    child.sendintr()
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130 or child.signalstatus is not None, child.before
    headers = {"Authorization": f"Bearer {server.bootstrap_key}"}
    items = requests.get(server.base + "/api/v1/transcriptions", headers=headers, timeout=10).json()["data"]["items"]
    long_job = next(item for item in items if item["originalFilename"] == "long.wav")
    deadline = time.time() + 20
    while long_job["status"] != "CANCELLED" and time.time() < deadline:
        time.sleep(0.3)
        long_job = requests.get(f"{server.base}/api/v1/transcriptions/{long_job['id']}", headers=headers, timeout=10).json()["data"]
    assert long_job["status"] == "CANCELLED"
    assert not files["long"].with_suffix(".txt").exists()


def test_jobs_commands(client_env, files, server):
    done = subprocess.run([str(BINARY), "transcribe", str(files["talk"]), "--format", "json"], env=client_env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stdout + done.stderr
    listing = subprocess.run([str(BINARY), "jobs", "list"], env=client_env, capture_output=True, text=True, timeout=30).stdout
    job_id = re.search(r"^([0-9a-f-]{36})\s+COMPLETED", listing, re.M).group(1)
    shown = json.loads(subprocess.run([str(BINARY), "jobs", "show", job_id], env=client_env, capture_output=True, text=True, timeout=30).stdout)
    assert shown["id"] == job_id and shown["originalFilename"] == "talk.wav"
    srt = subprocess.run([str(BINARY), "jobs", "result", job_id, "--format", "srt"], env=client_env, capture_output=True, text=True, timeout=30).stdout
    assert overlap(TALK, " ".join(cue[2] for cue in parse_srt(srt))) >= 0.6
    refused = subprocess.run([str(BINARY), "jobs", "retry", job_id], env=client_env, capture_output=True, text=True, timeout=30)
    assert refused.returncode != 0 and "NOT_FAILED" in refused.stderr
    # The environment overrides the saved login.
    wrong = subprocess.run([str(BINARY), "jobs", "list"], env={**client_env, "WHISPERAPI_KEY": "wapi_nope"}, capture_output=True, text=True, timeout=30)
    assert wrong.returncode != 0 and "INVALID_API_KEY" in wrong.stderr
