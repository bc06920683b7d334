"""The CTranslate2 -> ggml converter (engine/ggml.py): its pieces on known values, and a whole model read back."""
from __future__ import annotations

import struct

import numpy as np
import pytest

from engine import ggml
from engine.models import model_path


def write_ct2(path, tensors: dict[str, tuple[int, np.ndarray]]) -> None:
    """A model.bin in CTranslate2's format (version 6) holding `tensors` (name -> (dtype id, array))."""

    def string(value: str) -> bytes:
        return struct.pack("<H", len(value) + 1) + value.encode() + b"\0"

    out = struct.pack("<I", 6) + string("WhisperSpec") + struct.pack("<I", 3) + struct.pack("<I", len(tensors))
    for name, (dtype, array) in tensors.items():
        out += string(name) + struct.pack("<B", array.ndim) + struct.pack(f"<{array.ndim}I", *array.shape)
        out += struct.pack("<B", dtype) + struct.pack("<I", array.nbytes) + array.tobytes()
    path.write_bytes(out + struct.pack("<I", 1) + string("decoder/projection/weight") + string("decoder/embeddings/weight"))


def test_reads_float_tensors_and_aliases_and_refuses_int8_weights(tmp_path):
    path = tmp_path / "model.bin"
    embeddings = np.arange(12, dtype=np.float16).reshape(3, 4)
    write_ct2(path, {"decoder/embeddings/weight": (4, embeddings), "encoder/num_heads": (2, np.array(6, dtype=np.int16))})
    tensors = ggml.read_ct2(path)
    assert np.array_equal(tensors["decoder/projection/weight"], embeddings)
    assert int(tensors["encoder/num_heads"]) == 6
    write_ct2(path, {"decoder/embeddings/weight": (1, np.ones((3, 4), dtype=np.int8))})
    with pytest.raises(ggml.ConversionError, match="int8; only float16 and float32"):
        ggml.read_ct2(path)
    path.write_bytes(path.read_bytes()[:40])
    with pytest.raises(ggml.ConversionError):
        ggml.read_ct2(path)


def test_fused_projections_split_into_thirds_and_halves_without_a_key_bias():
    width = 4
    fused = {
        "encoder/position_encodings/encodings": np.zeros((2, width)), "decoder/position_encodings/encodings": np.zeros((2, width)),
        "decoder/embeddings/weight": np.zeros((5, width)),
    }
    for side in ("encoder", "decoder"):
        fused[f"{side}/conv1/weight"] = fused[f"{side}/conv1/bias"] = np.zeros(1)
        fused[f"{side}/conv2/weight"] = fused[f"{side}/conv2/bias"] = np.zeros(1)
        fused[f"{side}/layer_norm/gamma"] = fused[f"{side}/layer_norm/beta"] = np.zeros(width)
        layer = f"{side}/layer_0"
        for part in ("self_attention", "ffn", "attention"):
            fused[f"{layer}/{part}/layer_norm/gamma"] = fused[f"{layer}/{part}/layer_norm/beta"] = np.zeros(width)
        fused[f"{layer}/self_attention/linear_0/weight"] = np.repeat(np.arange(3.0), width)[:, None] * np.ones((3 * width, width)) / width
        fused[f"{layer}/self_attention/linear_0/bias"] = np.repeat(np.arange(3.0), width)
        fused[f"{layer}/attention/linear_1/weight"] = np.repeat(np.arange(2.0), width)[:, None] * np.ones((2 * width, width))
        fused[f"{layer}/attention/linear_1/bias"] = np.repeat(np.arange(2.0), width)
        for linear in ("self_attention/linear_1", "ffn/linear_0", "ffn/linear_1", "attention/linear_0", "attention/linear_2"):
            fused[f"{layer}/{linear}/weight"], fused[f"{layer}/{linear}/bias"] = np.zeros((width, width)), np.zeros(width)
    out = ggml.openai_tensors(fused)
    assert np.all(out["encoder.blocks.0.attn.query.bias"] == 0) and np.all(out["encoder.blocks.0.attn.value.bias"] == 2)
    assert out["encoder.blocks.0.attn.key.weight"].shape == (width, width) and "encoder.blocks.0.attn.key.bias" not in out
    assert np.all(out["decoder.blocks.0.cross_attn.value.weight"] == 1) and "decoder.blocks.0.cross_attn.key.bias" not in out
    assert list(out)[:3] == ["encoder.positional_embedding", "encoder.conv1.weight", "encoder.conv1.bias"]


def test_byte_level_tokens_become_bytes_and_q8_0_keeps_values_close(tmp_path):
    (tmp_path / "vocabulary.txt").write_text("\n".join(["Ġhello", "Ċ", "Ã©", "<|endoftext|>", "<|startoftranscript|>"]))
    assert ggml.vocabulary(tmp_path) == [b" hello", b"\n", "é".encode()]
    matrix = np.random.default_rng(1).normal(size=(4, 64)).astype(np.float32)
    packed = np.frombuffer(ggml.quantize_q8_0(matrix), dtype=[("d", "<f2"), ("qs", "i1", (32,))])
    restored = (packed["d"].astype(np.float32)[:, None] * packed["qs"]).reshape(4, 64)
    assert np.abs(restored - matrix).max() < np.abs(matrix).max() / 100


def test_the_installed_model_converts_to_a_ggml_file_whisper_cpp_reads(tmp_path):
    target = ggml.convert("tiny.en", tmp_path, "f16")
    data = target.read_bytes()
    magic, *params = struct.unpack_from("<12i", data)
    assert magic == ggml.GGML_MAGIC
    assert params == [51864, 1500, 384, 6, 4, 448, 384, 6, 4, 80, 1]
    n_mel, n_fft = struct.unpack_from("<2i", data, 48)
    assert (n_mel, n_fft) == (80, 201)
    offset = 56 + n_mel * n_fft * 4
    (tokens,) = struct.unpack_from("<i", data, offset)
    assert tokens == 50256, "the regular tokens, up to <|endoftext|>"
    assert ggml.convert("tiny.en", tmp_path, "f16") == target and target.stat().st_size == len(data), "a second run keeps the file"
    assert ggml.main(["--out", str(tmp_path), "no-such-model"]) == 2, "an unknown model is a clear error, not a traceback"
    assert model_path("tiny.en")
