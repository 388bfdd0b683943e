import math

import pytest
import torch

from engine.learn.loss import sage_loss


def log_sigmoid(x: float) -> float:
    return -math.log(1.0 + math.exp(-x))


def test_loss_matches_hand_computed_value():
    # one positive with z_u.z_v = 2 and Q = 2 negatives with dots -1 and 3
    got = sage_loss(torch.tensor([2.0]), torch.tensor([-1.0, 3.0]), negatives=2).item()
    expected = -log_sigmoid(2.0) - 2 * 0.5 * (log_sigmoid(1.0) + log_sigmoid(-3.0))
    assert got == pytest.approx(expected, rel=1e-6)
    assert expected == pytest.approx(0.126928 + 0.313262 + 3.048587, rel=1e-5)


def test_loss_is_mean_over_positives():
    pos = torch.tensor([2.0, -1.0])
    neg = torch.tensor([0.5, -0.5])  # Q = 1: negative i belongs to positive i
    got = sage_loss(pos, neg, negatives=1).item()
    j0 = -log_sigmoid(2.0) - log_sigmoid(-0.5)
    j1 = -log_sigmoid(-1.0) - log_sigmoid(0.5)
    assert got == pytest.approx((j0 + j1) / 2, rel=1e-6)
    with pytest.raises(RuntimeError):  # 3 negatives cannot be Q=2 per positive
        sage_loss(pos, torch.tensor([0.1, 0.2, 0.3]), negatives=2)


def test_loss_gradient_pushes_positives_up_and_negatives_down():
    pos = torch.tensor([0.0], requires_grad=True)
    neg = torch.tensor([0.0, 0.0], requires_grad=True)
    sage_loss(pos, neg, negatives=2).backward()
    assert pos.grad.item() < 0 and (neg.grad > 0).all()
