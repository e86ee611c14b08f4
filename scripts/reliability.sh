#!/usr/bin/env bash
# lpl tried as a careless user would, on the CPU (minutes; README "Reliability"):
#   1. a catalogue of bad inputs: each must end with one message naming the problem and an exit
#      status 1..127 (exit 0, a signal, or a message that names nothing is FAILED);
#   2. kill -9 at KILLS random moments, resume each time: the final weights must be byte-identical
#      (cmp) to an uninterrupted run's;
#   3. a full disk (a small tmpfs; needs root, else skipped): the run stops with a message, the
#      previous checkpoint stays intact and resumes elsewhere to the same weights;
#   4. a failure after training (evaluation, histograms) keeps the trained epoch's checkpoint.
#   scripts/reliability.sh [KILLS]      env: BIN (default build/bin), KEEP=1 keeps the scratch folder
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BIN=$(realpath "${BIN:-build/bin}")
KILLS=${1:-13}
PY=/usr/bin/python3  # Debian's, with numpy (scripts/setup.sh)
S=$(mktemp -d /tmp/lpl_reliability.XXXXXX)
cleanup() { mountpoint -q "$S/full" && umount "$S/full"; [ "${KEEP:-0}" = 1 ] || rm -rf "$S"; }
trap cleanup EXIT
for b in train_vgg11 eval_linear probe_vgg11 sim_lpl_spiking sim_lpl_stdp_protocol; do
  [ -x "$BIN/$b" ] || { echo "reliability: $BIN/$b is not built (scripts/build.sh)" >&2; exit 1; }
done
export OMP_NUM_THREADS=1
FM=/usr/share/datasets/fashion-mnist
[ -f "$FM/train-images-idx3-ubyte.gz" ] || { echo "reliability: Fashion-MNIST missing ($FM; scripts/setup.sh installs it)" >&2; exit 1; }
failed=0

# The tiny configuration of tests/runs/trainer_process.h (3 epochs of 4 batches of 4 images):
#   tiny LOG_DIR NAME [--flag value]...   a flag given here replaces its value in the configuration
tiny() {
  local log=$1 name=$2 k; shift 2
  local -A v=([--dataset]=fashion-mnist [--batch_size]=4 [--limit_train_batches]=4 [--max_epochs]=3
    [--warmup_epochs]=1 [--learning_rate]=0.001 [--threads]=1 [--num_workers]=1 [--log_dir]="$log"
    [--experiment_name]="$name" [--checkpoint_every_steps]=3 [--keep_checkpoints]=3 [--histogram_samples]=32
    [--eval_samples]=32 [--val_batches]=1)
  while [ $# -gt 1 ]; do v[$1]=$2; shift 2; done
  echo --stale_estimates
  for k in "${!v[@]}"; do echo "$k" "${v[$k]}"; done
}
TRAIN=$BIN/train_vgg11
EVAL=("$BIN/eval_linear" --dataset fashion-mnist --num_workers 1 --limit_probe_train 200 --limit_test 100
  --probe_epochs 1 --last_layer_only --no_metrics --no_plot)

# 1. Bad inputs -------------------------------------------------------------------------------------
# refuse LABEL CMD...: runs CMD; passes when it exits 1..127 with a last line that names something.
refuse() {
  local label=$1; shift
  local out="$S/refuse.log"
  timeout 600 "$@" >"$out" 2>&1
  local rc=$?
  local msg
  msg=$(grep -v '^\s*$' "$out" | tail -n 1 | cut -c1-220)
  local verdict=ok
  if [ $rc -eq 0 ] || [ $rc -ge 124 ] || [ -z "$msg" ] ||
    grep -qE 'terminate called|Segmentation|AddressSanitizer|runtime error|^(std::)?bad_alloc$|stoll|_M_default_append|vector::reserve|basic_filebuf' "$out"; then
    verdict=FAILED
    failed=$((failed + 1))
  fi
  printf '%-6s exit %-3s %-44s %s\n' "$verdict" "$rc" "$label" "$msg"
}

# Files for the catalogue (numpy writes the .npy files; bad headers are written by hand).
D="$S/data"
mkdir -p "$D"/{pairs_ok,pairs_big,pairs_nan,pairs_oneclass,pairs_hugelabel,pairs_neglabel,pairs_mismatch,pairs_trunc} \
  "$D"/{fm_trunc,fm_corrupt,fm_swapped,fm_empty} "$D/dir.safetensors" "$D/pairs_dir/view1.npy"
$PY - "$D" <<'EOF'
import numpy as np, sys, os, struct
d = sys.argv[1]
rng = np.random.default_rng(0)
def pairs(name, n=64, labels=None, v1=None, v2=None):
    x = rng.integers(0, 256, (n, 1, 32, 32), dtype=np.uint8)
    np.save(f"{d}/{name}/view1.npy", x if v1 is None else v1)
    np.save(f"{d}/{name}/view2.npy", x if v2 is None else v2)
    np.save(f"{d}/{name}/labels.npy", (np.arange(n) % 10).astype(np.int64) if labels is None else labels)
pairs("pairs_ok")
f = rng.random((64, 1, 32, 32), dtype=np.float32); f[5, 0, 3, 3] = np.nan
pairs("pairs_nan", v1=f, v2=f)
pairs("pairs_oneclass", labels=np.zeros(64, np.int64))
l = (np.arange(64) % 10).astype(np.int64); l[7] = 1_000_000
pairs("pairs_hugelabel", labels=l)
l = (np.arange(64) % 10).astype(np.int64); l[3] = -2
pairs("pairs_neglabel", labels=l)
pairs("pairs_mismatch", v2=rng.integers(0, 256, (63, 1, 32, 32), dtype=np.uint8))
pairs("pairs_trunc")
with open(f"{d}/pairs_trunc/view1.npy", "r+b") as fh: fh.truncate(os.path.getsize(f"{d}/pairs_trunc/view1.npy") - 1000)
# A header that declares 2^61 images with no data behind it.
def header(descr, shape):
    h = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (descr, shape)
    h += " " * ((64 - (10 + len(h) + 1) % 64) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(h)) + h.encode()
for v in ("view1", "view2"): open(f"{d}/pairs_big/{v}.npy", "wb").write(header("|u1", "(2305843009213693952, 1, 32, 32)"))
open(f"{d}/pairs_big/labels.npy", "wb").write(header("<i8", "(2305843009213693952,)"))
EOF
FMF=(train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz)
for f in "${FMF[@]}"; do for v in fm_trunc fm_corrupt; do cp "$FM/$f" "$D/$v/"; done; done
truncate -s 2000000 "$D/fm_trunc/train-images-idx3-ubyte.gz"
$PY - "$D/fm_corrupt/train-images-idx3-ubyte.gz" <<'EOF'
import sys
p = sys.argv[1]; b = bytearray(open(p, "rb").read()); m = len(b) // 2
for i in range(m, m + 1000): b[i] ^= 0x5A
open(p, "wb").write(b)
EOF
for f in "${FMF[@]}"; do cp "$FM/$f" "$D/fm_swapped/"; done
cp "$FM/train-labels-idx1-ubyte.gz" "$D/fm_swapped/train-images-idx3-ubyte.gz"

# A trained tiny run supplies weights and state files to damage.
"$TRAIN" $(tiny "$S/runs" good) >"$S/good.log" 2>&1 || { echo "reliability: the tiny run failed:"; tail -5 "$S/good.log"; exit 1; }
GOOD="$S/runs/fashion-mnist/good/lpl"
CK=$(ls "$GOOD"/checkpoints/epoch=*-step=12.safetensors)
$PY - "$GOOD/checkpoints" "$D" <<'EOF'
import sys, json, struct, glob, shutil, re
ck, d = sys.argv[1], sys.argv[2]
def read(p):
    b = open(p, "rb").read(); n = struct.unpack("<Q", b[:8])[0]
    return json.loads(b[8:8 + n]), b[8 + n:]
def write(p, h, body):
    hb = json.dumps(h, separators=(",", ":")).encode(); hb += b" " * ((8 - len(hb) % 8) % 8)
    open(p, "wb").write(struct.pack("<Q", len(hb)) + hb + body)
w = sorted(glob.glob(f"{ck}/epoch=*-step=12.safetensors"))[0]
h, body = read(w)
name = next(k for k in h if k != "__metadata__")
# An extra tensor beside the real ones.
h2 = dict(h); h2["extra.weight"] = {"dtype": "F32", "shape": [1], "data_offsets": [len(body), len(body) + 4]}
write(f"{d}/extra.safetensors", h2, body + b"\0\0\0\0")
# A NaN in the first weight.
b2 = bytearray(body); s = h[name]["data_offsets"][0]; b2[s:s + 4] = struct.pack("<f", float("nan"))
write(f"{d}/nan.safetensors", h, bytes(b2))
open(f"{d}/trunc.safetensors", "wb").write(open(w, "rb").read()[:-100])
# Damaged resume states: 10 flipped bytes in the optimiser moments; global_step 12 -> 19 in the header.
st = w[:-len(".safetensors")] + ".state"
for tag in ("moments", "step"):
    dd = f"{d}/state_{tag}"; shutil.copytree(ck, f"{dd}/checkpoints")
    p = f"{dd}/checkpoints/" + st.split("/")[-1]; hs, bs = read(p)
    if tag == "moments":
        k = next(k for k in hs if k.startswith("optim.m."))
        o = hs[k]["data_offsets"][0]; bs = bytearray(bs)
        for i in range(10): bs[o + 7 * i] ^= 0xFF
        write(p, hs, bytes(bs))
    else:
        raw = open(p, "rb").read(); n = struct.unpack("<Q", raw[:8])[0]
        hdr = re.sub(rb'("global_step"\s*:\s*")12"', rb'\g<1>19"', raw[8:8 + n])
        assert hdr != raw[8:8 + n], "global_step not found in the state header"
        open(p, "wb").write(raw[:8] + hdr + raw[8 + n:])
EOF
# The same weights-and-state files resume only from a run directory; copy the config beside them.
for t in moments step; do cp "$GOOD/config.json" "$D/state_$t/"; done
# Spiking inputs (the test suite's rates), with a .wmat whose size line wraps at 32 bits to 100 x 25.
SPK=$ROOT/tests/data/spiking
mkdir -p "$D/wrapped" && cp "$SPK"/rates*.dat.gz "$D/wrapped/"
printf '%%%%MatrixMarket matrix coordinate real general\n4294967396 25 780\n1 1 0.5\n' >"$D/wrapped/local_inh_connectivity.wmat"

echo "== bad inputs (each: verdict, exit status, what the user reads)"
T="$S/refused"
refuse "unknown flag" "$TRAIN" --no_such_flag
refuse "non-numeric --batch_size" "$TRAIN" --batch_size abc
refuse "--batch_size 0" "$TRAIN" --batch_size 0
refuse "--learning_rate nan" "$TRAIN" --learning_rate nan
refuse "duplicate flag" "$TRAIN" $(tiny "$T" d1) --batch_size 8
refuse "--threads 100000" "$TRAIN" $(tiny "$T" threads100000 --threads 100000)
refuse "--threads 5000" "$TRAIN" $(tiny "$T" threads5000 --threads 5000)
refuse "--num_workers 50000" "$TRAIN" $(tiny "$T" num_workers50000 --num_workers 50000)
refuse "--no_pooling --use_projector_mlp" "$TRAIN" --no_pooling --use_projector_mlp
refuse "unknown dataset" "$TRAIN" --dataset nosuch
refuse "--eval_samples 1" "$TRAIN" $(tiny "$T" es1 --eval_samples 1)
refuse "Fashion-MNIST folder empty" "$TRAIN" $(tiny "$T" fm0) --data_dir "$D/fm_empty"
refuse "Fashion-MNIST .gz truncated" "$TRAIN" $(tiny "$T" fm1) --data_dir "$D/fm_trunc"
refuse "Fashion-MNIST .gz 1000 bytes corrupt" "$TRAIN" $(tiny "$T" fm2) --data_dir "$D/fm_corrupt"
refuse "Fashion-MNIST labels as images" "$TRAIN" $(tiny "$T" fm3) --data_dir "$D/fm_swapped"
refuse "pairs: .npy declares 2^61 images" "$TRAIN" $(tiny "$T" p1 --dataset pairs) --data_dir "$D/pairs_big"
refuse "pairs: views of different lengths" "$TRAIN" $(tiny "$T" p2 --dataset pairs) --data_dir "$D/pairs_mismatch"
refuse "pairs: .npy truncated" "$TRAIN" $(tiny "$T" p3 --dataset pairs) --data_dir "$D/pairs_trunc"
refuse "pairs: NaN pixel" "$TRAIN" $(tiny "$T" p4 --dataset pairs) --data_dir "$D/pairs_nan"
refuse "pairs: one class in labels.npy" "$TRAIN" $(tiny "$T" p5 --dataset pairs) --data_dir "$D/pairs_oneclass"
refuse "pairs: label 1e6" "$TRAIN" $(tiny "$T" p6 --dataset pairs) --data_dir "$D/pairs_hugelabel"
refuse "pairs: view1.npy a directory" "$TRAIN" $(tiny "$T" p8 --dataset pairs) --data_dir "$D/pairs_dir"
refuse "pairs: negative label" "$TRAIN" $(tiny "$T" p7 --dataset pairs) --data_dir "$D/pairs_neglabel"
refuse "--init_from a directory" "$TRAIN" $(tiny "$T" i1) --init_from "$D/dir.safetensors"
refuse "--init_from missing file" "$TRAIN" $(tiny "$T" i2) --init_from "$D/missing.safetensors"
refuse "--init_from truncated" "$TRAIN" $(tiny "$T" i3) --init_from "$D/trunc.safetensors"
refuse "--init_from extra tensor" "$TRAIN" $(tiny "$T" i4) --init_from "$D/extra.safetensors"
refuse "--init_from NaN weight" "$TRAIN" $(tiny "$T" i5) --init_from "$D/nan.safetensors"
refuse "resume: 10 bytes flipped in moments" "$TRAIN" $(tiny "$T" r1 --max_epochs 4) --resume_from_checkpoint "$D/state_moments"
refuse "resume: global_step edited" "$TRAIN" $(tiny "$T" r2 --max_epochs 4) --resume_from_checkpoint "$D/state_step"
refuse "resume: other model flags" "$TRAIN" $(tiny "$S/runs" good --max_epochs 4) --no_biases --resume_from_checkpoint
refuse "new run over a finished one" "$TRAIN" $(tiny "$S/runs" good)
refuse "eval_linear: missing weights" "${EVAL[@]}" --threads 1 --weights "$D/missing.safetensors"
refuse "eval_linear: extra tensor" "${EVAL[@]}" --threads 1 --weights "$D/extra.safetensors"
refuse "eval_linear: --weights a directory" "${EVAL[@]}" --threads 1 --weights "$D/dir.safetensors"
refuse "probe_vgg11: --weights a directory" "$BIN/probe_vgg11" --weights "$D/dir.safetensors" --dataset fashion-mnist --threads 1
refuse "eval_linear: --threads 100000" "${EVAL[@]}" --weights "$CK" --threads 100000
SIM=("$BIN/sim_lpl_spiking" --quiet --input_dir "$SPK")
STDP=("$BIN/sim_lpl_stdp_protocol" --quiet --psize 100 --wext 0.5 --input_dir "$SPK/stdp/short_T20ms_f5")
refuse "sim_lpl_spiking --simtime 1e15" "${SIM[@]}" --simtime 1e15 --dir "$S/sim1"
refuse "sim_lpl_spiking --tau_mean 1e300" "${SIM[@]}" --tau_mean 1e300 --simtime 1 --dir "$S/sim2"
refuse "sim_lpl_spiking --simtime -1" "${SIM[@]}" --simtime -1 --dir "$S/sim3"
refuse "sim_lpl_spiking --simtime nan" "${SIM[@]}" --simtime nan --dir "$S/sim4"
refuse "sim_lpl_stdp_protocol --simtime 1e15" "${STDP[@]}" --simtime 1e15 --dir "$S/sim5"
refuse "sim_lpl_stdp_protocol --tau_mean 1e300" "${STDP[@]}" --tau_mean 1e300 --simtime 1 --dir "$S/sim6"
refuse "sim_lpl_spiking --tau_sigma2 1e300" "${SIM[@]}" --tau_sigma2 1e300 --simtime 1 --dir "$S/sim8"
refuse "sim_lpl_spiking --ne 4294967297" "${SIM[@]}" --ne 4294967297 --simtime 1 --dir "$S/sim9"
refuse ".wmat size line 4294967396 25 780" "$BIN/sim_lpl_spiking" --quiet --input_dir "$D/wrapped" --ne 100 --ni 25 --simtime 1 --dir "$S/sim7"

# eval_linear over an experiment with one bad run: the good one is evaluated, exit status != 0.
mkdir -p "$S/exp/fashion-mnist/mixed"
cp -r "$GOOD" "$S/exp/fashion-mnist/mixed/good_lpl"
mkdir -p "$S/exp/fashion-mnist/mixed/bad_lpl/checkpoints" && cp "$D/trunc.safetensors" "$S/exp/fashion-mnist/mixed/bad_lpl/checkpoints/last.safetensors"
cp "$GOOD/config.json" "$S/exp/fashion-mnist/mixed/bad_lpl/"
refuse "eval_linear: one bad run of two" "${EVAL[@]}" --threads 1 --experiment_dir "$S/exp/fashion-mnist/mixed"

# 2. kill -9 at random moments --------------------------------------------------------------------
echo "== kill -9 at $KILLS random moments, resumed each time"
"$TRAIN" $(tiny "$S/kill" ref) >"$S/ref.log" 2>&1 || { echo "FAILED reference run"; exit 1; }
t0=$(date +%s.%N)
kills=0 tries=0
while :; do
  tries=$((tries + 1))
  "$TRAIN" $(tiny "$S/kill" killed) --resume_from_checkpoint >>"$S/killed.log" 2>&1 &
  pid=$!
  if [ $kills -lt "$KILLS" ]; then
    sleep "$($PY -c "import random; print(random.uniform(0.05, 2.5))")"
    kill -9 $pid 2>/dev/null
  fi
  { wait $pid; } 2>/dev/null  # (no "Killed" line from the shell)
  rc=$?
  if [ $rc -eq 137 ]; then kills=$((kills + 1)); continue; fi
  [ $rc -eq 0 ] || { echo "FAILED: a resumed run ended with exit $rc"; tail -3 "$S/killed.log"; failed=$((failed + 1)); break; }
  [ $kills -ge "$KILLS" ] && break   # finished before the planned kills: go again with a fresh run
  rm -rf "$S/kill/fashion-mnist/killed"
done
if cmp -s "$S/kill/fashion-mnist/ref/lpl/checkpoints/last.safetensors" "$S/kill/fashion-mnist/killed/lpl/checkpoints/last.safetensors"; then
  echo "ok     $kills kills in $tries starts ($(printf '%.0f' "$($PY -c "print($(date +%s.%N) - $t0)")") s): last.safetensors byte-identical to the uninterrupted run"
else
  echo "FAILED: last.safetensors differs from the uninterrupted run"; failed=$((failed + 1))
fi

# 3. A full disk -----------------------------------------------------------------------------------
echo "== disk full"
mkdir -p "$S/full"
if [ "$(id -u)" != 0 ] || ! mount -t tmpfs -o size=200m tmpfs "$S/full" 2>/dev/null; then
  echo "skipped (mounting a small tmpfs needs root)"
else
  "$TRAIN" $(tiny "$S/full" f) >"$S/full.log" 2>&1
  rc=$?
  run="$S/full/fashion-mnist/f/lpl"
  if [ $rc -eq 0 ]; then
    echo "FAILED: the run fitted into 200 MiB; nothing was tested"; failed=$((failed + 1))
    umount "$S/full"
  elif ! grep -q "No space left on device" "$S/full.log"; then
    echo "FAILED: exit $rc, but not for the full disk: $(tail -n 1 "$S/full.log" | cut -c1-160)"; failed=$((failed + 1))
    umount "$S/full"
  else
    echo "       exit $rc: $(grep -v '^\s*$' "$S/full.log" | tail -n 1 | cut -c1-200)"
    mkdir -p "$S/moved/fashion-mnist/f" && cp -r "$run" "$S/moved/fashion-mnist/f/"
    umount "$S/full"
    newest=$(ls "$S/moved/fashion-mnist/f/lpl/checkpoints/" | grep -E '^epoch=.*\.state$' | sort -t= -k3 -n | tail -n 1)
    if [ -z "$newest" ]; then
      echo "FAILED: the run stopped before its first checkpoint; nothing was tested (a larger tmpfs is needed)"
      failed=$((failed + 1))
    elif "$TRAIN" $(tiny "$S/moved" f) --resume_from_checkpoint >"$S/moved.log" 2>&1 &&
      cmp -s "$S/kill/fashion-mnist/ref/lpl/checkpoints/last.safetensors" "$S/moved/fashion-mnist/f/lpl/checkpoints/last.safetensors"; then
      echo "ok     the newest complete checkpoint ($newest) resumed on another disk to byte-identical final weights"
    else
      echo "FAILED: the checkpoint left on the full disk did not resume to the same weights"; tail -3 "$S/moved.log"; failed=$((failed + 1))
    fi
  fi
fi

# 4. A failure after training ------------------------------------------------------------------------
# LPL_INJECT_EVAL_ERROR=1 makes the epoch-end online evaluation throw (as a bad probe input would).
echo "== a failure after training keeps the checkpoint"
LPL_INJECT_EVAL_ERROR=1 "$TRAIN" $(tiny "$S/late" l --max_epochs 1 --warmup_epochs 0) >"$S/late.log" 2>&1
rc=$?
run="$S/late/fashion-mnist/l/lpl"
if [ $rc -ne 0 ] && [ $rc -lt 128 ] && [ -f "$run/checkpoints/epoch=0-step=4.safetensors" ] &&
  "$TRAIN" $(tiny "$S/late" l --max_epochs 2 --warmup_epochs 0) --resume_from_checkpoint >"$S/late2.log" 2>&1; then
  echo "ok     exit $rc ($(grep -v '^\s*$' "$S/late.log" | tail -n 1 | cut -c1-120)); epoch=0-step=4 was written first and resumes"
else
  echo "FAILED: exit $rc; the trained epoch's checkpoint is missing or does not resume"; tail -2 "$S/late.log" "$S/late2.log"
  failed=$((failed + 1))
fi

# A SIGKILL inside the evaluation: the checkpoint was written first; the resumed run redoes the
# epoch's logging, so metrics.jsonl ends with that epoch's line.
{ LPL_CRASH_IN_EPOCH_END=0:in_eval "$TRAIN" $(tiny "$S/late" k --max_epochs 1 --warmup_epochs 0) >"$S/kill_eval.log" 2>&1; } 2>/dev/null
rc=$?
run="$S/late/fashion-mnist/k/lpl"
if [ $rc -eq 137 ] && [ -f "$run/checkpoints/epoch=0-step=4.safetensors" ] &&
  "$TRAIN" $(tiny "$S/late" k --max_epochs 1 --warmup_epochs 0) --resume_from_checkpoint >"$S/kill_eval2.log" 2>&1 &&
  grep -q "logging did not complete: redoing it" "$S/kill_eval2.log" && [ "$(wc -l <"$run/metrics.jsonl")" -eq 1 ]; then
  echo "ok     SIGKILL in the evaluation: epoch=0-step=4 was on disk; the resumed run redid the epoch's logging"
else
  echo "FAILED: SIGKILL in the evaluation (exit $rc)"; tail -2 "$S/kill_eval2.log"
  failed=$((failed + 1))
fi

echo "== reliability: $failed FAILED"
[ $failed -eq 0 ]
