"""The truth behind the synthetic world's noisy labels, recomputed from its seeded
generator (engine.data.synthetic.world), for measuring label-error queues.

The world does not expose which tags it dropped or added, so this replays the
generator's random streams: the listing stream (to reach the scene draws and the
luxury levels) and the per-block row streams (``SyntheticWorld._row_draws``, the
one place those draws are made). ``noise_truth`` then checks that the replayed
noisy labels equal the dataset's labels exactly, so a change in the generator
fails loudly here instead of producing a wrong truth. Replace with the world's own
truth arrays once it exposes them.
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


def _listing_draws(world, n: int):
    cfg = world.cfg
    rng = np.random.default_rng([cfg.seed, 11])
    sizes, total = [], 0
    while total < n:
        s = int(max(1, rng.poisson(cfg.photos_per_listing)))
        sizes.append(min(s, n - total))
        total += sizes[-1]
    n_list = len(sizes)
    listing = np.repeat(np.arange(n_list), sizes)
    lux = rng.normal(size=n_list)
    rng.normal(size=(n_list, cfg.dim))  # listing style
    for sd in (1, 0.5, 0.15, 0.2, 18):  # beds, baths, sqft, price, year
        rng.normal(0, sd, n_list)
    scene = rng.choice(len(world.scenes), size=n, p=world.scene_prior).astype(np.int32)
    return listing, lux, scene


def noise_truth(n_images: int, seed: int, dataset) -> NoiseTruth:
    """Truth of ``make_world(n_images, seed)`` (defaults otherwise), checked against ``dataset``."""
    from engine.data.synthetic.world import BLOCK, SyntheticWorld, WorldConfig

    world = SyntheticWorld(WorldConfig(n_images=n_images, seed=seed))
    if set(world.keywords) != set(dataset.keywords):
        raise AssertionError("the dataset's keywords are not the synthetic world's")
    cfg, K = world.cfg, len(world.keywords)
    listing, lux, scene = _listing_draws(world, n_images)
    true = np.zeros((n_images, K), dtype=bool)
    noisy = np.zeros((n_images, K), dtype=bool)
    step = max(BLOCK, cfg.chunk // BLOCK * BLOCK)
    lux_img = lux[listing]
    for start in range(0, n_images, step):
        stop = min(n_images, start + step)
        sc = scene[start:stop]
        u_true, _noise, u_miss, u_wrong = world._row_draws(start, stop, K, cfg.dim)
        p = world.affinity[sc] * world.base_rate[None, :]
        p = p * np.exp(0.9 * world.luxury_loading[None, :] * lux_img[start:stop, None]
                       - 0.4 * world.luxury_loading[None, :] ** 2)
        t = u_true < np.clip(p, 0, 0.95)
        true[start:stop] = t
        noisy[start:stop] = (t & (u_miss >= cfg.p_missing)) | (u_wrong < cfg.p_wrong * world.affinity[sc] * 3)
    # the dataset may order its vocabulary and rows differently (the manifest loader sorts keywords)
    cols = [world.keywords.index(k) for k in dataset.keywords]
    row_of = {f"img{i:07d}": i for i in range(n_images)}
    rows = [row_of.get(i, -1) for i in dataset.ids]
    if len(cols) != K or min(rows, default=0) < 0:
        raise AssertionError("the dataset is not make_world(n_images, seed): its keywords or ids differ")
    true, noisy = true[rows][:, cols], noisy[rows][:, cols]
    labels = dataset.label_matrix().toarray() > 0
    if labels.shape != noisy.shape or not np.array_equal(labels, noisy):
        raise AssertionError("replayed labels differ from the dataset's: the generator changed; update "
                             "benchmarks/retrieval_truth.py or use the world's own truth arrays")
    r, c = np.nonzero(true & ~labels)
    wr, wc = np.nonzero(labels & ~true)
    return NoiseTruth(true, labels, set(zip(r.tolist(), c.tolist())), set(zip(wr.tolist(), wc.tolist())))
