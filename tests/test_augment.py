"""--input_noise: Gaussian noise on training inputs only, never on padding, never below zero."""
import pytest
import torch

from exp.augment import with_input_noise
from exp.exp_classification import training_loss
from utils.losses import Criterion
from run import main


def test_noise_has_the_asked_spread_and_leaves_padding_alone():
    torch.manual_seed(0)
    x = torch.zeros(64, 50, 3)
    pad = torch.zeros(64, 50, dtype=torch.bool)
    pad[:, :10] = True
    noisy, mask = with_input_noise((x, pad), 0.3)
    assert mask is pad
    assert torch.equal(noisy[:, :10], torch.zeros(64, 10, 3))
    assert noisy[:, 10:].std().item() == pytest.approx(0.3, rel=0.03)
    assert noisy[:, 10:].mean().item() == pytest.approx(0.0, abs=0.01)


def test_without_noise_the_training_loss_reads_the_inputs_as_they_are():
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(12, 2))
    x, y = torch.randn(5, 4, 3), torch.tensor([0, 1, 0, 1, 1])
    plain, noisy = training_loss(Criterion(), 0.0), training_loss(Criterion(), 1.0)
    assert plain(model, (x,), y).item() == plain(model, (x,), y).item() == Criterion()(model(x), y).item()
    assert noisy(model, (x,), y).item() != noisy(model, (x,), y).item()


def test_a_negative_noise_is_one_line(tmp_path, capsys):
    argv = ["--task_name", "classification", "--is_training", "1", "--model", "timer_xl_classifier",
            "--data", "PeruRainfall", "--root_path", str(tmp_path), "--data_path", "x.csv", "--input_noise", "-0.1"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["error: --input_noise must be 0 or more (a standard deviation in standardised units), got -0.1"]
