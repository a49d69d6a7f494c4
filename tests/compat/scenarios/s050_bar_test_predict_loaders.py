"""test and predict with two dataloaders each: the bars' descriptions (``Testing DataLoader 1``,
``Predicting DataLoader 0``), totals, final counts, and the test table with two columns."""

from harness import T
from models import Net, loader, quiet_trainer


class Multi(Net):
    def test_step(self, batch, batch_idx, dataloader_idx=0):
        self.log("test_loss", self.loss(batch))


def main() -> None:
    model = Multi()
    trainer = quiet_trainer()
    T.test(trainer, model, dataloaders=[loader(32, seed=1), loader(16, seed=2)])
    out = T.predict(trainer, model, dataloaders=[loader(48, seed=3), loader(16, seed=4)])
    T.note("predictions", [len(o) for o in out])
