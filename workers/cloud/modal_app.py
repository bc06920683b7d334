"""Modal deployment of the cloud worker (workers/cloud/worker.py) on a GPU.

    modal secret create whisperapi REDIS_URL=rediss://… S3_BUCKET=… S3_REGION=… S3_ENDPOINT=… \\
        S3_ACCESS_KEY_ID=… S3_SECRET_ACCESS_KEY=… [QUEUE_PREFIX=bull] [S3_FORCE_PATH_STYLE=true]
    modal deploy workers/cloud/modal_app.py

Each container runs one long-lived bullmq Worker on the shared `transcription` queue, with the same
engine code and models as the Swift workers, on a GPU (WHISPER_DEVICE=cuda, float16). Containers
are kept warm (`min_containers`) because the worker pulls jobs from Redis instead of being called;
scale by raising `min_containers`/`max_containers` or QUEUE_CONCURRENCY. Modal stops a container
with SIGTERM, which lets its running jobs finish; a job cut off anyway is recovered by the stalled
sweep of any other worker, so none is lost.
"""
from __future__ import annotations

from pathlib import Path

import modal

REPOSITORY = Path(__file__).resolve().parents[2]
REMOTE = "/root/whisperapi"

#: GPU type, containers kept running, and jobs per container.
GPU = "A10G"
MIN_CONTAINERS = 1
MAX_CONTAINERS = 4
CONCURRENCY_PER_CONTAINER = "2"
#: The speaker model `make setup-diarization` exports. The image carries it when it is there, at the path the engine
#: looks for it, so the worker diarizes (on the container's CPU, beside the GPU's transcription) and advertises so.
DIARIZATION_MODEL = REPOSITORY / "models" / "campplus.onnx"

image = (
    modal.Image.debian_slim(python_version="3.11")
    # Exactly what the worker imports, pinned as in .venv: the engine (faster-whisper, the offline models), then
    # bullmq and boto3 (e2e/test_cloud_worker.py imports the worker in a virtualenv of just these).
    .pip_install_from_requirements(str(REPOSITORY / "requirements" / "engine.txt"))
    .pip_install_from_requirements(str(REPOSITORY / "requirements" / "cloud-worker.txt"))
    .env(
        {
            "WHISPER_DEVICE": "cuda",
            "WHISPER_COMPUTE_TYPE": "float16",
            "WHISPER_CACHE_DIR": "/root/whisper-models",
            "QUEUE_CONCURRENCY": CONCURRENCY_PER_CONTAINER,
            "PYTHONPATH": REMOTE,
        }
    )
    .add_local_dir(str(REPOSITORY / "engine"), f"{REMOTE}/engine")
    .add_local_dir(str(REPOSITORY / "workers"), f"{REMOTE}/workers")
)
if DIARIZATION_MODEL.is_file():
    image = image.add_local_file(str(DIARIZATION_MODEL), f"{REMOTE}/{DIARIZATION_MODEL.relative_to(REPOSITORY)}")

app = modal.App("whisperapi-cloud-worker", image=image)


@app.function(
    gpu=GPU,
    secrets=[modal.Secret.from_name("whisperapi", required_keys=["REDIS_URL", "S3_BUCKET"])],
    min_containers=MIN_CONTAINERS,
    max_containers=MAX_CONTAINERS,
    timeout=24 * 60 * 60,
    retries=modal.Retries(max_retries=10, initial_delay=5.0, backoff_coefficient=2.0),
)
def worker() -> None:
    """Runs the bullmq Worker until Modal stops the container."""
    import asyncio

    from workers.cloud.worker import Settings, run

    asyncio.run(run(Settings()))


@app.local_entrypoint()
def main() -> None:
    """`modal run workers/cloud/modal_app.py` starts one worker in the foreground, for a trial."""
    worker.remote()
