"""num_sanity_val_steps=0, -1 (every batch) and the default 2: the batches of the sanity check."""

from harness import T
from models import DataModule, Flow, Net, bare_trainer


def main() -> None:
    model = Net()
    for i, value in enumerate((0, -1, None)):
        kwargs = {} if value is None else {"num_sanity_val_steps": value}
        trainer = bare_trainer(max_epochs=1, limit_train_batches=1, callbacks=[Flow()], **kwargs)
        T.fit(trainer, model, datamodule=DataModule(n=160))
        T.note(f"num_sanity_val_steps_{i}", trainer.num_sanity_val_steps)
    T.final(model)
