"""precision="64-true": the module's weights become float64 and the numbers follow."""

import torch
from harness import T
from models import Net, bare_trainer, loader


class DoubleNet(Net):
    def loss(self, batch):
        x, y = batch
        T.data["notes"]["batch_dtype"] = str(x.dtype)
        return torch.nn.functional.mse_loss(self(x.to(self.dtype)), y.to(self.dtype))


def main() -> None:
    model = DoubleNet()
    trainer = bare_trainer(
        max_epochs=1, limit_train_batches=2, limit_val_batches=1, precision="64-true"
    )
    T.note("precision", trainer.precision)
    T.fit(trainer, model, loader(), loader(32, seed=1))
    T.note("param_dtype", str(model.layer.weight.dtype))
    T.note("module_dtype", str(model.dtype))
    T.final(model)
