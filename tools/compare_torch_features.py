#!/usr/bin/python3
"""Loads lpl's encoder weights (safetensors, the original's names) into the PyTorch network and compares
its per-layer pooled features (global average of each layer's output, evaluation mode) with ours on the
same input. --encoder picks the network:
  vgg (default): VGG-11 built as spec §1 (conv3x3 pad 1 -> ReLU -> [maxpool 2x2 after blocks 1, 2, 4, 6,
      8]), names network.encoder.blocks.<i>.module.0.*; 8 layers.
  alexnet: the original's AlexNetEncoder (models/encoders.py), blocks.<i> = nn.Sequential: conv11 s4 p2,
      ReLU, maxpool 3/2 | conv5 p2, ReLU, maxpool 3/2 | conv3 p1, ReLU | conv3 p1, ReLU | conv3 p2, ReLU,
      maxpool 3/2 | adaptive avg pool 6x6, dropout, conv6, ReLU | dropout, conv1, ReLU; 7 layers.
  resnet: the original's resnet50 (models/resnets.py) = torchvision's ResNet-50 with the bottlenecks' batch
      norms removed (nn.Identity here); the stem's and the downsample branches' batch norms run with their
      running statistics; one layer (layer4's output). Names network.encoder.<torchvision name>.
alexnet and resnet load the file's encoder tensors (all under network.encoder. but the projectors,
buffers included) with load_state_dict(strict=True).

    # 1. an input batch (deterministic), 2. our features (C++), 3. the comparison
    /usr/bin/python3 tools/compare_torch_features.py make-input x.safetensors --shape 4,3,32,32 --seed 7
    build/bin/vgg11_features --seed 24 --input x.safetensors --out ours.safetensors --save_weights w.safetensors
    /usr/bin/python3 tools/compare_torch_features.py compare --weights w.safetensors --input x.safetensors \
        --ours ours.safetensors --report report.json [--golden tests/data/runs/vgg11_torch_features.safetensors]

The reference runs in float64 (weights and input cast up), and also in float32. --golden writes the
input and the float64 features rounded to float32 (features.<k>, k = 0..7) as a small safetensors file for the C++ tests,
which then need no torch. Needs Debian's python3-torch (/usr/bin/python3); exits 1 when a layer's
relative error exceeds --rtol.

Regenerating the golden files of tests/runs/test_torch_features.cpp (byte for byte; the reports record
the files' base names, hence these names), from the repository root, B = the build's bin directory:

    T=$(mktemp -d); P=/usr/bin/python3; C=tools/compare_torch_features.py; D=tests/data/runs
    $P $C make-input $T/x4.safetensors --shape 4,3,32,32 --seed 7
    $P $C make-input $T/x2.safetensors --shape 2,3,32,32 --seed 7
    # VGG-11
    $B/vgg11_features --seed 24 --input $T/x4.safetensors --out $T/ours.safetensors \
        --save_weights $T/vgg11_seed24_init.safetensors
    $P $C compare --weights $T/vgg11_seed24_init.safetensors --input $T/x4.safetensors --ours $T/ours.safetensors \
        --report $D/vgg11_torch_features_report.json --golden $D/vgg11_torch_features.safetensors
    # AlexNet (batch 2 keeps the file under 100 KiB: two 4096-wide layers)
    $B/vgg11_features --encoder alexnet --seed 24 --input $T/x2.safetensors --out $T/alexnet_ours.safetensors \
        --save_weights $T/alexnet_seed24_init.safetensors
    $P $C compare --encoder alexnet --weights $T/alexnet_seed24_init.safetensors --input $T/x2.safetensors \
        --ours $T/alexnet_ours.safetensors --report $D/alexnet_torch_features_report.json \
        --golden $D/alexnet_torch_features.safetensors
    # ResNet-50
    $B/vgg11_features --encoder resnet --seed 24 --input $T/x4.safetensors --out $T/resnet50_ours.safetensors \
        --save_weights $T/resnet50_seed24_init.safetensors
    $P $C compare --encoder resnet --weights $T/resnet50_seed24_init.safetensors --input $T/x4.safetensors \
        --ours $T/resnet50_ours.safetensors --report $D/resnet50_torch_features_report.json \
        --golden $D/resnet50_torch_features.safetensors

After training (non-trivial weights and batch-norm running statistics; the *_trained_report.json files):

    $B/train_vgg11 --encoder resnet --train_end_to_end --dataset fashion-mnist --batch_size 8 --max_steps 3 \
        --warmup_epochs 0 --threads 2 --eval_every 0 --log_dir $T/train_resnet
    cp $T/train_resnet/*/*/*/checkpoints/last.safetensors $T/resnet50_fmnist_3steps.safetensors
    $B/vgg11_features --weights $T/resnet50_fmnist_3steps.safetensors --input $T/x2.safetensors \
        --out $T/resnet50_trained_ours.safetensors
    $P $C compare --encoder resnet --weights $T/resnet50_fmnist_3steps.safetensors --input $T/x2.safetensors \
        --ours $T/resnet50_trained_ours.safetensors --report $D/resnet50_torch_features_trained_report.json
    # the same for alexnet (layer-local: no --train_end_to_end; names alexnet_fmnist_3steps, alexnet_trained_ours)
    # random batch-norm affine parameters and running statistics on top of the trained file:
    $P $C perturb-bn $T/resnet50_fmnist_3steps.safetensors $T/resnet50_fmnist_3steps_bn_perturbed.safetensors --seed 5
    # ... then vgg11_features --weights and compare as above (report resnet50_torch_features_bn_perturbed_report.json)

Other input sizes (e.g. make-input --shape 2,3,224,224 or 2,3,67,67) exercise pooling windows that
32x32 leaves trivial (AlexNet's 6x6 adaptive average pool then averages overlapping windows)."""
import argparse
import copy
import json
import os
import struct
import sys
import tempfile

import numpy as np
import torch
import torchvision
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


# ---- The original's AlexNet encoder (models/encoders.py), written from its description ----------------
# blocks.<i> is an nn.Sequential; layer i's representation is the global average of block i's output.
ALEXNET = [  # block i's modules, given the input channels
    lambda c: [nn.Conv2d(c, 64, 11, stride=4, padding=2), nn.ReLU(), nn.MaxPool2d(3, 2)],
    lambda c: [nn.Conv2d(64, 192, 5, padding=2), nn.ReLU(), nn.MaxPool2d(3, 2)],
    lambda c: [nn.Conv2d(192, 384, 3, padding=1), nn.ReLU()],
    lambda c: [nn.Conv2d(384, 256, 3, padding=1), nn.ReLU()],
    lambda c: [nn.Conv2d(256, 256, 3, padding=2), nn.ReLU(), nn.MaxPool2d(3, 2)],
    lambda c: [nn.AdaptiveAvgPool2d((6, 6)), nn.Dropout(0.5), nn.Conv2d(256, 4096, 6), nn.ReLU()],
    lambda c: [nn.Dropout(0.5), nn.Conv2d(4096, 4096, 1), nn.ReLU()],
]


class AlexNetEncoder(nn.Module):
    def __init__(self, in_channels):
        super().__init__()
        self.blocks = nn.ModuleList(nn.Sequential(*f(in_channels)) for f in ALEXNET)

    def forward(self, x):
        feats = []
        for b in self.blocks:
            x = b(x.detach())
            feats.append(x.mean(dim=(2, 3)))
        return feats


# ---- The original's ResNet-50 (models/resnets.py): torchvision's, without the bottlenecks' batch norms --
class ResNet50Encoder(torchvision.models.resnet.ResNet):
    """torchvision's ResNet-50 whose Bottleneck bn1/bn2/bn3 are nn.Identity (the original's bottleneck
    has no batch norm; the stem's bn1 and the downsample branches' batch norms stay): the original's
    function and state_dict names (torchvision's, less the removed batch norms, fc kept). One layer:
    the global average of layer4's output."""

    def __init__(self, in_channels):
        super().__init__(torchvision.models.resnet.Bottleneck, [3, 4, 6, 3])
        if in_channels != 3:
            self.conv1 = nn.Conv2d(in_channels, 64, 7, stride=2, padding=3, bias=False)
        for stage in (self.layer1, self.layer2, self.layer3, self.layer4):
            for blk in stage:
                blk.bn1, blk.bn2, blk.bn3 = nn.Identity(), nn.Identity(), nn.Identity()

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return [x.mean(dim=(2, 3))]


ENCODERS = {"alexnet": (AlexNetEncoder, "network.encoder.blocks.0.0.weight"),
            "resnet": (ResNet50Encoder, "network.encoder.conv1.weight")}
ENCODER_PREFIX = "network.encoder."


def encoder_part(weights):
    # the encoder's own tensors: everything under network.encoder. except the projector MLPs
    return {k[len(ENCODER_PREFIX):]: v for k, v in weights.items()
            if k.startswith(ENCODER_PREFIX) and not k.startswith(ENCODER_PREFIX + "projectors.")}


def build_other(kind, weights):
    cls, first = ENCODERS[kind]
    if first not in weights:
        sys.exit(f"error: the weights file lacks {first}: not a {kind} weights file")
    enc = cls(weights[first].shape[1])
    sd = {k: torch.from_numpy(v) for k, v in encoder_part(weights).items()}
    try:
        enc.load_state_dict(sd, strict=True)  # every tensor (buffers too) named and shaped as the original's
    except RuntimeError as e:
        sys.exit(f"error: the weights do not load strictly into the PyTorch {kind} encoder: {e}")
    return enc.eval()


def other_features(enc, x, dtype):
    m = copy.deepcopy(enc).to(dtype).eval()  # num_batches_tracked stays int64
    with torch.no_grad():
        return [f.numpy() for f in m(torch.from_numpy(x).to(dtype))]


def cmd_make_input(a):
    shape = [int(s) for s in a.shape.split(",")]
    g = torch.Generator().manual_seed(a.seed)
    x = torch.rand(shape, generator=g, dtype=torch.float32) * 2 - 1  # like normalised images
    write_safetensors(a.out, {"input": x.numpy()}, {"seed": a.seed})
    print(f"wrote {a.out}: input {shape}")


def cmd_perturb_bn(a):
    # A copy of a weights file whose batch norms have random affine parameters and running statistics
    # (mean N(0, 0.5), var U(0.2, 3), weight U(0.5, 1.5), bias N(0, 0.2)): evaluation mode then
    # exercises every term of (x - mean) / sqrt(var + eps) * weight + bias.
    weights, meta = read_safetensors(a.weights)
    rng = np.random.default_rng(a.seed)
    n = 0
    for k, v in weights.items():
        if k.endswith(".running_var"):
            base = k[:-len(".running_var")]
            c = v.shape[0]
            weights[base + ".running_mean"] = rng.normal(0, 0.5, c).astype(v.dtype)
            weights[k] = rng.uniform(0.2, 3.0, c).astype(v.dtype)
            weights[base + ".weight"] = rng.uniform(0.5, 1.5, c).astype(v.dtype)
            weights[base + ".bias"] = rng.normal(0, 0.2, c).astype(v.dtype)
            n += 1
    if n == 0:
        sys.exit(f"error: {a.weights} has no batch norm")
    write_safetensors(a.out, weights, {**meta, "perturbed_bn_seed": a.seed})
    print(f"wrote {a.out}: {n} batch norms perturbed")


def cmd_compare(a):
    weights, wmeta = read_safetensors(a.weights)
    x = read_safetensors(a.input)[0]["input"].astype(np.float32)
    if a.encoder == "vgg":
        model = build(weights)
        ref64 = torch_features(model, x, torch.float64)
        ref32 = torch_features(model, x, torch.float32)
    else:
        enc = build_other(a.encoder, weights)
        ref64 = other_features(enc, x, torch.float64)
        ref32 = other_features(enc, x, torch.float32)
    ours = read_safetensors(a.ours)[0] if a.ours else None
    report = {"weights": os.path.basename(a.weights), "weights_metadata": wmeta, "input_shape": list(x.shape),
              "reference": "PyTorch %s, float64 (and float32) on the CPU" % torch.__version__, "layers": []}
    if a.encoder != "vgg":  # (VGG's report keeps its original fields)
        report = {"encoder": a.encoder, **report}
        report["ours"] = os.path.basename(a.ours) if a.ours else None
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
        meta = {"source": "tools/compare_torch_features.py", "weights": report["weights"],
                **{f"weights.{k}": v for k, v in wmeta.items()}}
        if a.encoder != "vgg":
            meta["encoder"] = a.encoder
        write_safetensors(a.golden, arr, meta)
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
    c.add_argument("--encoder", choices=["vgg", "alexnet", "resnet"], default="vgg")
    pb = sub.add_parser("perturb-bn")
    pb.add_argument("weights")
    pb.add_argument("out")
    pb.add_argument("--seed", type=int, default=5)
    a = ap.parse_args()
    {"make-input": cmd_make_input, "compare": cmd_compare, "perturb-bn": cmd_perturb_bn}[a.cmd](a)


if __name__ == "__main__":
    main()
