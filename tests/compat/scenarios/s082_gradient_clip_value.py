"""gradient_clip_algorithm="value" and an overridden configure_gradient_clipping calling
self.clip_gradients with its own value."""

from harness import T, recorded
from models import Net, bare_trainer, loader


class ClipNet(Net):
    def configure_gradient_clipping(
        self, optimizer, gradient_clip_val=None, gradient_clip_algorithm=None
    ):
        T.data["notes"].setdefault("clip_args", []).append(
            [gradient_clip_val, gradient_clip_algorithm]
        )
        self.clip_gradients(optimizer, gradient_clip_val=0.01, gradient_clip_algorithm="value")


def main() -> None:
    model = recorded(ClipNet)()
    trainer = bare_trainer(
        max_epochs=1,
        limit_train_batches=3,
        limit_val_batches=1,
        gradient_clip_val=0.5,
        gradient_clip_algorithm="value",
    )
    T.fit(trainer, model, loader(), loader(32, seed=1))
    T.note("trainer_clip", [trainer.gradient_clip_val, trainer.gradient_clip_algorithm])
    T.final(model)
