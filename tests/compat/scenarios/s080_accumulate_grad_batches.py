"""accumulate_grad_batches=3 over 4 batches a epoch: steps, hooks per batch, weights."""

from harness import RecordingCallback, T, recorded
from models import Net, bare_trainer, loader


def main() -> None:
    model = recorded(Net)()
    trainer = bare_trainer(
        max_epochs=2,
        accumulate_grad_batches=3,
        limit_val_batches=1,
        callbacks=[RecordingCallback()],
    )
    T.fit(trainer, model, loader(), loader(32, seed=1))
    T.final(model)
