"""``trainer.test``: the results table it prints (stream, layout, number formatting) and the bar."""

import torch
from harness import T
from models import DataModule, Net, quiet_trainer


class TwoMetrics(Net):
    def test_step(self, batch, batch_idx):
        loss = self.loss(batch)
        self.log("test_loss", loss)
        self.log("test_big", loss * 12345.678)
        self.log("a_tiny", loss * 1e-6)
        self.log("test_count", torch.tensor(3.0), reduce_fx="sum")


def main() -> None:
    model = TwoMetrics()
    trainer = quiet_trainer()
    result = T.test(trainer, model, datamodule=DataModule())
    T.note("result", result)
