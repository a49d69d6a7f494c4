"""gradient_clip_val=0.05 (algorithm left default): what configure_gradient_clipping receives."""

from harness import T, recorded
from models import Net, bare_trainer, loader


def main() -> None:
    model = recorded(Net)()
    trainer = bare_trainer(
        max_epochs=1, limit_train_batches=3, limit_val_batches=1, gradient_clip_val=0.05
    )
    T.note("algorithm_before_fit", trainer.gradient_clip_algorithm)
    T.fit(trainer, model, loader(), loader(32, seed=1))
    T.final(model)
