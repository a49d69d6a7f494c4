"""ModelPruning end to end: masks, the lottery ticket, permanent pruning in checkpoints, logs."""

from __future__ import annotations

import logging

import pytest
import torch
import torch.nn.utils.prune as prune
from torch.utils.data import DataLoader, TensorDataset

import plkit as pl
from plcore.utilities.exceptions import MisconfigurationException
from plkit.callbacks import ModelCheckpoint, ModelPruning


class Net(pl.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.l1 = torch.nn.Linear(4, 8)
        self.l2 = torch.nn.Linear(8, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.l2(torch.relu(self.l1(x)))

    def training_step(self, batch, batch_idx):
        x, y = batch
        return torch.nn.functional.mse_loss(self(x), y)

    def validation_step(self, batch, batch_idx):
        pass

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


def _loader() -> DataLoader:
    g = torch.Generator().manual_seed(1)
    return DataLoader(
        TensorDataset(torch.randn(8, 4, generator=g), torch.randn(8, 1, generator=g)), batch_size=4
    )


def _fit(model, *callbacks, max_epochs=1, val=False, ckpt_path=None, **kw) -> pl.Trainer:
    trainer = pl.Trainer(
        max_epochs=max_epochs,
        callbacks=list(callbacks),
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        **kw,
    )
    trainer.fit(model, _loader(), _loader() if val else None, ckpt_path=ckpt_path)
    return trainer


def test_global_l1_with_lottery_ticket_and_permanent_checkpoint(tmp_path):
    torch.manual_seed(0)
    model = Net()
    init = {k: v.clone() for k, v in model.state_dict().items()}
    pruning = ModelPruning("l1_unstructured", amount=0.5, parameter_names=["weight"])
    ckpt = ModelCheckpoint(dirpath=tmp_path, filename="last")
    _fit(model, pruning, ckpt, default_root_dir=tmp_path)
    # permanent after training: plain weights, no pruning hooks left
    assert sorted(model.state_dict()) == sorted(init)
    assert not any(m._forward_pre_hooks for m in model.modules())
    weights = torch.cat([model.l1.weight.flatten(), model.l2.weight.flatten()])
    assert int((weights == 0).sum()) == 20  # half of the 40 weights, across both layers
    for name in ("l1.weight", "l2.weight"):  # the survivors are back at their initial values
        kept = model.state_dict()[name] != 0
        torch.testing.assert_close(model.state_dict()[name][kept], init[name][kept])
    assert not torch.equal(model.l1.bias, init["l1.bias"])  # biases trained, never pruned
    saved = torch.load(tmp_path / "last.ckpt", weights_only=False)
    assert sorted(saved["state_dict"]) == sorted(init)  # a pruned copy: no _orig / _mask keys
    torch.testing.assert_close(saved["state_dict"]["l1.weight"], model.l1.weight.detach())
    masks = saved["callbacks"]["ModelPruning"]["masks"]  # plkit's: what a resumed fit prunes on
    assert sorted(masks) == ["l1.weight", "l2.weight"]
    assert torch.equal(masks["l1.weight"], (model.l1.weight != 0).float())


def test_not_permanent_keeps_the_reparametrisation(tmp_path):
    torch.manual_seed(0)
    model = Net()
    pruning = ModelPruning(
        "random_unstructured",
        amount=1,
        make_pruning_permanent=False,
        use_lottery_ticket_hypothesis=False,
        use_global_unstructured=False,
    )
    trainer = _fit(model, pruning, enable_checkpointing=False, default_root_dir=tmp_path)
    keys = set(model.state_dict())
    assert {"l1.weight_orig", "l1.weight_mask", "l2.bias_orig", "l2.bias_mask"} <= keys
    assert int((model.l2.bias_mask == 0).sum()) == 1 and int((model.l1.weight_mask == 0).sum()) == 1
    trainer.save_checkpoint(tmp_path / "c.ckpt")
    assert "l1.weight_mask" in torch.load(tmp_path / "c.ckpt", weights_only=False)["state_dict"]


def test_schedules_and_validation_epoch_end(tmp_path):
    torch.manual_seed(0)
    model = Net()
    epochs: list[int] = []

    def amount(epoch: int) -> float:
        epochs.append(epoch)
        return 0.25

    pruning = ModelPruning(
        "l1_unstructured",
        amount=amount,
        apply_pruning=lambda e: e % 2 == 1,
        prune_on_train_epoch_end=False,
        make_pruning_permanent=False,
    )
    _fit(
        model,
        pruning,
        max_epochs=4,
        val=True,
        enable_checkpointing=False,
        default_root_dir=tmp_path,
    )
    assert epochs == [0, 1, 2, 3]  # at each validation end, never in the sanity check
    total = sum(getattr(m, f"{n}_mask").numel() for m, n in pruning._parameters_to_prune)
    zeros = sum(int((getattr(m, f"{n}_mask") == 0).sum()) for m, n in pruning._parameters_to_prune)
    # two prunings of 25% of what remains (global): 49 params -> 12, then 9 more
    assert (total, zeros) == (49, 21)


def test_verbose_logs(tmp_path, caplog):
    torch.manual_seed(0)
    with caplog.at_level(logging.INFO, logger="plkit.callbacks.pruning"):
        _fit(
            Net(),
            ModelPruning("l1_unstructured", amount=0.5, verbose=2),
            enable_checkpointing=False,
            default_root_dir=tmp_path,
        )
    lines = [r.getMessage() for r in caplog.records if r.name == "plkit.callbacks.pruning"]
    assert lines[0] == "Applied `L1Unstructured`. Pruned: 0/49 (0.00%) -> 24/49 (48.98%)"
    assert lines[1].startswith(
        "Applied `L1Unstructured` to `Linear(in_features=4, out_features=8, bias=True).weight` "
        "with amount=0.5. Pruned: 0 (0.00%) -> "
    )
    assert len(lines) == 5


def test_parameters_to_prune_and_custom_method(tmp_path):
    class Every2nd(prune.BasePruningMethod):
        PRUNING_TYPE = "unstructured"

        def compute_mask(self, t, default_mask):
            mask = default_mask.clone()
            mask.view(-1)[::2] = 0
            return mask

    torch.manual_seed(0)
    model = Net()
    pruning = ModelPruning(
        Every2nd, parameters_to_prune=[(model.l2, "weight")], make_pruning_permanent=False
    )
    _fit(model, pruning, enable_checkpointing=False, default_root_dir=tmp_path)
    assert model.l2.weight_mask.flatten().tolist() == [0.0, 1.0] * 4
    assert not hasattr(model.l1, "weight_mask")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"pruning_fn": "l1_unstructured", "parameter_names": ["gamma"]}, "isn't in"),
        ({"pruning_fn": "l3"}, "isn't available in PyTorch's"),
        (
            {"pruning_fn": "random_structured", "use_global_unstructured": False},
            "`pruning_dim` should",
        ),
        (
            {"pruning_fn": "ln_structured", "pruning_dim": 0, "use_global_unstructured": False},
            "`pruning_norm`",
        ),
        (
            {"pruning_fn": "ln_structured", "pruning_dim": 0, "pruning_norm": 1},
            'Only the "unstructured"',
        ),
        (
            {"pruning_fn": prune.L1Unstructured, "use_global_unstructured": False},
            "only supported with",
        ),
        ({"pruning_fn": prune.L1Unstructured(amount=0.1)}, "pass the class, not an instance"),
        ({"pruning_fn": "l1_unstructured", "amount": "half"}, "`amount` should be provided"),
        ({"pruning_fn": "l1_unstructured", "verbose": 3}, "`verbose` must be any of"),
    ],
)
def test_constructor_errors(kwargs, match):
    with pytest.raises(MisconfigurationException, match=match):
        ModelPruning(**kwargs)


def test_sanitize_errors():
    model, other = Net(), torch.nn.Linear(2, 2)
    with pytest.raises(MisconfigurationException, match="don't exist in the model"):
        ModelPruning.sanitize_parameters_to_prune(model, [(other, "weight")])
    with pytest.raises(MisconfigurationException, match="missing parameters: \\['gamma'\\]"):
        ModelPruning.sanitize_parameters_to_prune(model, [(model.l1, "gamma")])
    with pytest.raises(MisconfigurationException, match="should either be list of tuple"):
        ModelPruning.sanitize_parameters_to_prune(model, [(model.l1,)])
    found = ModelPruning.sanitize_parameters_to_prune(model, parameter_names=["bias"])
    assert found == [(model.l1, "bias"), (model.l2, "bias")]


def test_resume_between_prunings_matches_an_uninterrupted_run(tmp_path):
    def run(ckpt=None, sub="a"):
        torch.manual_seed(0)
        model = Net()
        every = ModelCheckpoint(dirpath=tmp_path / sub, save_top_k=-1, filename="{epoch}")
        pruning = ModelPruning("l1_unstructured", amount=0.3)
        _fit(model, pruning, every, max_epochs=4, default_root_dir=tmp_path, ckpt_path=ckpt)
        return model

    full = run()
    saved = torch.load(tmp_path / "a" / "epoch=1.ckpt", weights_only=False)
    state = saved["callbacks"]["ModelPruning"]
    assert sorted(state["masks"]) == ["l1.bias", "l1.weight", "l2.bias", "l2.weight"]
    assert state["rewound"] is True
    resumed = run(str(tmp_path / "a" / "epoch=1.ckpt"), "b")
    for (k, a), b in zip(full.state_dict().items(), resumed.state_dict().values()):
        torch.testing.assert_close(a, b, msg=k)
