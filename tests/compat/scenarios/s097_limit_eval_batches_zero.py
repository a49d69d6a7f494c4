"""limit_val_batches=0 turns validation off in fit (and the sanity check); 0 / 0.0 for
validate, test and predict: what they run and return."""

from harness import T
from models import DataModule, Flow, Net, bare_trainer, flags_of


def main() -> None:
    model = Net()
    dm = DataModule()
    trainer = bare_trainer(
        max_epochs=1,
        limit_val_batches=0,
        limit_test_batches=0.0,
        limit_predict_batches=0,
        callbacks=[Flow()],
    )
    T.fit(trainer, model, datamodule=dm)
    T.note("flags_fit", flags_of(trainer))
    T.validate(trainer, model, datamodule=dm)
    T.test(trainer, model, datamodule=dm)
    T.predict(trainer, model, datamodule=dm)
    other = bare_trainer(max_epochs=1, limit_val_batches=0.0, limit_train_batches=1.0)
    T.fit(other, model, datamodule=dm)
    T.note("flags_other", flags_of(other))
    T.final(model)
