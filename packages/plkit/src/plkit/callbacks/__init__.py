"""Built-in callbacks (Lightning 2.x names), and the ``Callback`` base class to write your own.

::

    from plkit.callbacks import EarlyStopping, LearningRateMonitor, ModelCheckpoint

    trainer = Trainer(callbacks=[ModelCheckpoint(monitor="val_loss"), EarlyStopping("val_loss")])
"""

from plcore.callback import Callback
from plkit.callbacks.batch_size_finder import BatchSizeFinder
from plkit.callbacks.early_stopping import EarlyStopping
from plkit.callbacks.finetuning import BackboneFinetuning, BaseFinetuning
from plkit.callbacks.finite_loss import NonFiniteLossCheck, NonFiniteLossError
from plkit.callbacks.lr_finder import LearningRateFinder
from plkit.callbacks.lr_monitor import LearningRateMonitor
from plkit.callbacks.model_checkpoint import ModelCheckpoint
from plkit.callbacks.model_summary import ModelSummary
from plkit.callbacks.pruning import ModelPruning
from plkit.callbacks.stochastic_weight_avg import StochasticWeightAveraging
from plkit.callbacks.timer import Timer
from plkit.callbacks.weight_averaging import EMAWeightAveraging, WeightAveraging
from pllog import ProgressBar, TQDMProgressBar

# isort: split
# --- issue 18 item 4 part A: writers, schedules, monitors, rich (cbA) ---
from plkit.callbacks.checkpoint import Checkpoint
from plkit.callbacks.device_stats_monitor import DeviceStatsMonitor
from plkit.callbacks.gradient_accumulation_scheduler import GradientAccumulationScheduler
from plkit.callbacks.lambda_function import LambdaCallback
from plkit.callbacks.on_exception_checkpoint import OnExceptionCheckpoint
from plkit.callbacks.prediction_writer import BasePredictionWriter
from plkit.callbacks.rich_model_summary import RichModelSummary
from pllog import RichProgressBar, RichProgressBarTheme

# --- end cbA ---

__all__ = [
    "BatchSizeFinder",
    "Callback",
    "EarlyStopping",
    "LearningRateFinder",
    "LearningRateMonitor",
    "ModelCheckpoint",
    "ModelSummary",
    "NonFiniteLossCheck",
    "NonFiniteLossError",
    "ProgressBar",
    "TQDMProgressBar",
    "Timer",
    # weight averaging, finetuning, pruning (issue 18, item 4 B)
    "BackboneFinetuning",
    "BaseFinetuning",
    "EMAWeightAveraging",
    "ModelPruning",
    "StochasticWeightAveraging",
    "WeightAveraging",
    # --- cbA ---
    "BasePredictionWriter",
    "Checkpoint",
    "DeviceStatsMonitor",
    "GradientAccumulationScheduler",
    "LambdaCallback",
    "OnExceptionCheckpoint",
    "RichModelSummary",
    "RichProgressBar",
    "RichProgressBarTheme",
    # --- end cbA ---
]
