"""The contrastive link-prediction objective of GraphSAGE (Hamilton et al. 2017):

    J(z_u) = -log σ(z_u·z_v) - Q · E_{v_n ~ P_n} log σ(-z_u·z_{v_n})

for a positive pair (u, v) and Q negatives v_n drawn from P_n (uniform over keyword
nodes here). The expectation is estimated by the mean over the Q negatives drawn
for that positive, so ``Q · E[...]`` is their sum. The loss is the mean of J over
the positives of a minibatch.

This module only sees *scores*: the caller passes s = z_u·z_v. The model
(engine.model) scores with ``scale * cos(z_u, z_v)`` where ``scale`` is a learnable
temperature: that is J on the embeddings ``sqrt(scale) * z`` (still the same
objective; predictions use the cosine, which the scale does not change).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def sage_loss(pos_score: torch.Tensor, neg_score: torch.Tensor, negatives: int) -> torch.Tensor:
    """Mean J over positives.

    ``pos_score``: (B,) scores of the positive pairs. ``neg_score``: (B * Q,) scores
    of the negatives, the Q negatives of positive i at positions i*Q .. i*Q+Q-1
    (the layout of DGL's per-source uniform samplers), or already shaped (B, Q).
    """
    q = int(negatives)
    if q < 1:
        raise ValueError("negatives (Q) must be >= 1")
    b = pos_score.shape[0]
    neg = neg_score.reshape(b, q)
    pos_term = -F.logsigmoid(pos_score)
    neg_term = -q * F.logsigmoid(-neg).mean(dim=1)
    return (pos_term + neg_term).mean()
