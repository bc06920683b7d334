"""Converts the installed CTranslate2 Whisper models into whisper.cpp's ggml files (f16, or q8_0 by option).

CTranslate2's ``model.bin`` is a serialized spec: a version, the spec's name, then named tensors with their dtype
and shape. Its Whisper tensors map one to one onto the layout whisper.cpp loads (OpenAI's names); only the fused
attention projections are split (query/key/value in self-attention in thirds, key/value in cross-attention in
halves), and the key projection has no bias on either side. The ggml file is: magic, eleven hyper-parameters,
the mel filter bank, the vocabulary's bytes up to ``<|endoftext|>`` (whisper.cpp adds the special tokens itself),
then every tensor with its dimensions (innermost first), name and data.

Usage: ``python -m engine.ggml [--quantize q8_0] [--out DIR] [MODEL ...]`` (default: every installed model).
"""
from __future__ import annotations

import argparse
import json
import os
import struct
import sys
from pathlib import Path

import numpy as np

from .errors import EngineError
from .models import installed_models, model_path

GGML_MAGIC = 0x67676D6C
#: ggml tensor types and whole-file types (ggml.h's GGML_TYPE_* and GGML_FTYPE_*).
TYPE_F32, TYPE_F16, TYPE_Q8_0 = 0, 1, 8
FILE_TYPES = {"f16": 1, "q8_0": 7}
#: CTranslate2's dtype ids (ctranslate2/specs/model_spec.py) for the two we convert.
CT2_DTYPES = {0: np.float32, 4: np.float16}
CT2_DTYPE_NAMES = {0: "float32", 1: "int8", 2: "int16", 3: "int32", 4: "float16", 5: "bfloat16"}
#: Tensors whisper.cpp keeps in float32 whatever the file type.
FLOAT32_NAMES = {"encoder.conv1.bias", "encoder.conv2.bias", "encoder.positional_embedding", "decoder.positional_embedding"}
Q8_BLOCK = 32


class ConversionError(Exception):
    """The model cannot be converted (a clear message for the user)."""


def default_output_dir() -> Path:
    """WHISPER_GGML_DIR, or the repository's ``models/`` folder (the Swift worker looks there too)."""
    configured = os.environ.get("WHISPER_GGML_DIR")
    return Path(configured) if configured else Path(__file__).resolve().parent.parent / "models"


def output_name(model: str, quantize: str) -> str:
    """The file a model converts to: ``ggml-tiny.en.bin``, or ``ggml-tiny.en-q8_0.bin``."""
    return f"ggml-{model}.bin" if quantize == "f16" else f"ggml-{model}-{quantize}.bin"


# MARK: - Reading CTranslate2


class _Reader:
    def __init__(self, data: bytes):
        self.data = memoryview(data)
        self.offset = 0

    def take(self, size: int) -> memoryview:
        if self.offset + size > len(self.data):
            raise ConversionError("model.bin ends early: the file is truncated")
        chunk = self.data[self.offset:self.offset + size]
        self.offset += size
        return chunk

    def unpack(self, fmt: str):
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt)))[0]

    def string(self) -> str:
        length = self.unpack("H")
        return bytes(self.take(length)).rstrip(b"\0").decode("utf-8")


def read_ct2(path: Path) -> dict[str, np.ndarray]:
    """The tensors of a CTranslate2 ``model.bin`` (aliases resolved), by name. Refuses dtypes other than f16/f32
    for tensors that whisper.cpp needs."""
    reader = _Reader(path.read_bytes())
    version = reader.unpack("I")
    if version < 5:
        raise ConversionError(f"{path}: CTranslate2 model format {version} is older than this converter reads (5+)")
    spec = reader.string()
    if "whisper" not in spec.lower():
        raise ConversionError(f"{path}: a '{spec}' model, not a Whisper model")
    reader.unpack("I")  # revision
    tensors: dict[str, np.ndarray] = {}
    for _ in range(reader.unpack("I")):
        name = reader.string()
        shape = tuple(reader.unpack("I") for _ in range(reader.unpack("B")))
        dtype_id = reader.unpack("B")
        raw = reader.take(reader.unpack("I"))
        if dtype_id in CT2_DTYPES:
            tensors[name] = np.frombuffer(raw, dtype=CT2_DTYPES[dtype_id]).reshape(shape)
        elif _is_weight(name):
            dtype = CT2_DTYPE_NAMES.get(dtype_id, f"dtype {dtype_id}")
            raise ConversionError(f"{path}: tensor {name} is {dtype}; only float16 and float32 models convert "
                                  "(convert the model again with --quantization float16)")
        elif dtype_id in (1, 2, 3) and not shape:
            tensors[name] = np.frombuffer(raw, dtype={1: np.int8, 2: np.int16, 3: np.int32}[dtype_id]).reshape(())
    if reader.offset < len(reader.data):
        for _ in range(reader.unpack("I")):
            alias, target = reader.string(), reader.string()
            if target in tensors:
                tensors[alias] = tensors[target]
    return tensors


def _is_weight(name: str) -> bool:
    return name.rsplit("/", 1)[-1] in {"weight", "bias", "gamma", "beta", "encodings"}


# MARK: - Mapping to whisper.cpp's names


def _layers(tensors: dict[str, np.ndarray], side: str) -> int:
    count = 0
    while f"{side}/layer_{count}/ffn/linear_0/weight" in tensors:
        count += 1
    return count


def openai_tensors(ct2: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The model's tensors under OpenAI's names, in the order whisper.cpp's own converter writes them."""
    out: dict[str, np.ndarray] = {}

    def get(name: str) -> np.ndarray:
        if name not in ct2:
            raise ConversionError(f"the model has no tensor {name}: not a CTranslate2 Whisper model")
        return ct2[name]

    def norm(target: str, source: str) -> None:
        out[f"{target}.weight"] = get(f"{source}/gamma")
        out[f"{target}.bias"] = get(f"{source}/beta")

    def linear(target: str, source: str, bias: bool = True) -> None:
        out[f"{target}.weight"] = get(f"{source}/weight")
        if bias:
            out[f"{target}.bias"] = get(f"{source}/bias")

    def split(targets: list[str], source: str) -> None:
        """A fused projection, cut into equal parts by output rows; the key part has no bias."""
        weights = np.split(get(f"{source}/weight"), len(targets))
        biases = np.split(get(f"{source}/bias"), len(targets))
        for target, weight, bias in zip(targets, weights, biases):
            out[f"{target}.weight"] = weight
            if not target.endswith(".key"):
                out[f"{target}.bias"] = bias

    def block(name: str, layer: str, cross: bool) -> None:
        """One transformer block: self-attention, cross-attention (decoder), then the MLP."""
        norm(f"{name}.attn_ln", f"{layer}/self_attention/layer_norm")
        split([f"{name}.attn.query", f"{name}.attn.key", f"{name}.attn.value"], f"{layer}/self_attention/linear_0")
        linear(f"{name}.attn.out", f"{layer}/self_attention/linear_1")
        if cross:
            norm(f"{name}.cross_attn_ln", f"{layer}/attention/layer_norm")
            linear(f"{name}.cross_attn.query", f"{layer}/attention/linear_0")
            split([f"{name}.cross_attn.key", f"{name}.cross_attn.value"], f"{layer}/attention/linear_1")
            linear(f"{name}.cross_attn.out", f"{layer}/attention/linear_2")
        norm(f"{name}.mlp_ln", f"{layer}/ffn/layer_norm")
        linear(f"{name}.mlp.0", f"{layer}/ffn/linear_0")
        linear(f"{name}.mlp.2", f"{layer}/ffn/linear_1")

    out["encoder.positional_embedding"] = get("encoder/position_encodings/encodings")
    linear("encoder.conv1", "encoder/conv1")
    linear("encoder.conv2", "encoder/conv2")
    for i in range(_layers(ct2, "encoder")):
        block(f"encoder.blocks.{i}", f"encoder/layer_{i}", cross=False)
    norm("encoder.ln_post", "encoder/layer_norm")

    out["decoder.positional_embedding"] = get("decoder/position_encodings/encodings")
    out["decoder.token_embedding.weight"] = get("decoder/embeddings/weight")
    for i in range(_layers(ct2, "decoder")):
        block(f"decoder.blocks.{i}", f"decoder/layer_{i}", cross=True)
    norm("decoder.ln", "decoder/layer_norm")
    return out


def _heads(ct2: dict[str, np.ndarray], side: str, width: int) -> int:
    stored = ct2.get(f"{side}/num_heads")
    return int(stored) if stored is not None else width // 64


def hyperparameters(ct2: dict[str, np.ndarray], tensors: dict[str, np.ndarray], quantize: str) -> list[int]:
    """whisper.cpp's eleven header integers, in its order."""
    audio_ctx, audio_state = tensors["encoder.positional_embedding"].shape
    text_ctx, text_state = tensors["decoder.positional_embedding"].shape
    return [
        tensors["decoder.token_embedding.weight"].shape[0], audio_ctx, audio_state,
        _heads(ct2, "encoder", audio_state), _layers(ct2, "encoder"), text_ctx, text_state,
        _heads(ct2, "decoder", text_state), _layers(ct2, "decoder"), tensors["encoder.conv1.weight"].shape[1],
        FILE_TYPES[quantize],
    ]


# MARK: - Vocabulary and mel filters


def _unicode_to_byte() -> dict[str, int]:
    """GPT-2's byte-level BPE alphabet, reversed: printable bytes stand for themselves, the others for 256 + n."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    table = {chr(b): b for b in printable}
    shifted = 0
    for b in range(256):
        if b not in printable:
            table[chr(256 + shifted)] = b
            shifted += 1
    return table


def vocabulary(model_dir: Path) -> list[bytes]:
    """The regular tokens (ids below ``<|endoftext|>``) as bytes."""
    if (model_dir / "vocabulary.json").exists():
        tokens = json.loads((model_dir / "vocabulary.json").read_text(encoding="utf-8"))
    elif (model_dir / "vocabulary.txt").exists():
        tokens = (model_dir / "vocabulary.txt").read_text(encoding="utf-8").split("\n")
    else:
        raise ConversionError(f"{model_dir}: no vocabulary.json or vocabulary.txt")
    if "<|endoftext|>" not in tokens:
        raise ConversionError(f"{model_dir}: the vocabulary has no <|endoftext|> token")
    alphabet = _unicode_to_byte()
    return [bytes(alphabet[char] for char in token) for token in tokens[:tokens.index("<|endoftext|>")]]


def mel_filters(n_mels: int) -> np.ndarray:
    """The mel filter bank Whisper's features use (the one faster-whisper computes), as float32 [n_mels, 201]."""
    from faster_whisper.feature_extractor import FeatureExtractor

    return np.asarray(FeatureExtractor.get_mel_filters(16000, 400, n_mels=n_mels), dtype=np.float32)


# MARK: - Writing ggml


def quantize_q8_0(matrix: np.ndarray) -> bytes:
    """Rows cut into blocks of 32 values, each stored as a float16 scale and 32 int8s (ggml's block_q8_0)."""
    blocks = matrix.astype(np.float32).reshape(-1, Q8_BLOCK)
    scale = np.abs(blocks).max(axis=1) / 127.0
    inverse = np.divide(1.0, scale, out=np.zeros_like(scale), where=scale > 0)
    values = np.round(blocks * inverse[:, None]).astype(np.int8)
    packed = np.empty(len(blocks), dtype=[("d", "<f2"), ("qs", "i1", (Q8_BLOCK,))])
    packed["d"] = scale.astype(np.float16)
    packed["qs"] = values
    return packed.tobytes()


def _tensor_bytes(name: str, data: np.ndarray, quantize: str) -> tuple[int, bytes]:
    if data.ndim < 2 or name in FLOAT32_NAMES:
        return TYPE_F32, data.astype("<f4").tobytes()
    if quantize == "q8_0" and data.ndim == 2 and data.shape[1] % Q8_BLOCK == 0:
        return TYPE_Q8_0, quantize_q8_0(data)
    return TYPE_F16, data.astype("<f2").tobytes()


def convert(model: str, out_dir: Path, quantize: str = "f16") -> Path:
    """Writes the ggml file for one installed model (atomically) and returns its path; an existing newer file is
    kept."""
    source = Path(model_path(model))
    target = out_dir / output_name(model, quantize)
    if target.exists() and target.stat().st_mtime >= (source / "model.bin").stat().st_mtime:
        return target
    ct2 = read_ct2(source / "model.bin")
    tensors = openai_tensors(ct2)
    tensors["encoder.conv1.bias"] = tensors["encoder.conv1.bias"].reshape(-1, 1)
    tensors["encoder.conv2.bias"] = tensors["encoder.conv2.bias"].reshape(-1, 1)
    params = hyperparameters(ct2, tensors, quantize)
    filters = mel_filters(params[9])
    tokens = vocabulary(source)
    out_dir.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f"{target.name}.{os.getpid()}.tmp")
    with open(partial, "wb") as out:
        out.write(struct.pack("<i", GGML_MAGIC))
        out.write(struct.pack("<11i", *params))
        out.write(struct.pack("<2i", *filters.shape))
        out.write(filters.astype("<f4").tobytes())
        out.write(struct.pack("<i", len(tokens)))
        for token in tokens:
            out.write(struct.pack("<I", len(token)) + token)
        for name, data in tensors.items():
            kind, payload = _tensor_bytes(name, data, quantize)
            encoded = name.encode("utf-8")
            out.write(struct.pack("<3i", data.ndim, len(encoded), kind))
            out.write(struct.pack(f"<{data.ndim}i", *reversed(data.shape)))
            out.write(encoded)
            out.write(payload)
    os.replace(partial, target)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="*", help="models to convert (default: every installed one)")
    parser.add_argument("--quantize", choices=sorted(FILE_TYPES), default="f16")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: WHISPER_GGML_DIR or models/)")
    args = parser.parse_args(argv)
    out_dir = args.out or default_output_dir()
    try:
        for model in args.models or installed_models():
            print(f"==> ggml: {convert(model, out_dir, args.quantize)}")
    except (ConversionError, EngineError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
