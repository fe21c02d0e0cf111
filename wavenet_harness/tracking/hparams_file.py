"""A run's HParams records in an event file of their own, replaced whole when the run ends.

TensorBoard keeps the first HParams record of each kind it reads for a run and ignores any
later one (measured with TensorBoard 2.21, both of its loaders), so a session start written
again at the end, with the run's status, would never show. The records therefore live in a
file of their own whose name sorts before the run's other event files (TensorBoard reads a
run's files in name order): written when the run starts (status "running") and replaced,
atomically, when it ends (its status and a session end). A TensorBoard started after a
run ended shows its status; one that was already running keeps the "running" it read
first until it is restarted (the session end, also written to the run's main event file,
reaches it: HParams' own Success, Failure, Unknown).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from tensorboard.compat.proto.event_pb2 import Event
from tensorboard.compat.proto.summary_pb2 import Summary
from tensorboard.summary.writer.record_writer import RecordWriter

from wavenet_harness.base.files import write_atomic

# "tfevents" makes it an event file for TensorBoard; the zeros sort it before the files
# torch's SummaryWriter names events.out.tfevents.<seconds since 1970>....
HPARAMS_FILE = "events.out.tfevents.0000000000.hparams"


def write_hparams_file(folder: str | os.PathLike, summaries: Sequence[Summary], wall_time: float) -> Path:
    """Write (or replace) the folder's HParams event file with `summaries`, at step 0."""

    def write(f) -> None:
        records = RecordWriter(f)
        records.write(Event(wall_time=wall_time, file_version="brain.Event:2").SerializeToString())
        for summary in summaries:
            records.write(Event(wall_time=wall_time, step=0, summary=summary).SerializeToString())

    # The temporary file's name has no "tfevents": a TensorBoard watching the folder skips it.
    return write_atomic(Path(folder) / HPARAMS_FILE, write, binary=True, prefix=".hparams-")
