"""Filename templates: a metric name with "/" with auto_insert_metric_name=False, the same with the
default (the "/" makes a sub-folder), format specs, dirpath; format_checkpoint_name."""

from harness import T, pl, rel
from models import DataModule, Net, quiet_trainer


class SlashNet(Net):
    def validation_step(self, batch, batch_idx):
        self.log("val/loss", self.loss(batch))


def main() -> None:
    model = SlashNet()
    plain = pl.callbacks.ModelCheckpoint(
        dirpath="ckpts",
        monitor="val/loss",
        filename="ep{epoch:02d}-loss{val/loss:.3f}",
        auto_insert_metric_name=False,
        save_top_k=-1,
    )
    named = pl.callbacks.ModelCheckpoint(
        dirpath="named", monitor="val/loss", filename="{epoch}-{val/loss:.2f}", mode="max"
    )
    trainer = quiet_trainer(max_epochs=2, callbacks=[plain, named], limit_train_batches=2)
    T.fit(trainer, model, datamodule=DataModule())
    T.note("format_plain", rel(plain.format_checkpoint_name({"epoch": 3, "val/loss": 0.12345})))
    T.note("format_named", rel(named.format_checkpoint_name({"epoch": 3, "val/loss": 0.12345})))
    T.note("format_ver", rel(named.format_checkpoint_name({"epoch": 3, "val/loss": 0.5}, ver=2)))
    T.note("format_missing", rel(named.format_checkpoint_name({})))
    T.final(model)
