#!/usr/bin/python3
"""Loads lpl's VGG-11 weights (safetensors, names of spec §6b) into a PyTorch VGG-11 built as spec §1
(conv3x3 pad 1 -> ReLU -> [maxpool 2x2 after blocks 1, 2, 4, 6, 8], pooled features = global
average of each block output) and compares its per-layer pooled features with ours on the same input.

    # 1. an input batch (deterministic), 2. our features (C++), 3. the comparison
    /usr/bin/python3 tools/compare_torch_features.py make-input x.safetensors --shape 4,3,32,32 --seed 7
    build/bin/vgg11_features --seed 24 --input x.safetensors --out ours.safetensors --save_weights w.safetensors
    /usr/bin/python3 tools/compare_torch_features.py compare --weights w.safetensors --input x.safetensors \\
        --ours ours.safetensors --report report.json [--golden tests/data/runs/vgg11_torch_features.safetensors]

The reference runs in float64 (weights and input cast up), and also in float32. --golden writes the
input and the float64 features rounded to float32 (features.<k>, k = 0..7) as a small safetensors file for the C++ tests,
which then need no torch. Needs Debian's python3-torch (/usr/bin/python3); exits 1 when a layer's
relative error exceeds --rtol."""
import argparse
import json
import os
import struct
import sys
import tempfile

import numpy as np
import torch
from torch import nn

CHANNELS = [64, 128, 256, 256, 512, 512, 512, 512]
POOL = [True, True, False, True, False, True, False, True]
NP_DTYPE = {"F32": np.float32, "F64": np.float64, "I32": np.int32, "I64": np.int64, "U8": np.uint8}
ST_DTYPE = {np.dtype(np.float32): "F32", np.dtype(np.float64): "F64", np.dtype(np.int64): "I64"}


# ---- safetensors without the safetensors package (Debian has none) -----------------------------------
def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    meta = header.pop("__metadata__", {})
    base = 8 + n
    out = {}
    for name, e in header.items():
        b, end = e["data_offsets"]
        out[name] = np.frombuffer(data[base + b:base + end], dtype=NP_DTYPE[e["dtype"]]).reshape(e["shape"]).copy()
    return out, meta


def write_safetensors(path, arrays, metadata=None):
    header, offset, blobs = {}, 0, []
    if metadata:
        header["__metadata__"] = {k: str(v) for k, v in metadata.items()}
    for name, a in arrays.items():
        shape = list(np.shape(a))  # (np.ascontiguousarray makes a 0-d array 1-d: num_batches_tracked is [])
        a = np.ascontiguousarray(a)
        b = a.tobytes()
        header[name] = {"dtype": ST_DTYPE[a.dtype], "shape": shape, "data_offsets": [offset, offset + len(b)]}
        offset += len(b)
        blobs.append(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(path)), prefix="." + os.path.basename(path) + ".tmp")
    with os.fdopen(fd, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
        f.flush()
        os.fsync(f.fileno())
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


# ---- The network of spec §1, with the original's module names ----------------------------------------
class Block(nn.Module):
    def __init__(self, cin, cout, pool, bias):
        super().__init__()
        layers = [nn.Conv2d(cin, cout, 3, padding=1, bias=bias), nn.ReLU()]
        if pool:
            layers.append(nn.MaxPool2d(2, 2))
        self.module = nn.Sequential(*layers)  # state_dict: blocks.<i>.module.0.weight|bias

    def forward(self, x):
        return self.module(x)


class Encoder(nn.Module):
    def __init__(self, in_channels, bias):
        super().__init__()
        cins = [in_channels] + CHANNELS[:-1]
        self.blocks = nn.ModuleList(Block(ci, co, p, bias) for ci, co, p in zip(cins, CHANNELS, POOL))

    def forward(self, x):
        feats = []
        for b in self.blocks:
            x = b(x.detach())  # layer-local: no gradient crosses a block (irrelevant for inference)
            feats.append(x.mean(dim=(2, 3)))
        return feats


class Network(nn.Module):
    def __init__(self, in_channels, bias):
        super().__init__()
        self.encoder = Encoder(in_channels, bias)


class Model(nn.Module):  # so that names read network.encoder.blocks.<i>.module.0.*
    def __init__(self, in_channels, bias):
        super().__init__()
        self.network = Network(in_channels, bias)


def build(weights):
    w0 = weights["network.encoder.blocks.0.module.0.weight"]
    bias = "network.encoder.blocks.0.module.0.bias" in weights
    model = Model(w0.shape[1], bias)
    encoder_keys = {k: v for k, v in weights.items() if k.startswith("network.encoder.blocks.")}
    missing, unexpected = model.load_state_dict({k: torch.from_numpy(v) for k, v in encoder_keys.items()}, strict=False)
    if missing:
        sys.exit(f"error: the weights file lacks {missing}")
    if unexpected:
        sys.exit(f"error: unexpected encoder tensors {unexpected}")
    return model.eval()


def torch_features(model, x, dtype):
    m = Model(x.shape[1], model.network.encoder.blocks[0].module[0].bias is not None)
    m.load_state_dict(model.state_dict())
    m = m.to(dtype)
    with torch.no_grad():
        return [f.numpy() for f in m.network.encoder(torch.from_numpy(x).to(dtype))]


def cmd_make_input(a):
    shape = [int(s) for s in a.shape.split(",")]
    g = torch.Generator().manual_seed(a.seed)
    x = torch.rand(shape, generator=g, dtype=torch.float32) * 2 - 1  # like normalised images
    write_safetensors(a.out, {"input": x.numpy()}, {"seed": a.seed})
    print(f"wrote {a.out}: input {shape}")


def cmd_compare(a):
    weights, wmeta = read_safetensors(a.weights)
    x = read_safetensors(a.input)[0]["input"].astype(np.float32)
    model = build(weights)
    ref64 = torch_features(model, x, torch.float64)
    ref32 = torch_features(model, x, torch.float32)
    ours = read_safetensors(a.ours)[0] if a.ours else None
    report = {"weights": os.path.basename(a.weights), "weights_metadata": wmeta, "input_shape": list(x.shape),
              "reference": "PyTorch %s, float64 (and float32) on the CPU" % torch.__version__, "layers": []}
    worst = 0.0
    for k, r in enumerate(ref64):
        row = {"layer": k + 1, "shape": list(r.shape), "ref_abs_max": float(np.abs(r).max()),
               "torch_f32_vs_f64_max_rel": rel(ref32[k], r)}
        if ours is not None:
            o = ours[f"features.{k}"]
            if list(o.shape) != list(r.shape):
                sys.exit(f"error: features.{k} has shape {list(o.shape)}, PyTorch gives {list(r.shape)}")
            row["ours_vs_f64_max_rel"] = rel(o, r)
            row["ours_vs_f64_max_abs"] = float(np.abs(o.astype(np.float64) - r).max())
            worst = max(worst, row["ours_vs_f64_max_rel"])
        report["layers"].append(row)
    report["rtol"] = a.rtol
    report["ours_worst_max_rel"] = worst if ours is not None else None
    report["pass"] = bool(ours is None or worst <= a.rtol)
    text = json.dumps(report, indent=1)
    if a.report:
        with open(a.report, "w") as f:
            f.write(text + "\n")
    print(text)
    if a.golden:
        arr = {"input": x}
        for k, r in enumerate(ref64):
            arr[f"features.{k}"] = r.astype(np.float32)  # our reader has no F64; rounding adds <= 6e-8
        write_safetensors(a.golden, arr, {"source": "tools/compare_torch_features.py", "weights": report["weights"],
                                          **{f"weights.{k}": v for k, v in wmeta.items()}})
        print(f"wrote {a.golden}")
    sys.exit(0 if report["pass"] else 1)


def rel(a, ref):
    # max |a - ref| / (max |ref| of that layer): robust for features near 0 (ReLU outputs)
    scale = max(float(np.abs(ref).max()), 1e-30)
    return float(np.abs(a.astype(np.float64) - ref.astype(np.float64)).max() / scale)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    mi = sub.add_parser("make-input")
    mi.add_argument("out")
    mi.add_argument("--shape", default="4,3,32,32")
    mi.add_argument("--seed", type=int, default=7)
    c = sub.add_parser("compare")
    c.add_argument("--weights", required=True)
    c.add_argument("--input", required=True)
    c.add_argument("--ours")
    c.add_argument("--report")
    c.add_argument("--golden")
    c.add_argument("--rtol", type=float, default=1e-4)
    a = ap.parse_args()
    {"make-input": cmd_make_input, "compare": cmd_compare}[a.cmd](a)


if __name__ == "__main__":
    main()
