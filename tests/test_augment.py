"""--input_noise and --mixup: training inputs only, padding respected, bad values one line."""
import pytest
import torch

from exp.augment import mixed, with_input_noise
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


@pytest.mark.parametrize("flag, message", [
    ("--input_noise", "--input_noise must be 0 or more (a standard deviation in standardised units), got -0.1"),
    ("--mixup", "--mixup must be 0 (off) or a positive Beta parameter such as 0.2, got -0.1"),
])
def test_a_negative_value_is_one_line(tmp_path, capsys, flag, message):
    argv = ["--task_name", "classification", "--is_training", "1", "--model", "timer_xl_classifier",
            "--data", "PeruRainfall", "--root_path", str(tmp_path), "--data_path", "x.csv", flag, "-0.1"]
    assert main(argv) == 2
    assert capsys.readouterr().err.strip().splitlines() == [f"error: {message}"]


def test_mixup_blends_each_window_with_a_partner_and_keeps_padding_only_where_both_pad():
    torch.manual_seed(1)
    x = torch.arange(4.0)[:, None, None].expand(4, 3, 1).clone()      # window i is all i
    pad = torch.tensor([[True, False, False], [False, False, False], [True, True, False], [False, False, False]])
    (blended, mask), partner, share = mixed((x, pad), 0.4)
    assert 0 < share < 1 and sorted(partner.tolist()) == [0, 1, 2, 3]
    expected = share * torch.arange(4.0) + (1 - share) * partner.float()
    assert torch.allclose(blended[:, 0, 0], expected)
    assert torch.equal(mask, pad & pad[partner])


def test_the_mixup_loss_weighs_both_labels_by_the_share():
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(12, 2))
    x, y = torch.randn(6, 4, 3), torch.tensor([0, 1, 0, 1, 1, 0])
    torch.manual_seed(3)
    got = training_loss(Criterion(), mixup=0.2)(model, (x,), y)
    torch.manual_seed(3)
    (blended,), partner, share = mixed((x,), 0.2)
    logits = model(blended)
    assert got.item() == pytest.approx((share * Criterion()(logits, y) + (1 - share) * Criterion()(logits, y[partner])).item())
