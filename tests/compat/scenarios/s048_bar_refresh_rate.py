"""``TQDMProgressBar(refresh_rate=2)`` with an odd number of batches: what the bars show last,
and validation every half epoch (``val_check_interval=0.5``)."""

from harness import T, pl
from models import DataModule, Net, quiet_trainer


class Shown(Net):
    def training_step(self, batch, batch_idx):
        loss = self.loss(batch)
        self.log("loss", loss, prog_bar=True)
        return loss


def main() -> None:
    model = Shown()
    bar = pl.callbacks.TQDMProgressBar(refresh_rate=2)
    trainer = quiet_trainer(
        max_epochs=1,
        limit_train_batches=4,
        val_check_interval=0.5,
        limit_val_batches=1,
        callbacks=[bar],
        num_sanity_val_steps=0,
    )
    T.fit(trainer, model, datamodule=DataModule(n=80))
    T.note("refresh_rate", bar.refresh_rate)
    T.note("is_enabled", bar.is_enabled)
    T.note("train_bar", {"n": bar.train_progress_bar.n, "total": bar.train_progress_bar.total})
    T.final(model)
