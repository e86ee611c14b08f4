#!/usr/bin/env python3
"""Checks that a file is valid safetensors (the format of huggingface/safetensors), independently of
our C++ reader: 8-byte little-endian header length; a UTF-8 JSON object header of
{name: {dtype, shape, data_offsets}} plus an optional "__metadata__" of string -> string; offsets
relative to the data region, contiguous from 0, non-overlapping, each span = prod(shape) x dtype
size, the last one ending exactly at the end of the file. With --lpl-weights, also checks the weight
names and shapes of spec §6b (float32 VGG-11 blocks, projectors, classifier heads). With
--official, loads the file with the `safetensors` package too (`scripts/setup.sh --tools` puts it in tools/.venv).

    python3 tools/check_safetensors.py run/checkpoints/last.safetensors --lpl-weights

Standard library only (no torch). Prints one line per tensor and "OK", or the problems and exit 1."""
import argparse
import json
import re
import struct
import sys

DTYPE_SIZE = {"BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "I16": 2, "U16": 2, "F16": 2,
              "BF16": 2, "I32": 4, "U32": 4, "F32": 4, "F64": 8, "I64": 8, "U64": 8}
VGG_CHANNELS = [64, 128, 256, 256, 512, 512, 512, 512]
LPL_NAME = re.compile(r"network\.encoder\.blocks\.(\d)\.module\.0\.(weight|bias)$"
                      r"|network\.encoder\.projectors\.(\d)\.net\.(0|2)\.(weight|bias)$"
                      r"|classifier_heads\.(\d)\.(weight|bias)$")


def check(path, lpl_weights):
    problems = []
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        return [f"{len(data)} bytes: shorter than the 8-byte header length"], {}
    (n,) = struct.unpack("<Q", data[:8])
    if 8 + n > len(data):
        return [f"header length {n} exceeds the file size {len(data)}"], {}
    raw = data[8:8 + n]
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        return [f"header is not UTF-8 JSON: {e}"], {}
    if not isinstance(header, dict):
        return ["header is not a JSON object"], {}
    meta = header.pop("__metadata__", {})
    if not isinstance(meta, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in meta.items()):
        problems.append("__metadata__ is not a map of string to string")
    data_len = len(data) - 8 - n
    spans = []
    for name, e in header.items():
        if not isinstance(e, dict) or set(e) != {"dtype", "shape", "data_offsets"}:
            problems.append(f"{name}: entry must have exactly dtype, shape, data_offsets")
            continue
        dt, shape, off = e["dtype"], e["shape"], e["data_offsets"]
        if dt not in DTYPE_SIZE:
            problems.append(f"{name}: unknown dtype {dt!r}")
            continue
        if not (isinstance(shape, list) and all(isinstance(d, int) and d >= 0 for d in shape)):
            problems.append(f"{name}: shape {shape!r} is not a list of non-negative integers")
            continue
        if not (isinstance(off, list) and len(off) == 2 and all(isinstance(o, int) for o in off) and 0 <= off[0] <= off[1]):
            problems.append(f"{name}: data_offsets {off!r} are not [begin, end] with 0 <= begin <= end")
            continue
        numel = 1
        for d in shape:
            numel *= d
        if off[1] - off[0] != numel * DTYPE_SIZE[dt]:
            problems.append(f"{name}: {off[1] - off[0]} bytes for {dt} {shape} (expected {numel * DTYPE_SIZE[dt]})")
        if off[1] > data_len:
            problems.append(f"{name}: data_offsets end {off[1]} beyond the data region ({data_len} bytes)")
        spans.append((off[0], off[1], name))
    spans.sort()
    pos = 0
    for b, e, name in spans:
        if b != pos:
            problems.append(f"{name}: starts at {b}, expected {pos} ({'overlap' if b < pos else 'gap'})")
        pos = max(pos, e)
    if pos != data_len:
        problems.append(f"tensors cover {pos} bytes of a {data_len}-byte data region")
    if lpl_weights:
        problems += check_lpl_names(header)
    return problems, header


def check_lpl_names(header):
    problems = []
    blocks = set()
    for name, e in header.items():
        m = LPL_NAME.match(name)
        if not m:
            problems.append(f"{name}: not a weight name of spec §6b")
            continue
        if e["dtype"] != "F32":
            problems.append(f"{name}: dtype {e['dtype']}, weights are F32")
        if m.group(1) is not None:
            k = int(m.group(1))
            blocks.add(k)
            cin = 3 if k == 0 else VGG_CHANNELS[k - 1]
            want = [VGG_CHANNELS[k], cin, 3, 3] if m.group(2) == "weight" else [VGG_CHANNELS[k]]
            if k == 0 and m.group(2) == "weight" and e["shape"][1:] == [1, 3, 3]:
                want = [VGG_CHANNELS[0], 1, 3, 3]  # grey-scale input
            if e["shape"] != want:
                problems.append(f"{name}: shape {e['shape']}, VGG-11 needs {want}")
    missing = sorted(set(range(8)) - blocks)
    if missing:
        problems.append(f"no weights for VGG-11 blocks {missing}")
    return problems


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("files", nargs="+")
    ap.add_argument("--lpl-weights", action="store_true", help="check the VGG-11 weight names and shapes of spec §6b")
    ap.add_argument("--official", action="store_true", help="also load with the safetensors package")
    ap.add_argument("--quiet", action="store_true")
    a = ap.parse_args()
    bad = 0
    for path in a.files:
        problems, header = check(path, a.lpl_weights)
        if not problems and a.official:
            try:
                from safetensors.numpy import load_file
                loaded = load_file(path)
                for name, e in header.items():
                    if list(loaded[name].shape) != e["shape"]:
                        problems.append(f"{name}: the safetensors package reads shape {list(loaded[name].shape)}")
            except Exception as e:  # the official reader refused the file
                problems.append(f"the safetensors package refuses it: {e}")
        if problems:
            bad += 1
            print(f"{path}: INVALID")
            for p in problems:
                print(f"  {p}")
        else:
            if not a.quiet:
                for name, e in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0]):
                    print(f"  {name:55s} {e['dtype']:4s} {str(e['shape']):22s} {e['data_offsets']}")
            print(f"{path}: OK ({len(header)} tensors{', official reader agrees' if a.official else ''})")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
