"""A gs:// path when gcsfs is not installed: the Trainer, ModelCheckpoint, each logger and
load_from_checkpoint raise ImportError when they are built, before anything is written."""

import sys

from harness import T, pl
from models import Net, caught

sys.modules["gcsfs"] = None  # as if it were not installed (an import of it fails)


def main() -> None:
    T.note("Trainer", caught(lambda: pl.Trainer(default_root_dir="gs://bucket/run")))
    T.note("ModelCheckpoint", caught(lambda: pl.callbacks.ModelCheckpoint(dirpath="gs://b/ck")))
    T.note("CSVLogger", caught(lambda: pl.loggers.CSVLogger("gs://b/logs")))
    T.note("TensorBoardLogger", caught(lambda: pl.loggers.TensorBoardLogger("gs://b/logs")))
    T.note("load_from_checkpoint", caught(lambda: Net.load_from_checkpoint("gs://b/x.ckpt")))
