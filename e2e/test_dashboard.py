"""The web dashboard in a real headless Chromium against a real `whisperapi serve` (embedded mode, and once on
PostgreSQL + Redis + S3 with a standalone worker): sign-in, uploads with live progress, the transcript with the
audio player, downloads, cancel, admin, sign-out, revoked keys and cross-site requests."""
from __future__ import annotations

import os
import re
import signal
import time
from pathlib import Path

import pytest
import requests

from e2e.browser import chromium_paths, fetch, open_browser, screenshot, unlabelled_controls, wait
from e2e.conftest import LONG
from e2e.test_cloud import shared_env  # noqa: F401 (a fixture: PostgreSQL, Redis and S3)
from e2e.test_intake import MediaServer
from e2e.support import WorkerProcess, overlap, parse_srt, speak

pytestmark = pytest.mark.skipif(chromium_paths() is None, reason="needs chromium and chromium-driver (make test installs them)")

#: Two sentences with a pause between them, so Whisper gives at least two segments.
FIRST_SPOKEN = "Please send the report to the office before noon on Monday. Thank you very much for your help with the budget."
SECOND_SPOKEN = "The weather is lovely today. We are going for a long walk in the park this afternoon."


@pytest.fixture()
def browser():
    driver = open_browser()
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def speech(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("dashboard-audio")
    return {
        "first": speak(FIRST_SPOKEN, folder / "report.wav", speed=130),
        "second": speak(SECOND_SPOKEN, folder / "walk.wav"),
        "long": speak(LONG, folder / "long.wav"),
    }


def css(driver, selector: str):
    from selenium.webdriver.common.by import By

    return driver.find_elements(By.CSS_SELECTOR, selector)


def sign_in(driver, base: str, key: str) -> None:
    driver.get(base + "/#/jobs")
    field = wait(lambda: css(driver, "#api-key"), message="the sign-in form")[0]
    assert not unlabelled_controls(driver)
    field.send_keys(key)
    css(driver, "#signin-form button[type=submit]")[0].click()
    wait(lambda: css(driver, "#top") and css(driver, "#top")[0].is_displayed(), message="the signed-in header")


def check_labels(driver, page: str) -> None:
    missing = unlabelled_controls(driver)
    assert not missing, f"unlabelled controls on {page}: {missing}"


def upload_and_follow(driver, base: str, files: list[Path], shots: Path) -> dict[str, list[str]]:
    """Uploads through the file input; returns the statuses each row went through until both completed."""
    driver.get(base + "/#/upload")
    wait(lambda: css(driver, "#file-input"), message="the upload page")
    check_labels(driver, "upload")
    css(driver, "#file-input")[0].send_keys("\n".join(str(path) for path in files))
    seen: dict[str, list[str]] = {path.name: [] for path in files}
    upload_full: set[str] = set()
    job_values: dict[str, set[int]] = {path.name: set() for path in files}
    deadline = time.time() + 300
    while time.time() < deadline:
        for item in css(driver, ".upload-item"):
            name = item.get_attribute("data-file")
            if name not in seen:
                continue
            if int(float(item.find_element("css selector", ".upload-bar").get_attribute("value"))) == 100:
                upload_full.add(name)
            job_values[name].add(int(float(item.find_element("css selector", ".job-bar").get_attribute("value"))))
            status = item.get_attribute("data-status")
            if status and (not seen[name] or seen[name][-1] != status):
                seen[name].append(status)
        if all(states and states[-1] in ("COMPLETED", "FAILED") for states in seen.values()):
            break
        time.sleep(0.1)
    screenshot(driver, "upload", shots)
    assert upload_full == set(seen), f"upload bars at 100%: {upload_full}"
    assert all(states[-1] == "COMPLETED" for states in seen.values()), seen
    # The rows moved on their own (no reload): each showed a state before COMPLETED or a bar between 0 and 100.
    for name, states in seen.items():
        assert len(states) > 1 or any(0 < value < 100 for value in job_values[name]), (name, states, job_values[name])
    return seen


def check_detail(driver, base: str, name: str, spoken: str, shots: Path) -> str:
    """Opens a job from the upload list; checks the transcript, the segment seek and the SRT download."""
    wait(lambda: css(driver, f'.upload-item[data-file="{name}"] .upload-link a'), message="the job link")[0].click()
    segments = wait(lambda: css(driver, "#segments .segment"), timeout=30, message="the transcript segments")
    check_labels(driver, "job detail")
    transcript = " ".join(segment.find_element("css selector", ".text").text for segment in segments)
    assert overlap(spoken, transcript) >= 0.6, transcript
    assert len(segments) >= 2, f"expected two segments: {transcript}"
    wait(lambda: driver.execute_script("return document.getElementById('player').readyState >= 1"), message="the audio's metadata")
    second = segments[1]
    start = float(second.get_attribute("data-start"))
    second.click()
    current = wait(lambda: driver.execute_script("return document.getElementById('player').currentTime") or None, message="a seek")
    assert abs(float(current) - start) < 0.6, (current, start)
    wait(lambda: "current" in (css(driver, "#segments .segment")[1].get_attribute("class") or ""), message="the played segment highlighted")
    driver.execute_script("document.getElementById('player').pause()")
    screenshot(driver, "job", shots)
    link = css(driver, 'a[data-format="srt"]')[0]
    assert link.get_attribute("download").endswith(".srt")
    answer = fetch(driver, link.get_attribute("href"))
    assert answer["status"] == 200
    cues = parse_srt(answer["body"])
    assert overlap(spoken, " ".join(cue[2] for cue in cues)) >= 0.6
    # The audio answers range requests, so the player can seek.
    audio_path = driver.execute_script("return document.getElementById('player').getAttribute('src')")
    ranged = driver.execute_async_script(
        """const [path, done] = arguments;
        fetch(path, {headers: {Range: 'bytes=4-11'}}).then(async (r) => done({status: r.status, range: r.headers.get('Content-Range'),
          bytes: Array.from(new Uint8Array(await r.arrayBuffer()))}));""",
        audio_path,
    )
    assert ranged["status"] == 206 and ranged["range"].startswith("bytes 4-11/"), ranged
    assert bytes(ranged["bytes"])[4:8] == b"WAVE"
    return transcript


def cancel_from_list(driver, base: str, key: str, long_audio: Path, shots: Path) -> None:
    """A long job submitted through the API appears in the list by itself and is cancelled with its button."""
    driver.get(base + "/#/jobs")
    wait(lambda: css(driver, "#jobs-table tbody tr"), message="the job list")
    check_labels(driver, "jobs")
    with open(long_audio, "rb") as handle:
        response = requests.post(base + "/api/v1/transcribe", headers={"Authorization": f"Bearer {key}"}, files={"file": ("long.wav", handle)}, timeout=60)
    assert response.status_code == 202, response.text
    job_id = response.json()["data"]["transcriptionId"]
    button = wait(lambda: css(driver, f'tr[data-id="{job_id}"] button.cancel'), timeout=30, message="the new row's cancel button")[0]
    assert not css(driver, "#load-more")[0].is_displayed(), "one page of jobs offers no more"
    screenshot(driver, "jobs", shots)
    button.click()
    wait(lambda: css(driver, f'tr[data-id="{job_id}"][data-status="CANCELLED"]'), timeout=30, message="the row cancelled")
    status = requests.get(f"{base}/api/v1/status/{job_id}", headers={"Authorization": f"Bearer {key}"}, timeout=10).json()["data"]
    assert status["status"] == "CANCELLED"


def submit_from_url(driver, base: str, url: str) -> None:
    """Transcribes audio at a URL through the upload page's URL form; its row reaches completed without a reload."""
    driver.get(base + "/#/upload")
    wait(lambda: css(driver, "#audio-url"), message="the URL field")[0].send_keys(url)
    css(driver, "#url-form button[type=submit]")[0].click()
    name = url.rsplit("/", 1)[-1]
    wait(lambda: css(driver, f'.upload-item[data-file="{name}"][data-status="COMPLETED"]'), timeout=180, message="the URL's row completed")


def upload_batch(driver, base: str, files: list[Path], shots: Path) -> None:
    """Sends files as one batch from the upload page; the jobs page then shows them under one heading with a zip."""
    driver.get(base + "/#/upload")
    box = wait(lambda: css(driver, "#as-batch"), message="the batch option")[0]
    if not box.is_selected():
        box.click()
    css(driver, "#file-input")[0].send_keys("\n".join(str(path) for path in files))
    for path in files:
        wait(lambda: css(driver, f'.upload-item[data-file="{path.name}"][data-status="COMPLETED"]'), timeout=240,
             message=f"{path.name} completed in its batch")
    box = css(driver, "#as-batch")[0]
    if box.is_selected():
        box.click()  # later uploads go one by one again
    driver.get(base + "/#/jobs")
    header = wait(lambda: [row for row in css(driver, "tr.batch-group") if row.get_attribute("data-status") == "COMPLETED"],
                  message="the batch's heading, completed")[0]
    assert f"Batch of {len(files)} files" in header.text and "Download all (zip)" in header.text, header.text
    batch_id = header.get_attribute("data-batch")
    members = css(driver, f'tr[data-in-batch="{batch_id}"]')
    assert len(members) == len(files), "the batch's items are listed under its heading"
    rows = css(driver, "#jobs-table tbody tr")
    start = rows.index(header)
    assert rows[start + 1:start + 1 + len(files)] == members, "and right after it"
    screenshot(driver, "batch", shots)
    link = header.find_element("css selector", ".batch-zip a").get_attribute("href")
    answer = fetch(driver, link.replace(base, ""))
    assert answer["status"] == 200 and answer["body"].startswith("PK"), answer["status"]


def test_dashboard_end_to_end(server_factory, browser, speech, tmp_path):
    server = server_factory(env={"INTAKE_ALLOW_PRIVATE": "true"}).start()
    base, admin_key = server.base, server.bootstrap_key
    shots = tmp_path / "shots"
    page = requests.get(base + "/", timeout=10)
    policy = page.headers["Content-Security-Policy"]
    assert page.status_code == 200 and "script-src 'self'" in policy and "unsafe-inline" not in policy
    asset = requests.get(base + "/assets/app.js", timeout=10)
    assert asset.headers["ETag"] and asset.headers["Cache-Control"]
    assert requests.get(base + "/assets/app.js", headers={"If-None-Match": asset.headers["ETag"]}, timeout=10).status_code == 304

    browser.get(base + "/")
    wait(lambda: css(browser, "#api-key"), message="the sign-in form")
    assert not css(browser, "#top")[0].is_displayed(), "the menu shows before sign-in"
    screenshot(browser, "sign-in", shots)
    sign_in(browser, base, admin_key)
    # The key is in no page and no browser storage; the session cookie is HttpOnly and SameSite=Strict.
    assert admin_key not in browser.page_source
    assert admin_key not in browser.execute_script("return JSON.stringify(localStorage) + JSON.stringify(sessionStorage) + document.cookie")
    cookie = browser.get_cookie("wapi_session")
    assert cookie and cookie["httpOnly"] and cookie["sameSite"] == "Strict"

    upload_and_follow(browser, base, [speech["first"], speech["second"]], shots)
    check_detail(browser, base, speech["first"].name, FIRST_SPOKEN, shots)
    media = MediaServer({"from-url.wav": speech["second"]})
    try:
        submit_from_url(browser, base, media.base + "/from-url.wav")
    finally:
        media.stop()
    copies = []
    for index, source in enumerate((speech["first"], speech["second"])):
        copy = tmp_path / f"batch-part-{index}.wav"
        copy.write_bytes(source.read_bytes())
        copies.append(copy)
    upload_batch(browser, base, copies, shots)
    cancel_from_list(browser, base, admin_key, speech["long"], shots)

    # The server restarts under the open page: its stream reconnects by itself and catches up on what it missed.
    server.stop()
    server.start()
    with open(speech["second"], "rb") as handle:
        response = requests.post(base + "/api/v1/transcribe", headers={"Authorization": f"Bearer {admin_key}"}, files={"file": ("after-restart.wav", handle)}, timeout=60)
    assert response.status_code == 202, response.text
    new_id = response.json()["data"]["transcriptionId"]
    wait(lambda: css(browser, f'tr[data-id="{new_id}"][data-status="COMPLETED"]'), timeout=120, message="the row of a job sent after the restart")

    browser.get(base + "/#/usage")
    wait(lambda: css(browser, "svg.chart rect.bar"), message="the usage chart")
    assert browser.execute_script("return document.getElementById('quota-meter') === null || document.getElementById('quota-meter').value >= 0")
    screenshot(browser, "usage", shots)
    browser.get(base + "/#/settings")
    wait(lambda: css(browser, "#webhook-url"), message="the settings page")
    check_labels(browser, "settings")

    # An admin creates a user and a key in the UI; that key works against the API.
    browser.get(base + "/#/admin")
    wait(lambda: css(browser, '#queue-counts dd[data-state="waiting"]'), message="the queue counts")
    check_labels(browser, "admin")
    css(browser, "#new-user-email")[0].send_keys("listener@example.com")
    css(browser, "#new-user-form button[type=submit]")[0].click()
    wait(lambda: css(browser, 'tr[data-email="listener@example.com"]'), message="the new user's row")
    css(browser, ".keys-panel form button[type=submit]")[0].click()
    new_key = wait(lambda: css(browser, ".new-key") and css(browser, ".new-key")[0].text.strip(), message="the new key")
    screenshot(browser, "admin", shots)
    usage = requests.get(base + "/api/v1/usage", headers={"Authorization": f"Bearer {new_key}"}, timeout=10)
    assert usage.status_code == 200 and usage.json()["data"]["plan"] == "FREE"

    # Sign-out: the pages need the key again.
    css(browser, "#sign-out")[0].click()
    wait(lambda: css(browser, "#api-key"), message="the sign-in form after sign-out")
    browser.get(base + "/#/jobs")
    wait(lambda: css(browser, "#api-key"), message="the sign-in form on reload")
    assert not css(browser, "#top")[0].is_displayed()
    assert fetch(browser, "/api/v1/transcriptions")["status"] == 401

    # A FREE user sees no admin menu and is refused at the admin page and its API.
    sign_in(browser, base, new_key)
    assert not css(browser, "#nav-admin")[0].is_displayed()
    browser.get(base + "/#/admin")
    wait(lambda: "You do not have access" in browser.page_source, message="the admin page refused")
    assert fetch(browser, "/api/v1/admin/users")["status"] == 403

    # Revoking the key ends its session at once.
    prefix = re.match(r"(wapi_[A-Za-z0-9]{8})_", new_key).group(1)
    revoked = requests.delete(f"{base}/api/v1/admin/keys/{prefix}", headers={"Authorization": f"Bearer {admin_key}"}, timeout=10)
    assert revoked.status_code == 200
    assert fetch(browser, "/auth/session")["status"] == 401
    browser.refresh()
    wait(lambda: css(browser, "#api-key"), message="the sign-in form after the key was revoked")

    # Cross-site requests are refused: a form on another site posting to the API (no cookie goes with it), a
    # sign-in posted from another origin, and a request with the cookie but without the CSRF token.
    sign_in(browser, base, admin_key)
    session = browser.get_cookie("wapi_session")["value"]
    browser.get("data:text/html,<form id=f method=post action='" + base + "/api/v1/admin/queue/cleanup'></form><script>document.getElementById('f').submit()</script>")
    wait(lambda: "UNAUTHORIZED" in browser.page_source or "CROSS_SITE" in browser.page_source, message="the cross-site post refused")
    forged = requests.post(base + "/api/v1/admin/queue/cleanup", cookies={"wapi_session": session}, timeout=10)
    assert forged.status_code == 403 and forged.json()["error"]["code"] == "CSRF_TOKEN_INVALID"
    foreign = requests.post(base + "/auth/session", json={"key": admin_key}, headers={"Origin": "http://evil.example"}, timeout=10)
    assert foreign.status_code == 403 and foreign.json()["error"]["code"] == "CROSS_SITE_REQUEST"
    # Bearer access is unchanged.
    assert requests.get(base + "/api/v1/transcriptions", headers={"Authorization": f"Bearer {admin_key}"}, timeout=10).status_code == 200


def test_dashboard_on_postgres_redis_and_s3_with_a_standalone_worker(shared_env, server_factory, browser, speech, tmp_path):  # noqa: F811
    env = {**shared_env, "WHISPER_CPU_THREADS": "2"}
    server = server_factory(env=env, workers=0, data_dir=tmp_path / "api").start()
    worker = WorkerProcess(tmp_path / "api", env)
    try:
        sign_in(browser, server.base, server.bootstrap_key)
        upload_and_follow(browser, server.base, [speech["first"], speech["second"]], tmp_path)
        check_detail(browser, server.base, speech["first"].name, FIRST_SPOKEN, tmp_path)
        cancel_from_list(browser, server.base, server.bootstrap_key, speech["long"], tmp_path)
    finally:
        worker.stop(signal.SIGTERM)
