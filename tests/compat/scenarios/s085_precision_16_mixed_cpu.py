"""precision="16-mixed" on CPU: Lightning warns and falls back to bf16-mixed; the numbers."""

from harness import T
from models import Net, bare_trainer, loader


def main() -> None:
    model = Net()
    trainer = bare_trainer(
        max_epochs=1,
        limit_train_batches=2,
        limit_val_batches=1,
        accelerator="cpu",
        precision="16-mixed",
    )
    T.note("precision", trainer.precision)
    T.fit(trainer, model, loader(), loader(32, seed=1))
    T.note("output_dtype", str(model(loader().dataset[:2][0]).dtype))
    T.final(model)
