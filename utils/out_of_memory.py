"""Out of memory is an answer, not a crash: one line that says what did not fit and what to try.

run.py prints a TrainingFailure as one line and exits with TRAINING_FAILURE_EXIT (3); the
checkpoints a run wrote are complete files (each is written atomically), so nothing is lost but
the epoch that was running.
"""
from __future__ import annotations

import inspect
from contextlib import contextmanager

import torch

from utils.errors import TrainingFailure

# How each allocator words it, lower-cased: CUDA and MPS ("CUDA out of memory", "MPS backend out of
# memory"), the CPU allocator on Linux and macOS ("DefaultCPUAllocator: can't allocate memory") and
# on Windows ("... not enough memory"), and cuDNN / cuBLAS failing to get their workspace.
OUT_OF_MEMORY_MARKERS = ("out of memory", "can't allocate memory", "not enough memory",
                         "cudnn_status_not_enough_memory", "cublas_status_alloc_failed")


class OutOfMemory(TrainingFailure):
    """A batch did not fit in memory; the message says which and what to try."""


def is_out_of_memory(err: BaseException) -> bool:
    """Whether ``err`` is an allocation failure (CUDA, MPS or CPU), not a bug."""
    if isinstance(err, (torch.OutOfMemoryError, MemoryError)):
        return True
    # the CPU and MPS allocators raise a plain RuntimeError: only its text tells
    return isinstance(err, RuntimeError) and any(marker in str(err).lower() for marker in OUT_OF_MEMORY_MARKERS)


def out_of_memory_message(stage: str, batch_size: int, seq_len: int, model_desc: str, precision: str,
                          accum_steps: int) -> str:
    """One line: what ran out of memory during ``stage`` ("training" or "evaluation") and what to try,
    smallest change first."""
    tries = []
    if batch_size > 1:
        half = batch_size // 2
        effective = batch_size * accum_steps
        same = "the same" if batch_size % 2 == 0 else "about the same"
        tries.append(f"--batch_size {half} --accum_steps {2 * accum_steps} ({same} effective batch of {effective})")
    if precision == "fp32":
        tries.append("--amp auto (half-precision activations)")
    tries.append("a smaller model (--preset small)")
    tries.append(f"a shorter --seq_len (now {seq_len})")
    return (f"out of memory during {stage} (batch size {batch_size}, sequence length {seq_len}, model {model_desc}, "
            f"{precision}); try {', '.join(tries[:-1])} or {tries[-1]}; last.pth from the last finished epoch is "
            "intact")


def memory_context(cfg) -> dict:
    """What an out-of-memory message names, read from a run's Config: the sizes that set the
    memory a step needs."""
    return {"batch_size": cfg.batch_size, "seq_len": cfg.seq_len, "accum_steps": cfg.accum_steps,
            "precision": cfg.precision or "fp32",
            "model_desc": f"{cfg.preset} ({cfg.e_layers} layers, d_model {cfg.d_model})"}


def free_cuda_cache() -> None:
    """Give cached blocks back to the driver. Tensors that the failed step's frames still hold are
    freed only once its exception is dropped, so this frees what it can, not everything."""
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


@contextmanager
def translate_out_of_memory(stage: str, **describe):
    """Turn an out-of-memory error raised inside into OutOfMemory (the original as ``__cause__``).
    ``describe``: the other arguments of out_of_memory_message. Anything else passes untouched."""
    # checked now: a misspelled argument found only when memory runs out would hide the real error
    inspect.signature(out_of_memory_message).bind(stage, **describe)
    try:
        yield
    except Exception as err:  # MemoryError is an Exception; KeyboardInterrupt is not ours to touch
        if not is_out_of_memory(err):
            raise
        free_cuda_cache()
        raise OutOfMemory(out_of_memory_message(stage, **describe)) from err
