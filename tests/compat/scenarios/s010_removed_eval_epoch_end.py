"""1.x `validation_epoch_end` / `test_epoch_end` on the module: what validate, test and fit raise."""

from typing import Any

from harness import T
from models import Net, loader, quiet_trainer


class OldVal(Net):
    def validation_epoch_end(self, outputs: Any) -> None:
        T.hook("model", "validation_epoch_end")


class OldTest(Net):
    def test_epoch_end(self, outputs: Any) -> None:
        T.hook("model", "test_epoch_end")


def attempt(fn: Any, *args: Any, **kwargs: Any) -> None:
    try:
        fn(*args, **kwargs)
    except Exception as exc:
        T.note(f"raised_{len(T.data['notes'])}", type(exc).__name__)


def main() -> None:
    trainer = quiet_trainer(max_epochs=1)
    attempt(T.validate, trainer, OldVal(), loader(32))
    attempt(T.test, trainer, OldTest(), loader(32))
    attempt(T.fit, trainer, OldVal(), loader(32), loader(32))
    attempt(T.fit, trainer, OldTest(), loader(32))
    attempt(T.validate, trainer, OldTest(), loader(32))
