"""callback_metrics / logged_metrics after fit, then validate, test and predict (reset per entry point)."""

from harness import T
from models import DataModule, Net, quiet_trainer


def main() -> None:
    model = Net()
    dm = DataModule()
    trainer = quiet_trainer(max_epochs=1, limit_train_batches=2, limit_val_batches=2)
    T.fit(trainer, model, datamodule=dm)
    T.validate(trainer, model, datamodule=dm)
    T.test(trainer, model, datamodule=dm)
    T.predict(trainer, model, datamodule=dm)
    T.note("after_predict_callback_metrics", dict(trainer.callback_metrics))
    T.validate(trainer, model, datamodule=dm, verbose=False)
    T.final(model)
