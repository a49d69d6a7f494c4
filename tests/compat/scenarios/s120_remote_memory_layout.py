"""fit with default_root_dir="memory://run" (fsspec's in-process store): which files appear
where for ModelCheckpoint (top 2 + last), CSVLogger and TensorBoardLogger; their contents."""

import re

import fsspec
from harness import T, pl
from models import DataModule, Net, quiet_trainer

ROOT = "memory://run"


def tree(root: str) -> list[str]:
    """Every file under ``root``, relative to it (an event file's host and time elided)."""
    fs, inner = fsspec.core.url_to_fs(root)
    names = [path[len(inner) + 1 :] for path in sorted(fs.find(inner))]
    return [re.sub(r"tfevents\..*", "tfevents.*", name) for name in names]


def main() -> None:
    model = Net()
    ckpt = pl.callbacks.ModelCheckpoint(monitor="val_loss", save_top_k=2, save_last=True)
    loggers = [pl.loggers.CSVLogger(ROOT), pl.loggers.TensorBoardLogger(ROOT)]
    trainer = quiet_trainer(
        max_epochs=4, default_root_dir=ROOT, logger=loggers, callbacks=[ckpt], log_every_n_steps=2
    )
    T.fit(trainer, model, datamodule=DataModule())
    T.note("files", tree(ROOT))
    T.note("log_dir", trainer.log_dir)
    T.note("loggers", [lg.log_dir for lg in trainer.loggers])
    T.note("best_model_path", ckpt.best_model_path)
    T.note("last_model_path", ckpt.last_model_path)
    T.note("best_k_models", sorted(ckpt.best_k_models))
    fs = fsspec.filesystem("memory")
    T.note("metrics.csv", fs.cat_file("/run/lightning_logs/version_0/metrics.csv").decode())
    T.note("hparams.yaml", fs.cat_file("/run/lightning_logs/version_0/hparams.yaml").decode())
    T.final(model)
