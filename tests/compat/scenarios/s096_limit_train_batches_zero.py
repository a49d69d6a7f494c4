"""limit_train_batches=0 and 0.0: no training batches; what fit still runs and reports."""

from harness import T
from models import DataModule, Flow, Net, bare_trainer, flags_of


def main() -> None:
    for i, limit in enumerate((0, 0.0)):
        model = Net()
        trainer = bare_trainer(max_epochs=2, limit_train_batches=limit, callbacks=[Flow()])
        T.fit(trainer, model, datamodule=DataModule())
        T.note(f"flags_{i}", flags_of(trainer))
    T.final(model)
