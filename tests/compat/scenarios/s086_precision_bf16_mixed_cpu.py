"""precision="bf16-mixed" on CPU: autocast in training_step, float32 weights, the numbers."""

import torch
from harness import T
from models import Net, bare_trainer, loader


class DtypeNet(Net):
    def training_step(self, batch, batch_idx):
        out = self(batch[0])
        T.data["notes"].setdefault("step_dtypes", []).append(str(out.dtype))
        loss = torch.nn.functional.mse_loss(out.float(), batch[1])
        self.log("train_loss", loss)
        return loss


def main() -> None:
    model = DtypeNet()
    trainer = bare_trainer(
        max_epochs=1, limit_train_batches=2, limit_val_batches=1, precision="bf16-mixed"
    )
    T.note("precision", trainer.precision)
    T.fit(trainer, model, loader(), loader(32, seed=1))
    T.note("param_dtype", str(model.layer.weight.dtype))
    T.final(model)
