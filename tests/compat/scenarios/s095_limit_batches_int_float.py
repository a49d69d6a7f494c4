"""limit_*_batches as ints and fractions: how many batches each loop runs, the trainer's counts."""

from harness import T
from models import DataModule, Flow, Net, bare_trainer, flags_of


def main() -> None:
    model = Net()
    trainer = bare_trainer(
        max_epochs=2,
        limit_train_batches=3,
        limit_val_batches=0.5,
        limit_test_batches=1,
        limit_predict_batches=0.5,
        callbacks=[Flow()],
    )
    dm = DataModule()
    T.fit(trainer, model, datamodule=dm)
    T.note("flags", flags_of(trainer))
    T.test(trainer, model, datamodule=dm)
    T.predict(trainer, model, datamodule=dm)
    T.note("flags_after_predict", flags_of(trainer))
    T.final(model)
