"""trainer.state's members as a user prints them: str, repr, format, == with strings, hashing,
and the ``stage`` the setup hooks get."""

from typing import Any

from harness import T
from models import DataModule, Net, quiet_trainer


def shown(value: Any) -> dict[str, Any]:
    return {
        "str": str(value),
        "repr": repr(value),
        "format": f"{value}",
        "percent": "%s" % value,  # noqa: UP031 (how a user may print it)
        "value": getattr(value, "value", None),
        "eq_value": value == getattr(value, "value", None),
        "eq_upper": value == str(getattr(value, "value", "")).upper(),
        "in_dict": {str(getattr(value, "value", "")): 1}.get(value),
    }


class Seen(Net):
    def setup(self, stage: str) -> None:
        T.note(f"setup_stage_{len(T.data.get('notes', {}))}", shown(stage))

    def training_step(self, batch: Any, batch_idx: int) -> Any:
        if batch_idx == 0:
            T.note("in_training_stage", shown(self.trainer.state.stage))
            T.note("in_training_status", shown(self.trainer.state.status))
        return super().training_step(batch, batch_idx)


def main() -> None:
    trainer = quiet_trainer(max_epochs=1, limit_train_batches=2, limit_val_batches=1)
    T.note("initial_status", shown(trainer.state.status))
    model = Seen()
    T.fit(trainer, model, datamodule=DataModule())
    state = trainer.state
    T.note("status", shown(state.status))
    T.note("fn", shown(state.fn))
    T.note("stage", shown(state.stage))
    T.note("state", repr(state))
    T.note("finished_stopped", [state.finished, state.stopped])
    T.validate(trainer, model, datamodule=DataModule())
    T.note("validate_fn", shown(trainer.state.fn))
