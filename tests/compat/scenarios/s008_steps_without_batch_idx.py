"""Step methods whose signature lacks batch_idx (or dataloader_idx): what each receives, and the
errors for a dataloader_idx missing with several loaders or required with one."""

from typing import Any

from harness import T
from models import Net, loader, quiet_trainer


class Short(Net):
    def training_step(self, batch: Any) -> Any:
        T.hook("model", "training_step", n=len(batch))
        return self.loss(batch)

    def validation_step(self, batch: Any) -> None:
        T.hook("model", "validation_step", n=len(batch))
        self.log("val_loss", self.loss(batch))

    def test_step(self, batch: Any) -> None:
        T.hook("model", "test_step", n=len(batch))
        self.log("test_loss", self.loss(batch))

    def predict_step(self, batch: Any) -> Any:
        T.hook("model", "predict_step", n=len(batch))
        return self(batch[0])


class ShortTwo(Short):
    def validation_step(self, batch: Any, batch_idx: int) -> None:
        T.hook("model", "validation_step", batch_idx=batch_idx)
        self.log("val_loss", self.loss(batch))

    def predict_step(self, batch: Any, batch_idx: int) -> Any:
        T.hook("model", "predict_step", batch_idx=batch_idx)
        return self(batch[0])


def main() -> None:
    model = Short()
    trainer = quiet_trainer(max_epochs=1, limit_train_batches=2, limit_val_batches=2)
    T.fit(trainer, model, loader(64), loader(32, seed=1))
    T.validate(trainer, model, loader(32, seed=1))
    T.test(trainer, model, loader(32, seed=1))
    T.predict(trainer, model, loader(32, seed=1))
    two = ShortTwo()
    # several loaders, steps that take batch_idx but no dataloader_idx: errors
    attempt("validate_two", T.validate, trainer, two, [loader(16, seed=1), loader(16, seed=2)])
    attempt("predict_two", T.predict, trainer, two, [loader(16, seed=1), loader(16, seed=2)])
    # one loader, a dataloader_idx without a default: an error too
    attempt("validate_required_idx", T.validate, trainer, RequiredIdx(), loader(16, seed=1))
    T.final(model)


class RequiredIdx(Net):
    def validation_step(self, batch: Any, batch_idx: int, dataloader_idx: int) -> None:
        self.log("val_loss", self.loss(batch))


def attempt(name: str, fn: Any, *args: Any) -> None:
    try:
        fn(*args)
    except Exception as exc:
        T.note(name, type(exc).__name__)
