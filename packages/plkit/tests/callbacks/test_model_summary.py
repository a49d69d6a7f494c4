from __future__ import annotations

import logging

import pytest
import torch
from torch import nn

from plkit.callbacks import ModelSummary
from plkit.callbacks._summary import get_human_readable_count, summarize, summarize_layers


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 16))
        self.head = nn.Linear(16, 2)
        self.norm = nn.BatchNorm1d(16)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.encoder(x))


def _numel(module):
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize(
    ("number", "text"),
    [
        (0, "0  "),
        (66, "66  "),
        (999, "999  "),
        (1234, "1.2 K"),
        (12_345, "12.3 K"),
        (123_456, "123 K"),
        (2_000_000, "2.0 M"),
        (3_400_000_000, "3.4 B"),
        (5 * 10**12, "5.0 T"),
        (10**16, "10,000 T"),
    ],
)
def test_human_readable_count(number, text):
    assert get_human_readable_count(number) == text


def test_human_readable_count_rejects_negative():
    with pytest.raises(ValueError, match=">= 0"):
        get_human_readable_count(-1)


def test_layers_depth_one():
    net = Net()
    rows = summarize_layers(net, 1)
    assert [(r.name, r.type, r.params, r.mode) for r in rows] == [
        ("encoder", "Sequential", _numel(net.encoder), "train"),
        ("head", "Linear", _numel(net.head), "train"),
        ("norm", "BatchNorm1d", _numel(net.norm), "train"),
    ]


def test_layers_all_levels_and_zero():
    net = Net()
    names = [r.name for r in summarize_layers(net, -1)]
    assert names == ["encoder", "encoder.0", "encoder.1", "encoder.2", "head", "norm"]
    assert [r.name for r in summarize_layers(net, 2)] == names
    assert summarize_layers(net, 0) == []


def test_table_content_and_totals():
    net = Net()
    net.norm.eval()
    net.head.weight.requires_grad_(False)
    text = summarize(net, 1)
    lines = text.splitlines()
    header = ["", "Name", "Type", "Params", "Mode", "FLOPs"]
    assert [c.strip() for c in lines[0].split("|")] == header
    assert set(lines[1]) == {"-"} and lines[1] == lines[5]
    row = [c.strip() for c in lines[2].split("|")]
    assert row == ["0", "encoder", "Sequential", "880", "train", "0"]  # no example: no FLOPs
    assert [c.strip() for c in lines[4].split("|")] == [
        "2",
        "norm",
        "BatchNorm1d",
        "32",
        "eval",
        "0",
    ]
    total = _numel(net)
    frozen = net.head.weight.numel()
    assert lines[-1] == f"{0:<10}Total Flops"
    footer = lines[-7:-1]
    assert footer[0] == f"{get_human_readable_count(total - frozen):<10}Trainable params"
    assert footer[1] == f"{get_human_readable_count(frozen):<10}Non-trainable params"
    assert footer[2] == f"{get_human_readable_count(total):<10}Total params"
    assert footer[3] == f"{total * 4 / 1e6:<10.3f}Total estimated model params size (MB)"
    assert footer[4] == f"{5:<10}Modules in train mode"
    assert footer[5] == f"{1:<10}Modules in eval mode"
    assert total == 880 + 34 + 32


def test_columns_line_up():
    lines = summarize(Net(), -1).splitlines()
    table = lines[: lines.index(lines[1], 2) + 1]
    positions = {
        tuple(i for i, ch in enumerate(line) if ch == "|") for line in table if "|" in line
    }
    assert len(positions) == 1  # every row puts its separators in the same columns
    assert len(table) == 9 and table[-1] == table[1]


def test_shared_parameters_count_once():
    lin = nn.Linear(4, 4)
    net = nn.Sequential(lin, lin)
    assert "20        Total params" in summarize(net, 1)


def test_example_input_sizes_and_mode_restored():
    net = Net()
    net.example_input_array = torch.zeros(3, 10)
    net.norm.eval()
    text = summarize(net, 1)
    header = [c.strip() for c in text.splitlines()[0].split("|")]
    assert header[-2:] == ["In sizes", "Out sizes"]
    rows = {r.name: r for r in summarize_layers(net, 1)}
    assert (rows["encoder"].in_size, rows["encoder"].out_size) == ([3, 10], [3, 16])
    assert (rows["head"].in_size, rows["head"].out_size) == ([3, 16], [3, 2])
    assert rows["norm"].in_size == "?"  # never called in forward
    assert net.training and net.encoder.training and not net.norm.training
    assert all(p.grad is None for p in net.parameters())


def test_example_input_tuple_and_dict():
    class Two(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(2, 3)

        def forward(self, x, y):
            return self.a(x) + y

    net = Two()
    net.example_input_array = (torch.zeros(1, 2), torch.zeros(1, 3))
    assert summarize_layers(net)[0].out_size == [1, 3]
    net.example_input_array = {"x": torch.zeros(5, 2), "y": torch.zeros(5, 3)}
    assert summarize_layers(net)[0].in_size == [5, 2]


def test_lazy_parameters_warn():
    net = nn.Sequential(nn.LazyLinear(3))
    with pytest.warns(UserWarning, match="UninitializedParameter"):
        text = summarize(net)
    assert "0         Total params" in text


def test_invalid_depth():
    with pytest.raises(ValueError, match="`max_depth` can be -1, 0 or > 0"):
        ModelSummary(max_depth=-2)
    with pytest.raises(ValueError, match="max_depth"):
        summarize(Net(), max_depth=1.5)


def test_callback_logs_on_rank_zero_only(fake_trainer, caplog):
    net = Net()
    with caplog.at_level(logging.INFO, logger="plkit.callbacks.model_summary"):
        ModelSummary().on_fit_start(fake_trainer(), net)
        assert "Total params" in caplog.text and "encoder" in caplog.text
        caplog.clear()
        ModelSummary().on_fit_start(fake_trainer(is_global_zero=False), net)
        ModelSummary(max_depth=0).on_fit_start(fake_trainer(), net)
    assert caplog.text == ""


def test_flops_of_the_example_forward_pass():
    net = Net()
    net.example_input_array = torch.zeros(4, 10)
    lines = summarize(net, 1).splitlines()
    cells = {r.split("|")[1].strip(): r.split("|")[5].strip() for r in lines[2:5]}
    # a Linear layer costs 2 * batch * in * out multiply-adds
    assert cells == {"encoder": "6.7 K", "head": "256", "norm": "0"}
    assert lines[-1] == f"{'6.9 K':<10}Total Flops"


def test_parameters_of_the_module_itself_get_a_row():
    net = Net()
    net.scale = nn.Parameter(torch.ones(7))
    row = [c.strip() for c in summarize(net, 1).splitlines()[5].split("|")]
    assert row == ["", "other params", "n/a", "7", "n/a", "n/a"]


def test_size_follows_the_trainer_precision():
    net = nn.Linear(1000, 1000)  # 1,001,000 parameters
    assert "2.002     Total estimated model params size" in summarize(net, precision="bf16-true")
    with pytest.warns(UserWarning, match="Precision 16-mixed is not supported"):
        text = summarize(net, precision="16-mixed")
    assert "4.004     Total estimated model params size" in text
