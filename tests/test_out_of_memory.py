"""Out of memory ends a run with one line that says what to try, and the original error kept."""
import pytest
import torch

from utils.errors import TrainingFailure
from utils.out_of_memory import OutOfMemory, is_out_of_memory, out_of_memory_message, translate_out_of_memory

DESCRIBE = dict(batch_size=64, seq_len=720, model_desc="small (4 layers, d_model 512)", precision="fp32",
                accum_steps=1)

ALLOCATOR_TEXTS = [
    "CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; 14.75 GiB total capacity; 12.10 GiB already allocated)",
    "MPS backend out of memory (MPS allocated: 17.00 GB, other allocations: 1.00 GB, max allowed: 18.13 GB)",
    "[enforce fail at alloc_cpu.cpp:127] err == 0. DefaultCPUAllocator: can't allocate memory: you tried to "
    "allocate 4611686018427387904 bytes. Error code 12 (Cannot allocate memory)",
    "[enforce fail at ..\\c10\\core\\impl\\alloc_cpu.cpp:72] data. DefaultCPUAllocator: not enough memory: you "
    "tried to allocate 1073741824 bytes.",
    "cuDNN error: CUDNN_STATUS_NOT_ENOUGH_MEMORY",
]


def impossible_cpu_allocation():
    """Fails at once: 4 EiB is refused before a single page is touched."""
    return torch.empty(2 ** 62, dtype=torch.uint8)


def test_torchs_own_out_of_memory_error_counts():
    assert is_out_of_memory(torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"))
    assert torch.cuda.OutOfMemoryError is torch.OutOfMemoryError


@pytest.mark.parametrize("text", ALLOCATOR_TEXTS, ids=["cuda", "mps", "cpu", "cpu-windows", "cudnn"])
def test_each_allocators_wording_counts(text):
    assert is_out_of_memory(RuntimeError(text))


def test_pythons_memory_error_counts():
    assert is_out_of_memory(MemoryError())


@pytest.mark.parametrize("err", [RuntimeError("mat1 and mat2 shapes cannot be multiplied (8x4 and 3x2)"),
                                 ValueError("out of memory"), KeyError("batch_size")])
def test_other_errors_are_bugs_not_memory(err):
    assert not is_out_of_memory(err)


def test_a_real_cpu_allocation_failure_is_recognised():
    with pytest.raises(RuntimeError) as failed:
        impossible_cpu_allocation()
    # torch 2.13 raises a plain RuntimeError on the CPU, not torch.OutOfMemoryError
    assert type(failed.value) is RuntimeError
    assert is_out_of_memory(failed.value)


def test_the_message_names_what_ran_and_every_way_out():
    message = out_of_memory_message("training", **DESCRIBE)
    assert message.startswith("out of memory during training")
    for words in ("batch size 64", "sequence length 720", "small (4 layers, d_model 512)", "fp32",
                  "--batch_size 32 --accum_steps 2 (the same effective batch of 64)", "--amp auto",
                  "--preset small", "a shorter --seq_len (now 720)",
                  "last.pth from the last finished epoch is intact"):
        assert words in message
    assert "\n" not in message


def test_the_message_doubles_the_accumulation_already_there_and_drops_what_does_not_apply():
    message = out_of_memory_message("evaluation", batch_size=1, seq_len=96, model_desc="full", precision="bf16",
                                    accum_steps=4)
    assert message.startswith("out of memory during evaluation")
    assert "--batch_size" not in message  # one window a batch cannot be halved
    assert "--amp" not in message  # already in half precision
    assert "--accum_steps 8" in out_of_memory_message("training", **{**DESCRIBE, "accum_steps": 4})
    assert "about the same effective batch of 33" in out_of_memory_message("training",
                                                                           **{**DESCRIBE, "batch_size": 33})


def test_out_of_memory_inside_becomes_a_training_failure_keeping_the_original():
    with pytest.raises(OutOfMemory) as failed:
        with translate_out_of_memory("training", **DESCRIBE):
            impossible_cpu_allocation()
    assert isinstance(failed.value, TrainingFailure)  # run.py: one line, exit status 3
    assert str(failed.value) == out_of_memory_message("training", **DESCRIBE)
    assert isinstance(failed.value.__cause__, RuntimeError)
    assert "DefaultCPUAllocator" in str(failed.value.__cause__)


def test_anything_else_passes_through_untouched():
    bug = RuntimeError("mat1 and mat2 shapes cannot be multiplied")
    with pytest.raises(RuntimeError) as raised:
        with translate_out_of_memory("evaluation", **DESCRIBE):
            raise bug
    assert raised.value is bug
    with translate_out_of_memory("evaluation", **DESCRIBE):
        pass  # and nothing at all when nothing fails


def test_a_misspelled_description_fails_on_entry_not_when_memory_runs_out():
    with pytest.raises(TypeError):
        with translate_out_of_memory("training", **{**DESCRIBE, "batchsize": 8}):
            pass
