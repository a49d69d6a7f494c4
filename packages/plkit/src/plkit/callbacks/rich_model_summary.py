"""``RichModelSummary``: the model summary as a rich table (``pip install 'plkit[rich]'``).

::

    from plkit.callbacks import RichModelSummary

    trainer = Trainer(callbacks=[RichModelSummary(max_depth=2)])

rich is imported when the table is drawn; it is printed on rich's global console (stdout).
"""

from __future__ import annotations

import importlib.util
from typing import Any

from plkit.callbacks._summary import get_human_readable_count
from plkit.callbacks.model_summary import ModelSummary

__all__ = ["RichModelSummary"]


def require_rich(what: str) -> None:
    """Raise the error naming the extra when rich is missing.

    Args:
        what: the class that needs rich, for the message.
    """
    if importlib.util.find_spec("rich") is None:
        raise ModuleNotFoundError(
            f"`{what}` requires `rich` to be installed. Install it with"
            " `pip install 'plkit[rich]'` (or `pip install -U rich`)."
        )


class RichModelSummary(ModelSummary):
    """:class:`ModelSummary` drawn as a rich table, with the totals in bold below it.

    Args:
        max_depth: how deep to list submodules: 1 direct children, -1 all levels, 0 no summary.
        **summarize_kwargs: ``header_style`` (default ``"bold magenta"``) for the header row.

    Raises:
        ModuleNotFoundError: if rich is not installed.
    """

    def __init__(self, max_depth: int = 1, **summarize_kwargs: Any) -> None:
        require_rich("RichModelSummary")
        super().__init__(max_depth, **summarize_kwargs)

    @staticmethod
    def summarize(
        summary_data: list[tuple[str, list[str]]],
        total_parameters: int,
        trainable_parameters: int,
        model_size: float,
        total_training_modes: dict[str, int],
        total_flops: int,
        **summarize_kwargs: Any,
    ) -> None:
        """Print the table and the totals on rich's console.

        Args:
            summary_data: the columns, ``(header, cells)`` each.
            total_parameters: every parameter, counted once.
            trainable_parameters: those with ``requires_grad``.
            model_size: the estimated size in MB.
            total_training_modes: ``{"train": n, "eval": m}`` submodules.
            total_flops: FLOPs of the example forward pass (0 without one).
            **summarize_kwargs: ``header_style``.
        """
        from rich import get_console
        from rich.table import Table

        console = get_console()
        headers = [header for header, _ in summary_data]
        table = Table(header_style=summarize_kwargs.get("header_style", "bold magenta"))
        table.add_column(" ", style="dim")
        table.add_column("Name", justify="left", no_wrap=True)
        table.add_column("Type")
        table.add_column("Params", justify="right")
        if "Params per Device" in headers:
            table.add_column("Params per Device", justify="right")
        table.add_column("Mode")
        table.add_column("FLOPs", justify="right")
        for name in ("In sizes", "Out sizes"):
            if name in headers:
                table.add_column(name, justify="right", style="white")
        for row in zip(*(cells for _, cells in summary_data)):
            table.add_row(*(str(cell) for cell in row))
        console.print(table)

        def cell(text: str) -> str:
            return f"{text:<10}"

        grid = Table.grid(expand=True)
        grid.add_column()
        grid.add_column()
        for label, value in (
            ("Trainable params", cell(get_human_readable_count(trainable_parameters))),
            (
                "Non-trainable params",
                cell(get_human_readable_count(total_parameters - trainable_parameters)),
            ),
            ("Total params", cell(get_human_readable_count(total_parameters))),
            ("Total estimated model params size (MB)", cell(f"{model_size:,.3f}")),
            ("Modules in train mode", str(total_training_modes["train"])),
            ("Modules in eval mode", str(total_training_modes["eval"])),
            ("Total FLOPs", get_human_readable_count(total_flops)),
        ):
            grid.add_row(f"[bold]{label}[/]: {value}")
        console.print(grid)
