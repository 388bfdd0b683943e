"""The truth behind the synthetic world's noisy labels (which tags it dropped or
added), for measuring label-error queues: the world's own record of it
(``SyntheticWorld.noise``, engine.data.synthetic.noise.LabelNoise), mapped onto the
dataset by image id and keyword name. ``noise_truth`` checks that true - dropped +
added equals the dataset's labels exactly, so a dataset that is not that world fails
loudly instead of producing a wrong truth.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class NoiseTruth:
    true: np.ndarray  # (N, K) bool: tags the image really has
    labels: np.ndarray  # (N, K) bool: the noisy labels the dataset carries
    missing: set[tuple[int, int]]  # (row, keyword) true but not labelled
    wrong: set[tuple[int, int]]  # (row, keyword) labelled but not true


def noise_truth(n_images: int, seed: int, dataset) -> NoiseTruth:
    """Truth of ``make_world(n_images, seed)`` (defaults otherwise), checked against ``dataset``."""
    from engine.data.synthetic.world import SyntheticWorld, WorldConfig

    world = SyntheticWorld(WorldConfig(n_images=n_images, seed=seed))
    if set(world.keywords) != set(dataset.keywords):
        raise AssertionError("the dataset's keywords are not the synthetic world's")
    world.make_dataset()  # records world.noise
    true, dropped, added = world.noise.for_dataset(dataset)
    labels = dataset.label_matrix().toarray() > 0
    if not np.array_equal(labels, (true & ~dropped) | added):
        raise AssertionError("the dataset is not make_world(n_images, seed): its labels differ from the world's")
    r, c = np.nonzero(true & ~labels)
    wr, wc = np.nonzero(labels & ~true)
    return NoiseTruth(true, labels, set(zip(r.tolist(), c.tolist())), set(zip(wr.tolist(), wc.tolist())))
