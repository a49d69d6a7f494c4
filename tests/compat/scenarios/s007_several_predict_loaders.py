"""Two predict loaders: dataloader_idx in hooks and predict_step, a list of lists returned."""

from typing import Any

from harness import RecordingCallback, T, recorded
from models import Net, loader, quiet_trainer


class TwoPredict(Net):
    def predict_step(self, batch: Any, batch_idx: int, dataloader_idx: int = 0) -> Any:
        T.hook("model", "predict_step", batch_idx=batch_idx, dataloader_idx=dataloader_idx)
        return {"y": self(batch[0]), "dl": dataloader_idx}


def main() -> None:
    model = recorded(TwoPredict)()
    trainer = quiet_trainer(callbacks=[RecordingCallback()])
    loaders = [loader(32, seed=1), loader(24, seed=2, batch_size=8)]
    out = T.predict(trainer, model, loaders)
    T.note("lengths", [len(x) for x in out])
    T.predict(trainer, model, loaders, return_predictions=False)
