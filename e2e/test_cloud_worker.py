"""The cloud worker's settings and the Modal app definition (Modal itself cannot be reached from here)."""
from __future__ import annotations

import importlib.util
import re

import pytest

from e2e.support import ROOT
from engine import diarize


def load(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "workers" / "cloud" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_settings_need_redis_and_a_bucket_and_read_the_shared_variables():
    worker = load("worker")
    with pytest.raises(SystemExit, match="REDIS_URL"):
        worker.Settings({"S3_BUCKET": "b"})
    with pytest.raises(SystemExit, match="S3_BUCKET"):
        worker.Settings({"REDIS_URL": "redis://127.0.0.1:6379"})
    settings = worker.Settings(
        {"REDIS_URL": "redis://r:6379", "S3_BUCKET": "b", "S3_FORCE_PATH_STYLE": "true", "QUEUE_CONCURRENCY": "3", "QUEUE_PREFIX": "wq"}
    )
    assert (settings.prefix, settings.concurrency, settings.path_style, settings.region) == ("wq", 3, True, "us-east-1")
    assert worker.result_key("USER-1", "ABC") == "results/user-1/abc.json"
    assert worker.canonical_json({"b": None, "a": [{"z": 1, "y": None}]}) == b'{"a":[{"z":1}]}'


def test_the_modal_app_imports_and_defines_a_gpu_worker():
    modal_app = load("modal_app")
    assert modal_app.app.name == "whisperapi-cloud-worker"
    import modal

    assert isinstance(modal_app.worker, modal.Function)
    assert modal_app.GPU and modal_app.MIN_CONTAINERS >= 1
    # The image carries the speaker model where the engine looks for it (the image mirrors the repository's layout).
    assert modal_app.DIARIZATION_MODEL == diarize.DEFAULT_MODEL


def test_the_worker_imports_in_a_virtualenv_of_exactly_the_images_requirements(tmp_path):
    """The Modal image installs requirements/engine.txt and requirements/cloud-worker.txt and nothing else."""
    import subprocess
    import sys

    modal_app = (ROOT / "workers" / "cloud" / "modal_app.py").read_text()
    named = sorted(set(re.findall(r'"requirements" / "([\w.-]+)"', modal_app)))
    assert named == ["cloud-worker.txt", "engine.txt"], named
    venv = tmp_path / "image-venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    install = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    for name in named:
        install += ["-r", str(ROOT / "requirements" / name)]
    subprocess.run(install, check=True, timeout=900)
    probe = (
        "import importlib.util, sys; sys.path.insert(0, sys.argv[1]);"
        "spec = importlib.util.spec_from_file_location('worker', sys.argv[1] + '/workers/cloud/worker.py');"
        "module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module);"
        "import faster_whisper, bullmq, boto3; print('imported', module.Settings.__name__)"
    )
    done = subprocess.run([str(python), "-c", probe, str(ROOT)], capture_output=True, text=True, timeout=120, env={"PATH": "/usr/bin:/bin"})
    assert done.returncode == 0 and "imported Settings" in done.stdout, done.stdout + done.stderr
