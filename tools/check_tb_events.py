#!/usr/bin/env python3
"""Reads an event file (ours) with the real tensorboard package and prints every tag, step and
value it finds: the check that TensorBoard itself understands our files.
Usage: python3 tools/check_tb_events.py RUN_DIR_OR_FILE"""
import sys

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

acc = EventAccumulator(sys.argv[1], size_guidance={"scalars": 0, "histograms": 0})
acc.Reload()
tags = acc.Tags()
for t in tags["scalars"]:
    ev = acc.Scalars(t)
    print(f"scalar {t!r}: {len(ev)} points, last step {ev[-1].step} value {ev[-1].value:.6g}")
for t in tags["histograms"]:
    ev = acc.Histograms(t)
    h = ev[-1].histogram_value
    print(f"histogram {t!r}: {len(ev)} points, last step {ev[-1].step} num {h.num:g} min {h.min:.4g} max {h.max:.4g}")
print(f"{len(tags['scalars'])} scalar tags, {len(tags['histograms'])} histogram tags")
