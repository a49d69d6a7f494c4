"""Fully sharded data parallel on FSDP2 (``torch.distributed.fsdp.fully_shard``).

Each rank keeps only its shard of every parameter, gradient and optimizer state; a layer's
parameters are gathered just before it runs and freed after. Processes start as for DDP (this
strategy is a DDPStrategy for launching, ranks and the process group)::

    python train.py       # Trainer(accelerator="cpu", strategy="fsdp", devices=2)
    torchrun --nproc_per_node 2 train.py

Wrap each transformer block separately, checkpoint activations, save sharded checkpoints::

    Trainer(strategy=FSDPStrategy(auto_wrap_policy={Block}, activation_checkpointing_policy={Block},
                                  state_dict_type="sharded"), devices=2)

A sharded checkpoint is a folder, in Lightning's layout: DCP's ``.metadata`` and one
``__<rank>_0.distcp`` per rank (``{"model": ..., "optimizer_0": ...}``) plus ``meta.pt`` (all
other keys of the checkpoint dict). It is written into a hidden temporary folder and renamed
into place once every rank has finished, so a folder under the final name is always complete.

With an asynchronous checkpoint IO (``is_async`` true, e.g. plkit's ``AsyncCheckpointIO``) a
sharded save is written in the background (``torch.distributed.checkpoint.async_save``): the
loop waits only while the shards are copied to host memory; the rename follows once every rank's
write ended. The next save, a load and ``teardown`` wait for it and raise its error; a removal
(``ModelCheckpoint``'s top-k) is queued behind it and skipped when it failed.
"""

from __future__ import annotations

import inspect
import os
import secrets
import shutil
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import timedelta
from functools import partial
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

from placcel.accelerators.accelerator import Accelerator
from placcel.environments.cluster_environment import ClusterEnvironment
from placcel.precision.precision import Precision
from placcel.strategies._background_saves import _BackgroundSaves, _HostCopyStager, _to_host
from placcel.strategies.ddp import DDPStrategy

__all__ = ["SHARDING_STRATEGIES", "FSDPStrategy", "ShardedOptimizerState"]

#: Lightning's names for how much is sharded.
SHARDING_STRATEGIES = ("FULL_SHARD", "SHARD_GRAD_OP", "NO_SHARD", "HYBRID_SHARD")
_METADATA_FILENAME = "meta.pt"  # Lightning's name for the non-tensor part of a sharded folder
_STATE_DICT_TYPES = ("full", "sharded")


class ShardedOptimizerState:
    """An optimizer's state still in a sharded checkpoint folder: what
    :meth:`FSDPStrategy.load_checkpoint` puts in ``optimizer_states``, loaded shard by shard by
    :meth:`FSDPStrategy.load_optimizer_state` once the optimizer exists.

    Args:
        path: the checkpoint folder.
        key: its entry in the folder (``"optimizer_0"`` …).
    """

    __slots__ = ("key", "path")

    def __init__(self, path: str, key: str) -> None:
        self.path = path
        self.key = key

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ShardedOptimizerState) and (other.path, other.key) == (
            self.path,
            self.key,
        )

    def __hash__(self) -> int:
        return hash((self.path, self.key))

    def __repr__(self) -> str:
        return f"ShardedOptimizerState(path={self.path!r}, key={self.key!r})"


class FSDPStrategy(DDPStrategy):
    """One process per device; parameters, gradients and optimizer states sharded by FSDP2.

    Args:
        accelerator: the hardware back-end.
        parallel_devices: one device per local process (filled in by ``build_strategy``).
        cluster_environment: where this process sits (detected by ``build_strategy``).
        checkpoint_io: writes, reads and removes checkpoint files.
        precision: the precision (``"32-true"`` when None).
        process_group_backend: ``"gloo"``, ``"nccl"`` …; nccl on CUDA, gloo otherwise when None.
        timeout: how long a collective may wait for the other ranks.
        rendezvous_timeout: how long the ranks may take to meet (see DDPStrategy).
        start_method: ``"popen"`` (re-run the script per rank), ``"spawn"``, ``"fork"`` …
        cpu_offload: keep parameters, gradients and optimizer states on the CPU between uses:
            True, or a ``torch.distributed.fsdp.CPUOffloadPolicy``.
        mixed_precision: a ``torch.distributed.fsdp.MixedPrecisionPolicy`` (e.g.
            ``param_dtype=torch.bfloat16, reduce_dtype=torch.float32``).
        auto_wrap_policy: which submodules are sharded as their own unit (gathered and freed
            on their own): a set of layer classes, or a callable taking a module (or FSDP1's
            ``(module, recurse, nonwrapped_numel)``) and returning a bool. The root module is
            always a unit.
        activation_checkpointing_policy: which submodules recompute their activations in
            backward: a set of layer classes or such a callable.
        sharding_strategy: ``"FULL_SHARD"`` (default: free gathered parameters after forward),
            ``"SHARD_GRAD_OP"`` (keep them until backward), ``"NO_SHARD"`` (replicate, as DDP)
            or ``"HYBRID_SHARD"`` (shard within a node, replicate across nodes).
        state_dict_type: ``"full"`` (default, as in Lightning: weights and optimizer states
            gathered on rank 0 into one file) or ``"sharded"`` (a folder, each rank writes its
            shards through ``torch.distributed.checkpoint``).
        device_mesh: ``(replicas, shards)`` for ``"HYBRID_SHARD"`` (or a ``DeviceMesh``);
            ``(num_nodes, devices)`` when None.
        **kwargs: other ``fully_shard`` arguments (e.g. ``shard_placement_fn``).
    """

    steps_through_forward = False  # the module itself is sharded; its step methods are hooked

    def __init__(
        self,
        accelerator: Accelerator | None = None,
        parallel_devices: list[torch.device] | None = None,
        cluster_environment: ClusterEnvironment | None = None,
        checkpoint_io: Any = None,
        precision: Precision | None = None,
        process_group_backend: str | None = None,
        timeout: timedelta = timedelta(minutes=30),
        rendezvous_timeout: timedelta | None = None,
        start_method: str = "popen",
        cpu_offload: Any = None,
        mixed_precision: Any = None,
        auto_wrap_policy: Any = None,
        activation_checkpointing_policy: Any = None,
        sharding_strategy: str = "FULL_SHARD",
        state_dict_type: str = "full",
        device_mesh: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            accelerator=accelerator,
            parallel_devices=parallel_devices,
            cluster_environment=cluster_environment,
            checkpoint_io=checkpoint_io,
            precision=precision,
            process_group_backend=process_group_backend,
            timeout=timeout,
            rendezvous_timeout=rendezvous_timeout,
            start_method=start_method,
        )
        self.ddp_kwargs = {}
        self.cpu_offload = cpu_offload
        self.mixed_precision = mixed_precision
        self.auto_wrap_policy = _as_policy(auto_wrap_policy, "auto_wrap_policy")
        self.activation_checkpointing_policy = _as_policy(
            activation_checkpointing_policy, "activation_checkpointing_policy"
        )
        self.sharding_strategy = _check_choice(
            sharding_strategy, SHARDING_STRATEGIES, "sharding_strategy", upper=True
        )
        self.state_dict_type = _check_choice(state_dict_type, _STATE_DICT_TYPES, "state_dict_type")
        self.device_mesh = device_mesh
        self.kwargs = kwargs
        self._module: nn.Module | None = None
        self._saves: _BackgroundSaves | None = None  # asynchronous sharded saves, once one ran

    # -- setup ---------------------------------------------------------------------------------

    def setup_module(self, module: nn.Module) -> nn.Module:
        """Checkpoint activations, shard the policy's submodules bottom-up, then the root; a
        module built on the meta device (``init_module(empty_init=True)``) is materialised
        shard by shard (``to_empty`` + ``reset_parameters``), never whole.

        Args:
            module: the model; sharded in place (its class becomes ``FSDP<Name>``).
        """
        from torch.distributed.fsdp import FSDPModule, fully_shard

        if not dist.is_initialized():
            raise RuntimeError(
                "FSDPStrategy.setup_module needs the process group; call setup_environment() first."
            )
        if isinstance(module, FSDPModule):  # sharded by an earlier entry point (or the user)
            self._module = module
            return module
        module = self.precision.convert_module(module)
        if self.activation_checkpointing_policy is not None:
            _checkpoint_activations(module, self.activation_checkpointing_policy)
        on_meta = any(t.is_meta for t in _tensors(module))
        if not on_meta:
            self.module_to_device(module)
        options = self._shard_options()
        if self.auto_wrap_policy is not None:
            for sub in _post_order(module):
                if sub is not module and _selected(self.auto_wrap_policy, sub):
                    fully_shard(sub, **options)
        fully_shard(module, **options)
        if on_meta:
            _materialize(module, self.root_device)
        self._module = module
        return module

    def setup_step_methods(self, module: nn.Module, names: Sequence[str]) -> None:
        """Register the named methods with FSDP (``register_fsdp_forward_method``), so that each
        call gathers the root's parameters first and frees them after, as ``forward`` does.

        Args:
            module: what :meth:`setup_module` returned.
            names: method names of ``module``; missing ones are skipped.
        """
        from torch.distributed.fsdp import register_fsdp_forward_method

        for name in names:
            # registered once: a later entry point (test after fit) finds the hooked method
            if callable(getattr(module, name, None)) and name not in vars(module):
                register_fsdp_forward_method(module, name)

    def tensor_init_context(self, empty_init: bool | None = None) -> AbstractContextManager[Any]:
        """With ``empty_init=True`` modules are built on the meta device (no memory) and
        materialised by :meth:`setup_module` one shard at a time; otherwise as they are.

        Args:
            empty_init: build on the meta device.
        """
        return torch.device("meta") if empty_init else nullcontext()

    def no_backward_sync(self, module: nn.Module, enabled: bool) -> AbstractContextManager[Any]:
        """While accumulating gradients, skip the reduce-scatter (``set_requires_gradient_sync``).

        Args:
            module: what :meth:`setup_module` returned.
            enabled: skip the synchronisation.
        """
        from torch.distributed.fsdp import FSDPModule

        if not enabled or not isinstance(module, FSDPModule):
            return nullcontext()
        return _no_gradient_sync(module)

    def _shard_options(self) -> dict[str, Any]:
        from torch.distributed.fsdp import CPUOffloadPolicy, MixedPrecisionPolicy, OffloadPolicy

        options: dict[str, Any] = dict(self.kwargs)
        options["reshard_after_forward"] = self.sharding_strategy != "SHARD_GRAD_OP"
        mesh = self._mesh()
        if mesh is not None:
            options["mesh"] = mesh
        if self.cpu_offload:
            offload = self.cpu_offload
            options["offload_policy"] = (
                offload
                if isinstance(offload, OffloadPolicy)
                else CPUOffloadPolicy(pin_memory=self.root_device.type == "cuda")
            )
        if self.mixed_precision is not None:
            if not isinstance(self.mixed_precision, MixedPrecisionPolicy):
                raise TypeError(
                    f"mixed_precision={self.mixed_precision!r} is not a MixedPrecisionPolicy;"
                    " pass torch.distributed.fsdp.MixedPrecisionPolicy(param_dtype=torch.bfloat16)."
                )
            options["mp_policy"] = self.mixed_precision
        return options

    def _mesh(self) -> Any:
        from torch.distributed.device_mesh import DeviceMesh, init_device_mesh

        if isinstance(self.device_mesh, DeviceMesh):
            return self.device_mesh
        if self.sharding_strategy == "NO_SHARD":
            shape: tuple[int, int] = (self.world_size, 1)
        elif self.sharding_strategy == "HYBRID_SHARD":
            given = self.device_mesh or (self.num_nodes, self.num_processes)
            shape = (int(given[0]), int(given[-1])) if len(given) == 2 else tuple(given)
        else:
            return None
        if len(shape) != 2 or shape[0] * shape[1] != self.world_size:
            raise ValueError(
                f"device_mesh={shape} must be (replicas, shards) with replicas * shards equal to"
                f" the world size {self.world_size}."
            )
        device_type = self.root_device.type
        return init_device_mesh(device_type, shape, mesh_dim_names=("replicate", "shard"))

    # -- state ---------------------------------------------------------------------------------

    def _options(self, full: bool, **extra: Any) -> Any:
        from torch.distributed.checkpoint.state_dict import StateDictOptions

        return StateDictOptions(full_state_dict=full, cpu_offload=full, **extra)

    def module_state_dict(self, module: nn.Module) -> dict[str, Any]:
        """``"full"``: all weights on rank 0 (on the CPU; empty elsewhere). ``"sharded"``: this
        rank's shards as DTensors.

        Args:
            module: what :meth:`setup_module` returned.
        """
        from torch.distributed.checkpoint.state_dict import get_model_state_dict

        return get_model_state_dict(module, options=self._options(self.state_dict_type == "full"))

    def load_module_state_dict(
        self, module: nn.Module, state_dict: Mapping[str, Any], strict: bool = True
    ) -> Any:
        """Load full weights (every rank keeps its shard) or this rank's shards into ``module``.

        Args:
            module: what :meth:`setup_module` returned.
            state_dict: full tensors (from a ``.ckpt`` file) or DTensors (a sharded folder).
            strict: whether the keys must match exactly.
        """
        from torch.distributed.checkpoint.state_dict import set_model_state_dict
        from torch.distributed.tensor import DTensor

        full = not any(isinstance(v, DTensor) for v in state_dict.values())
        options = self._options(full, strict=strict)
        options.cpu_offload = False
        return set_model_state_dict(module, dict(state_dict), options=options)

    def optimizer_state(self, optimizer: torch.optim.Optimizer) -> dict[str, Any]:
        """``"full"``: the whole state on rank 0 in ``optimizer.state_dict()``'s form (parameters
        numbered), so the file is the one a single process writes. ``"sharded"``: this rank's
        shards, keyed by parameter name.

        Args:
            optimizer: an optimizer over the sharded module's parameters.
        """
        from torch.distributed.checkpoint.state_dict import get_optimizer_state_dict

        module = self._require_module()
        full = self.state_dict_type == "full"
        state = get_optimizer_state_dict(module, optimizer, options=self._options(full))
        return _numbered(state) if full and state else state

    def load_optimizer_state(self, optimizer: torch.optim.Optimizer, state: Any) -> None:
        """Load a full state (a ``.ckpt`` file's, parameters numbered) or a sharded folder's
        (:class:`ShardedOptimizerState`, read shard by shard).

        Args:
            optimizer: the optimizer to restore.
            state: the checkpoint's entry for it.
        """
        import torch.distributed.checkpoint as dcp
        from torch.distributed.checkpoint.state_dict import (
            get_optimizer_state_dict,
            set_optimizer_state_dict,
        )

        module = self._require_module()
        if isinstance(state, ShardedOptimizerState):
            # the template (states initialised by a zero step) gets this rank's shards in place
            loaded = {state.key: get_optimizer_state_dict(module, optimizer)}
            dcp.load(loaded, storage_reader=self._reader(state.path))
            set_optimizer_state_dict(module, optimizer, loaded[state.key])
            return
        named = _named(state, optimizer, module)
        options = self._options(True)
        options.cpu_offload = False
        set_optimizer_state_dict(module, optimizer, named, options=options)

    # -- checkpoint files ----------------------------------------------------------------------

    def save_checkpoint(self, checkpoint: dict[str, Any], filepath: str) -> None:
        """``"full"``: rank 0 writes one file. ``"sharded"``: every rank writes its shards into
        a temporary folder, rank 0 adds ``meta.pt`` and renames the folder into place.

        Args:
            checkpoint: the checkpoint dict (its state from :meth:`module_state_dict` and
                :meth:`optimizer_state`).
            filepath: the file or folder to write (the same on every rank).
        """
        path = os.fspath(filepath)
        if self.state_dict_type == "full":
            if os.path.isdir(path) and self.is_global_zero:
                if not os.path.isfile(os.path.join(path, _METADATA_FILENAME)):
                    raise IsADirectoryError(
                        f"The checkpoint path exists and is a directory: {path}"
                    )
                shutil.rmtree(path)
            super().save_checkpoint(checkpoint, path)
            return
        self._save_sharded(dict(checkpoint), path)

    def _save_sharded(self, checkpoint: dict[str, Any], path: str) -> None:
        import torch.distributed.checkpoint as dcp

        path = _local_folder(path)
        if self._saves is not None:
            self._saves.wait()  # one save at a time; an earlier one's error is raised here
        folder = os.path.dirname(os.path.abspath(path))
        tmp = self.broadcast(
            os.path.join(folder, f".{os.path.basename(path)}.tmp-{secrets.token_hex(4)}")
        )
        if self.is_global_zero:
            os.makedirs(tmp)
        self.barrier("sharded_checkpoint_folder")
        shards = {"model": checkpoint.pop("state_dict")}
        for index, state in enumerate(checkpoint.pop("optimizer_states", [])):
            shards[f"optimizer_{index}"] = state
        try:
            if getattr(self.checkpoint_io, "is_async", False):
                self._save_sharded_async(shards, checkpoint, tmp, path)
                return
            # returns once every rank's files and .metadata exist
            dcp.save(shards, storage_writer=self._storage_writer(tmp))
            if self.is_global_zero:
                # written now, not in a background thread: the folder is renamed right after
                self._writer_io().save_checkpoint(checkpoint, os.path.join(tmp, _METADATA_FILENAME))
                _replace_folder(tmp, path)
        except BaseException:
            if self.is_global_zero:
                shutil.rmtree(tmp, ignore_errors=True)
            raise

    def _save_sharded_async(
        self, shards: dict[str, Any], meta: dict[str, Any], tmp: str, path: str
    ) -> None:
        """Stage the shards in host memory (the only wait) and write them in the background;
        the last job renames the folder into place once every rank's write ended."""
        import torch.distributed.checkpoint as dcp

        saves = self._saves = self._saves or _BackgroundSaves()
        group = saves.group(self.timeout)
        response = dcp.async_save(
            shards,
            storage_writer=self._storage_writer(tmp),
            process_group=group,
            async_stager=_HostCopyStager(),
        )
        upload: Future[Any]
        if isinstance(response, Future):
            upload = response  # staged already (the default stager copies before returning)
        else:  # a stager that copies in the background: the loop still waits for the copy
            response.staging_completion.result()
            upload = response.upload_completion
        meta = _to_host(meta) if self.is_global_zero else {}
        saves.submit(lambda: self._finish_sharded(upload, meta, tmp, path, group))

    def _finish_sharded(
        self, upload: Future[Any], meta: dict[str, Any], tmp: str, path: str, group: Any
    ) -> None:
        """In the background, on every rank: wait for this rank's write (DCP returns once every
        rank's files and ``.metadata`` exist), then rank 0 adds ``meta.pt`` and renames; the
        outcome is broadcast so every rank raises the same error."""
        error: BaseException | None = None
        try:
            upload.result()
            if self.is_global_zero:
                self._writer_io().save_checkpoint(meta, os.path.join(tmp, _METADATA_FILENAME))
                _replace_folder(tmp, path)
        except BaseException as err:
            error = err
            if self.is_global_zero:
                shutil.rmtree(tmp, ignore_errors=True)
        outcome = [None if error is None else f"{type(error).__name__}: {error}"]
        dist.broadcast_object_list(outcome, src=0, group=group)
        if error is not None:
            raise error
        if outcome[0] is not None:
            raise RuntimeError(f"Rank 0 could not finish the checkpoint {path!r}: {outcome[0]}")

    def remove_checkpoint(self, filepath: str) -> None:
        """Delete a checkpoint file or folder on global rank 0; after an asynchronous sharded
        save, queued behind it (and skipped when it failed, keeping the older checkpoint).

        Args:
            filepath: the checkpoint to delete.
        """
        if self._saves is None:
            super().remove_checkpoint(filepath)
        elif self.is_global_zero:
            self._saves.submit(partial(super().remove_checkpoint, filepath), after_error=False)

    def _writer_io(self) -> Any:
        """The IO that writes now: an asynchronous IO's wrapped one (``checkpoint_io``)."""
        io = self._require_checkpoint_io()
        return getattr(io, "checkpoint_io", None) or io

    def _storage_writer(self, path: str) -> Any:
        """The writing IO's ``storage_writer(path)`` when it has one, else DCP's own."""
        make = getattr(self._writer_io(), "storage_writer", None)
        if make is not None:
            return make(path)
        from torch.distributed.checkpoint import FileSystemWriter

        return FileSystemWriter(path)

    def load_checkpoint(
        self, filepath: str, map_location: Any = None, weights_only: bool | None = None
    ) -> dict[str, Any]:
        """A ``.ckpt`` file as usual; a sharded folder: ``meta.pt``'s keys, this rank's shards
        of the weights under ``state_dict`` and a :class:`ShardedOptimizerState` per optimizer.

        Args:
            filepath: the checkpoint file or folder.
            map_location: passed to ``checkpoint_io.load_checkpoint`` for files.
            weights_only: passed on for files and ``meta.pt`` (None: the IO's default); the
                shards are read by the safe reader either way.
        """
        import torch.distributed.checkpoint as dcp
        from torch.distributed.checkpoint.state_dict import get_model_state_dict

        if self._saves is not None:
            self._saves.wait()  # a pending save may be the folder asked for
        path = os.fspath(filepath)
        if not os.path.isfile(os.path.join(path, _METADATA_FILENAME)):
            return super().load_checkpoint(path, map_location, weights_only)
        checkpoint = super().load_checkpoint(
            os.path.join(path, _METADATA_FILENAME), weights_only=weights_only
        )
        reader = self._reader(path)
        keys = reader.read_metadata().state_dict_metadata.keys()
        module = self._require_module()
        loaded = {"model": get_model_state_dict(module)}  # this rank's shards, read in place
        dcp.load(loaded, storage_reader=self._reader(path))
        checkpoint["state_dict"] = loaded["model"]
        optimizers = sorted({key.split(".", 1)[0] for key in keys if key.startswith("optimizer_")})
        if optimizers:
            checkpoint["optimizer_states"] = [
                ShardedOptimizerState(path, key)
                for key in sorted(optimizers, key=lambda k: int(k.split("_")[1]))
            ]
        return checkpoint

    def _reader(self, path: str) -> Any:
        """The checkpoint IO's safe reader when it has one (plkit's), else DCP's own."""
        make = getattr(self.checkpoint_io, "storage_reader", None)
        if make is not None:
            return make(path)
        from torch.distributed.checkpoint import FileSystemReader

        return FileSystemReader(path)

    def teardown(self) -> None:
        """Wait for a background save (raising its error), forget the module, then as
        DDPStrategy."""
        self._module = None
        saves, self._saves = self._saves, None
        try:
            if saves is not None:
                saves.close()
        finally:
            super().teardown()

    def _require_module(self) -> nn.Module:
        if self._module is None:
            raise RuntimeError(
                "FSDPStrategy has no sharded module; call setup_module(model) before saving or"
                " loading state."
            )
        return self._module


# -- helpers -------------------------------------------------------------------------------------


def _check_choice(value: Any, choices: Sequence[str], name: str, upper: bool = False) -> str:
    text = getattr(value, "name", value)  # FSDP1's ShardingStrategy enum works too
    if isinstance(text, str):
        text = text.upper() if upper else text.lower()
    if text not in choices:
        raise ValueError(f"{name}={value!r} is not valid; write one of {list(choices)}.")
    return str(text)


def _as_policy(policy: Any, name: str) -> Any:
    if policy is None or callable(policy):
        return policy
    if isinstance(policy, (set, frozenset, list, tuple)) and all(
        isinstance(cls, type) and issubclass(cls, nn.Module) for cls in policy
    ):
        return tuple(policy)
    raise TypeError(
        f"{name}={policy!r} must be a set of nn.Module classes (e.g. {{nn.TransformerEncoderLayer}})"
        " or a callable taking a module and returning a bool."
    )


def _selected(policy: Any, module: nn.Module) -> bool:
    if isinstance(policy, tuple):
        return isinstance(module, policy)
    try:
        count = len(inspect.signature(policy).parameters)
    except (TypeError, ValueError):
        count = 1
    if count >= 3:  # FSDP1's policies: (module, recurse, nonwrapped_numel)
        numel = sum(p.numel() for p in module.parameters(recurse=False))
        return bool(policy(module=module, recurse=False, nonwrapped_numel=numel))
    return bool(policy(module))


def _post_order(module: nn.Module) -> list[nn.Module]:
    """Submodules children first, so inner units are sharded before the ones containing them."""
    ordered: list[nn.Module] = []
    for child in module.children():
        ordered.extend(_post_order(child))
    ordered.append(module)
    return ordered


def _checkpoint_activations(module: nn.Module, policy: Any) -> None:
    from torch.distributed.algorithms._checkpoint.checkpoint_wrapper import (
        apply_activation_checkpointing,
        checkpoint_wrapper,
    )

    apply_activation_checkpointing(
        module, checkpoint_wrapper_fn=checkpoint_wrapper, check_fn=lambda m: _selected(policy, m)
    )


def _tensors(module: nn.Module) -> Iterator[torch.Tensor]:
    yield from module.parameters()
    yield from module.buffers()


def _materialize(module: nn.Module, device: torch.device) -> None:
    """Allocate this rank's shards, then let each layer initialise its own (``reset_parameters``)."""
    module.to_empty(device=device)
    with torch.no_grad():
        for sub in module.modules():
            reset = getattr(sub, "reset_parameters", None)
            if callable(reset):
                reset()


@contextmanager
def _no_gradient_sync(module: Any) -> Iterator[None]:
    module.set_requires_gradient_sync(False)
    try:
        yield
    finally:
        module.set_requires_gradient_sync(True)


def _local_folder(path: str) -> str:
    """``path`` (or ``file://path``) as a local path; other schemes raise."""
    scheme = path.split("://", 1)[0] if "://" in path else None
    if scheme is not None and scheme.lower() != "file":
        raise ValueError(
            f"FSDPStrategy(state_dict_type='sharded') writes checkpoint folders on the local"
            f" disk only, not to {path!r}: use a local path (e.g. a shared file system), or"
            " state_dict_type='full', which writes one file anywhere fsspec reaches."
        )
    return path.split("://", 1)[1] if scheme is not None else path


def _replace_folder(new: str, path: str) -> None:
    """Put folder ``new`` at ``path``; an old checkpoint there is moved aside first and removed
    after, so ``path`` never names a half-written folder."""
    old = None
    if os.path.lexists(path):
        old = os.path.join(
            os.path.dirname(path), f".{os.path.basename(path)}.old-{secrets.token_hex(4)}"
        )
        os.replace(path, old)
    os.replace(new, path)
    if old is not None:
        if os.path.isdir(old) and not os.path.islink(old):
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.remove(old)


def _numbered(state: dict[str, Any]) -> dict[str, Any]:
    """Name-keyed optimizer state (``get_optimizer_state_dict``'s) with parameters numbered in
    param-group order, as ``optimizer.state_dict()`` gives it."""
    groups = [dict(group) for group in state.get("param_groups", [])]
    ids: dict[str, int] = {}
    for group in groups:
        for name in group["params"]:
            ids.setdefault(name, len(ids))
        group["params"] = [ids[name] for name in group["params"]]
    return {
        "state": {ids[name]: value for name, value in state.get("state", {}).items()},
        "param_groups": groups,
    }


def _named(state: Mapping[str, Any], optimizer: torch.optim.Optimizer, module: nn.Module) -> Any:
    """A numbered optimizer state (a ``.ckpt`` file's) keyed by this module's parameter names."""
    groups = state.get("param_groups", [])
    if not groups or not groups[0]["params"] or isinstance(groups[0]["params"][0], str):
        return dict(state)  # already keyed by name
    names = {id(p): name for name, p in _param_names(module)}
    ordered = [names[id(p)] for group in optimizer.param_groups for p in group["params"]]
    numbered = [i for group in groups for i in group["params"]]
    if len(numbered) != len(ordered):
        raise ValueError(
            f"The checkpoint's optimizer state has {len(numbered)} parameters but the optimizer"
            f" has {len(ordered)}; resume with the same configure_optimizers."
        )
    by_id = dict(zip(numbered, ordered))
    return {
        "state": {by_id[int(i)]: value for i, value in state.get("state", {}).items()},
        "param_groups": [
            {**group, "params": [by_id[i] for i in group["params"]]} for group in groups
        ],
    }


def _param_names(module: nn.Module) -> Iterator[tuple[str, nn.Parameter]]:
    prefix = "_checkpoint_wrapped_module."
    for name, param in module.named_parameters():
        yield name.replace(prefix, ""), param
