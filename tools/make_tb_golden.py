#!/usr/bin/env python3
"""Writes tests/data/tb/golden.tfevents with the real `tensorboard` package (`scripts/setup.sh --tools` puts it in tools/.venv):
the file-version event, scalars under the spec's tag names, one histogram and a SessionLog START, all with fixed wall
times, so tests can compare our native writer byte for byte (records, CRCs, tags, values).
Usage: python3 tools/make_tb_golden.py [OUT]"""
import sys

from tensorboard.compat.proto import event_pb2, summary_pb2
from tensorboard.summary.writer.record_writer import RecordWriter

out = sys.argv[1] if len(sys.argv) > 1 else "tests/data/tb/golden.tfevents"
with open(out, "wb") as f:
    w = RecordWriter(f)
    w.write(event_pb2.Event(wall_time=1700000000.0, file_version="brain.Event:2").SerializeToString())
    scalars = [("Loss/train_loss", 1.25, 1), ("Layerwise train losses/Layer 1 pull loss", 0.0625, 2),
               ("Layerwise train losses/Final layer decorr loss", -3.5, 300000), ("lr", 0.0, 300001)]
    for i, (tag, v, step) in enumerate(scalars):
        s = summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag=tag, simple_value=v)])
        w.write(event_pb2.Event(wall_time=1700000001.5 + i, step=step, summary=s).SerializeToString())
    h = summary_pb2.HistogramProto(min=-1.0, max=2.5, num=4, sum=2.0, sum_squares=8.5,
                                   bucket_limit=[-0.9, 0.5, 2.6], bucket=[1, 2, 1])
    s = summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag="Activity Statistics/unit_activities", histo=h)])
    w.write(event_pb2.Event(wall_time=1700000010.25, step=5, summary=s).SerializeToString())
    # A resumed run's marker: TensorBoard purges earlier events with step >= 13.
    w.write(event_pb2.Event(wall_time=1700000011.5, step=13,
                            session_log=event_pb2.SessionLog(status=event_pb2.SessionLog.START)).SerializeToString())
    w.flush()
print("wrote", out)
