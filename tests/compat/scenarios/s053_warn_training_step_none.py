"""A ``training_step`` that returns None for some batches (skipping them): warnings, steps taken."""

from harness import T
from models import DataModule, Net, quiet_trainer


class Skipping(Net):
    def training_step(self, batch, batch_idx):
        loss = self.loss(batch)
        self.log("train_loss", loss)
        return None if batch_idx % 2 else loss


def main() -> None:
    model = Skipping()
    trainer = quiet_trainer(max_epochs=1, limit_val_batches=1)
    T.fit(trainer, model, datamodule=DataModule())
    T.final(model)
