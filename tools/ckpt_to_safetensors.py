#!/usr/bin/python3
"""Converts a PyTorch Lightning checkpoint of the authors' code (lpl_main.py, *.ckpt) into lpl's
safetensors weights, so their trained networks can be evaluated here (eval_linear --weights).

    /usr/bin/python3 tools/ckpt_to_safetensors.py epoch=799-step=31200.ckpt out.safetensors

Needs Debian's python3-torch (/usr/bin/python3). Keeps every floating-point tensor of the
checkpoint's state_dict under its own name (network.encoder.blocks.<i>.module.0.weight, ...),
as float32, and the int64 batch-norm counters (ResNet-50's num_batches_tracked) as int64; epoch and
global_step go into the file's metadata. Works for the VGG-11, AlexNet and ResNet-50 encoders. Writes atomically; refuses to
overwrite an existing output unless --force."""
import argparse
import json
import os
import struct
import sys
import tempfile

import torch


def write_safetensors(path, tensors, metadata):
    header, offset, blobs = {}, 0, []
    if metadata:
        header["__metadata__"] = {k: str(v) for k, v in metadata.items()}
    for name, t in tensors.items():
        is_int = t.dtype == torch.int64
        b = t.detach().to(torch.int64 if is_int else torch.float32).contiguous().cpu().numpy().tobytes()
        header[name] = {"dtype": "I64" if is_int else "F32", "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(b)]}
        offset += len(b)
        blobs.append(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    d = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=d, prefix="." + os.path.basename(path) + ".tmp")
    with os.fdopen(fd, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("ckpt")
    ap.add_argument("out")
    ap.add_argument("--force", action="store_true", help="overwrite an existing output file")
    a = ap.parse_args()
    if os.path.exists(a.out) and not a.force:
        sys.exit(f"error: {a.out} exists (use --force to overwrite)")
    try:
        ck = torch.load(a.ckpt, map_location="cpu")
    except Exception as e:  # a corrupt or foreign file: say so plainly
        sys.exit(f"error: cannot read checkpoint {a.ckpt}: {e}")
    sd = ck.get("state_dict", ck) if isinstance(ck, dict) else None
    if not isinstance(sd, dict):
        sys.exit(f"error: {a.ckpt} holds no state_dict")
    keep = {k: v for k, v in sd.items()
            if torch.is_tensor(v) and (v.is_floating_point() or k.endswith("num_batches_tracked"))}
    dropped = [k for k in sd if k not in keep]
    if not any(k.startswith("network.encoder.") for k in keep):
        sys.exit(f"error: {a.ckpt} has no network.encoder.* weights (not an LPL checkpoint?)")
    meta = {k: ck[k] for k in ("epoch", "global_step") if isinstance(ck, dict) and k in ck}
    meta["source"] = os.path.basename(a.ckpt)
    write_safetensors(a.out, keep, meta)
    print(f"wrote {a.out}: {len(keep)} tensors" + (f", dropped non-float entries {dropped}" if dropped else ""))


if __name__ == "__main__":
    main()
