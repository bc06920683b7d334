"""JSON-lines server: one request per line on stdin, messages on stdout.

Request:  {"id": "...", "audio": "/path", "model": "tiny.en", "language": null,
           "task": "transcribe", "prompt": null, "word_timestamps": false}
Messages: {"type": "ready"} once at start, then per request any number of
          {"type": "progress", "id", "progress", "segment"} and exactly one of
          {"type": "result", "id", "result"} or {"type": "error", "id", "code", "message"}.
"""
from __future__ import annotations

import json
import os
import sys
from typing import Any

from .errors import BAD_REQUEST, INTERNAL, EngineError
from .runner import load_model
from .runner import transcribe


def _send(out, message: dict[str, Any]) -> None:
    out.write(json.dumps(message, separators=(",", ":")) + "\n")
    out.flush()


def serve(stdin=sys.stdin, stdout=sys.stdout) -> None:
    """Answers requests until stdin closes."""
    for name in filter(None, os.environ.get("WHISPER_PRELOAD", "").split(",")):
        try:
            load_model(name)
        except EngineError:
            pass
    _send(stdout, {"type": "ready", "pid": os.getpid()})
    for line in stdin:
        line = line.strip()
        if not line:
            continue
        request_id = None
        try:
            request = json.loads(line)
            if not isinstance(request, dict):
                raise EngineError(BAD_REQUEST, "request must be a JSON object")
            request_id = request.get("id")

            def progress(value: int, segment: dict[str, Any]) -> None:
                _send(stdout, {"type": "progress", "id": request_id, "progress": value, "segment": segment})

            result = transcribe(request, progress)
            _send(stdout, {"type": "result", "id": request_id, "result": result})
        except EngineError as error:
            _send(stdout, {"type": "error", "id": request_id, "code": error.code, "message": error.message})
        except json.JSONDecodeError:
            _send(stdout, {"type": "error", "id": None, "code": BAD_REQUEST, "message": "request is not valid JSON"})
        except Exception as error:  # never let one job kill the process
            _send(stdout, {"type": "error", "id": request_id, "code": INTERNAL, "message": f"{type(error).__name__}: {error}"})


def _die_with_parent() -> None:
    """On Linux, ask the kernel to kill this process when its parent (the worker) dies."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes
            import signal

            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except OSError:
            pass


if __name__ == "__main__":
    _die_with_parent()
    # Keep stdout for protocol messages only.
    protocol_out = os.fdopen(os.dup(sys.stdout.fileno()), "w")
    sys.stdout = sys.stderr
    serve(sys.stdin, protocol_out)
