"""Objectives that score each training image against EVERY keyword, and the CLIP anchor.

The poster's objective (engine.learn.loss.sage_loss) contrasts one positive
image-keyword edge with Q uniform keyword negatives. The task, however, is to rank
all K keywords of an unseen image (and all images of a keyword), and the
vocabulary is small, so these objectives use every keyword at every step:

* ``bce``: binary cross-entropy of ``scale * cos(z_img, z_kw) + b_kw`` against the
  image's 0/1 keyword row (``b_kw``: a learned per-keyword bias, the log-odds of
  the keyword's prevalence; it is not part of the predicted score, which stays the
  cosine the evaluation ranks);
* ``softmax``: the cross-entropy of a softmax over the K keywords against the
  image's keywords as a uniform target distribution (images without a keyword are
  left out);
* ``symmetric``: the mean of that and the same softmax taken the other way, each
  keyword against the batch's images (as CLIP's symmetric contrastive loss), which
  targets each keyword's ranking of images (macro AUC, AP) as well.

Minibatches are batches of training IMAGES (``image_batches``); the block of each
batch holds the batch images and every keyword node as outputs. With
``exclude_own`` the batch images' own keyword edges (both directions) are left out
of message passing, so a training image is embedded as an unseen one will be:
from its CLIP feature and its non-keyword neighbours only (train as you test).

``anchor_loss``: ``mean(1 - cos(z, clip))`` over the output nodes, a term that keeps
the learned embeddings near their CLIP features (weight ``ExperimentConfig.anchor``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

os.environ.setdefault("DGLBACKEND", "pytorch")

import numpy as np
import torch
import torch.nn.functional as F

from engine.core.thread import sampling_thread
from engine.graph.homogeneous import HomGraph

OBJECTIVES = ("sage", "bce", "softmax", "symmetric")


@dataclass
class ImageLabels:
    """Training images (homogeneous ids), their 0/1 keyword rows and keyword edge ids."""

    images: torch.Tensor  # (n,) homogeneous ids of the training image nodes
    labels: torch.Tensor  # (n, K) float 0/1
    edge_indptr: np.ndarray  # (n+1,) CSR: image i -> its keyword edges (both directions)
    edge_ids: np.ndarray  # homogeneous edge ids

    @classmethod
    def from_hom(cls, hom: HomGraph) -> "ImageLabels":
        lo_img = hom.offsets["image"]
        n = hom.counts["image"]
        lo_kw, hi_kw = hom.keyword_range
        src, dst = hom.g.find_edges(hom.train_eids)
        img, kw = src.numpy() - lo_img, dst.numpy() - lo_kw
        labels = torch.zeros(n, hi_kw - lo_kw)
        labels[torch.from_numpy(img), torch.from_numpy(kw)] = 1.0
        eids = hom.train_eids.numpy()
        rev = hom.reverse_eids[hom.train_eids].numpy()
        owner = np.concatenate([img, img])
        both = np.concatenate([eids, rev])
        order = np.argsort(owner, kind="stable")
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(owner, minlength=n), out=indptr[1:])
        return cls(torch.arange(lo_img, lo_img + n, dtype=torch.int64), labels, indptr, both[order])

    def own_edges(self, local: np.ndarray) -> torch.Tensor:
        """Keyword edge ids (both directions) of the images with local ids ``local``."""
        parts = [self.edge_ids[self.edge_indptr[i]:self.edge_indptr[i + 1]] for i in local]
        return torch.from_numpy(np.concatenate(parts) if parts else np.zeros(0, np.int64))


def init_keyword_bias(model, hom: HomGraph, data: ImageLabels) -> None:
    """Start the bias so the initial logits match each keyword's training prevalence.

    The model starts near CLIP (engine.learn.model), whose image-keyword cosines
    are all similar and positive; with a zero bias the first BCE steps would spend
    themselves pushing every cosine down (destroying the zero-shot geometry)
    instead of learning the ranking. ``b_k = logit(p_k) - scale * mean_i cos(x_i, x_k)``.
    """
    lo, hi = hom.keyword_range
    x = F.normalize(hom.g.ndata["feat"], dim=-1)
    cos = (x[data.images] @ x[lo:hi].T).mean(0)
    p = data.labels.mean(0).clamp(1e-4, 1 - 1e-4)
    with torch.no_grad():
        model.keyword_bias.copy_(torch.log(p / (1 - p)) - model.scale.detach() * cos)


def image_batches(n: int, batch_size: int, generator: torch.Generator) -> list[torch.Tensor]:
    """Local image ids, shuffled by ``generator``, cut into batches."""
    perm = torch.randperm(n, generator=generator)
    return [perm[i:i + batch_size] for i in range(0, n, batch_size)]


def all_keyword_loss(model, hom: HomGraph, data: ImageLabels, sampler, local: torch.Tensor,
                     objective: str, exclude_own: bool, anchor: float) -> torch.Tensor:
    """The loss of one batch of training images (local ids ``local``)."""
    lo, hi = hom.keyword_range
    images = data.images[local]
    seeds = torch.cat([images, torch.arange(lo, hi, dtype=torch.int64)])
    exclude = data.own_edges(local.numpy()) if exclude_own else None
    with sampling_thread():  # DGL's random work on one thread (engine.core.thread)
        input_nodes, _, blocks = sampler.sample_blocks(hom.g, seeds, exclude_eids=exclude)
    x = hom.g.ndata["feat"][input_nodes]
    z = model(blocks, x, hom.g.ndata["ntype"][input_nodes])
    b = images.numel()
    logits = model.scale * (z[:b] @ z[b:].T)
    y = data.labels[local]
    if objective == "bce":
        loss = F.binary_cross_entropy_with_logits(logits + model.keyword_bias, y)
    elif objective in ("softmax", "symmetric"):
        loss = _softmax_ce(logits, y)
        if objective == "symmetric":  # also each keyword against the batch's images (per-keyword ranking)
            loss = 0.5 * (loss + _softmax_ce(logits.T, y.T))
    else:
        raise ValueError(f"unknown all-keyword objective {objective!r}")
    if anchor:
        loss = loss + anchor * anchor_loss(z, x[: z.shape[0]])
    return loss


def _softmax_ce(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of a row softmax against each row's positives as a uniform target
    (rows without a positive are left out)."""
    has = y.sum(1) > 0
    if not has.any():
        return logits.sum() * 0
    target = y[has] / y[has].sum(1, keepdim=True)
    return -(target * F.log_softmax(logits[has], dim=1)).sum(1).mean()


def anchor_loss(z: torch.Tensor, clip: torch.Tensor) -> torch.Tensor:
    """mean(1 - cos(z, clip)) over rows."""
    return (1.0 - F.cosine_similarity(z, clip, dim=-1)).mean()
