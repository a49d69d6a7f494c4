"""predict alone: no files written, predictions returned; a dict from predict_step; logging refused."""

from typing import Any

from harness import T
from models import Net, loader, quiet_trainer


class DictPredict(Net):
    def predict_step(self, batch: Any, batch_idx: int, dataloader_idx: int = 0) -> Any:
        return {"y": self(batch[0]), "idx": batch_idx}


def main() -> None:
    trainer = quiet_trainer()
    out = T.predict(trainer, DictPredict(), loader(40, batch_size=16))
    T.note("n_batches", len(out))
    T.note("last_batch_shape", list(out[-1]["y"].shape))
    T.note("log_dir", trainer.log_dir)
