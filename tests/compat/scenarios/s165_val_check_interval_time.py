"""val_check_interval as a duration ("DD:HH:MM:SS", dict, timedelta): validation after the first
batch that ends the interval (a zero interval: every batch; a day: never, not even at an epoch's
end, so ModelCheckpoint saves nothing), only in the epochs check_val_every_n_epoch picks."""

from datetime import timedelta

from harness import T, pl
from models import DataModule, Net, quiet_trainer


class When(pl.Callback):
    def __init__(self) -> None:
        self.at: list[list[int]] = []

    def on_validation_start(self, trainer, pl_module) -> None:
        if not trainer.sanity_checking:
            self.at.append([trainer.current_epoch, trainer.global_step])


def main() -> None:
    cases = [
        ("zero_dict", {"seconds": 0}, 1),
        ("zero_str_every_2", "00:00:00:00", 2),
        ("zero_none", timedelta(0), None),
        ("a_day", {"days": 1}, 1),
    ]
    for name, interval, every in cases:
        pl.seed_everything(0)  # each fit starts from the same weights
        when = When()
        trainer = quiet_trainer(
            max_epochs=2,
            val_check_interval=interval,
            check_val_every_n_epoch=every,
            limit_train_batches=3,
            default_root_dir=name,
            logger=False,
            enable_progress_bar=False,
            callbacks=[when, pl.callbacks.ModelCheckpoint(dirpath=f"{name}/ckpts", save_top_k=-1)],
        )
        T.fit(trainer, Net(), datamodule=DataModule())
        T.note(f"{name}.validated_at", when.at)
        T.note(f"{name}.val_check_batch", trainer.val_check_batch)
