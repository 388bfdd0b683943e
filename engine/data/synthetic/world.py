"""A seeded synthetic world of real-estate listing photos with CLIP-like embeddings.

SYNTHETIC DATA. It is the bundled demo and the benchmark workload; wherever it is
shown it is labelled as synthetic. What it imitates:

* listings of several photos sharing numeric attributes (price, bedrooms,
  bathrooms, square feet, year built) driven by a hidden 'luxury' level;
* scenes (kitchen, bathroom, ...) with scene-driven keyword co-occurrence and a
  Zipf-like keyword prevalence;
* label noise: true tags go missing, wrong tags are added;
* 512-d unit embeddings with an image tower and a text tower separated by a
  modality gap, where matching image-text cosines fall around 0.2-0.35 and
  non-matching ones around 0.1-0.2, as with real CLIP ViT-B/32; how visible a
  keyword is in the pixels, and how well its text prompt matches, vary by keyword,
  so zero-shot scores are informative but imperfect.

Everything is vectorised and generated in chunks, so a million images take
seconds and ~2 GB (the float32 embedding matrix itself).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from engine.core.vectors import l2_normalize
from engine.data.dataset import Dataset, PrecomputedEmbeddings
from engine.data.synthetic.noise import LabelNoise

SCENES: dict[str, float] = {  # scene -> share of photos
    "kitchen": 0.16, "living room": 0.15, "bedroom": 0.15, "bathroom": 0.13,
    "exterior front": 0.11, "backyard": 0.08, "dining room": 0.07, "home office": 0.05,
    "garage": 0.04, "laundry room": 0.03, "basement": 0.03,
}

# keyword -> (scenes it appears in, luxury loading, visibility in pixels)
KEYWORDS: dict[str, tuple[tuple[str, ...], float, float]] = {
    "hardwood floors": (("living room", "bedroom", "dining room", "home office", "kitchen"), 0.3, 0.8),
    "natural light": (("living room", "bedroom", "kitchen", "dining room", "home office"), 0.2, 0.5),
    "recessed lighting": (("kitchen", "living room", "basement", "bathroom"), 0.4, 0.5),
    "stainless steel appliances": (("kitchen",), 0.5, 0.9),
    "granite countertops": (("kitchen", "bathroom"), 0.4, 0.8),
    "open floor plan": (("living room", "kitchen", "dining room"), 0.4, 0.5),
    "kitchen island": (("kitchen",), 0.5, 0.9),
    "ceiling fan": (("bedroom", "living room", "home office"), -0.3, 0.7),
    "carpet": (("bedroom", "basement", "home office"), -0.6, 0.7),
    "tile floors": (("bathroom", "kitchen", "laundry room"), 0.0, 0.6),
    "walk-in closet": (("bedroom",), 0.6, 0.6),
    "double vanity": (("bathroom",), 0.6, 0.8),
    "walk-in shower": (("bathroom",), 0.5, 0.8),
    "fireplace": (("living room", "bedroom", "dining room"), 0.5, 0.9),
    "high ceilings": (("living room", "dining room", "bedroom"), 0.6, 0.5),
    "crown molding": (("dining room", "living room", "bedroom"), 0.4, 0.3),
    "landscaping": (("exterior front", "backyard"), 0.5, 0.7),
    "fenced yard": (("backyard",), 0.0, 0.7),
    "patio": (("backyard",), 0.3, 0.7),
    "lawn": (("exterior front", "backyard"), 0.0, 0.8),
    "two-car garage": (("exterior front", "garage"), 0.2, 0.8),
    "subway tile": (("kitchen", "bathroom"), 0.3, 0.6),
    "pantry": (("kitchen",), 0.2, 0.4),
    "breakfast nook": (("kitchen", "dining room"), 0.2, 0.6),
    "bay window": (("living room", "dining room", "bedroom"), 0.2, 0.7),
    "french doors": (("living room", "dining room", "backyard", "home office"), 0.5, 0.6),
    "soaking tub": (("bathroom",), 0.6, 0.9),
    "chandelier": (("dining room", "living room"), 0.7, 0.9),
    "vaulted ceiling": (("living room", "bedroom"), 0.6, 0.6),
    "deck": (("backyard",), 0.2, 0.8),
    "porch": (("exterior front",), 0.0, 0.7),
    "brick exterior": (("exterior front",), 0.1, 0.8),
    "vinyl siding": (("exterior front",), -0.7, 0.6),
    "stucco": (("exterior front",), 0.2, 0.5),
    "washer dryer": (("laundry room",), -0.2, 0.9),
    "built-in shelves": (("living room", "home office", "basement"), 0.3, 0.7),
    "quartz countertops": (("kitchen", "bathroom"), 0.8, 0.5),
    "farmhouse sink": (("kitchen",), 0.5, 0.8),
    "exposed brick": (("living room", "basement", "kitchen"), 0.3, 0.8),
    "skylight": (("living room", "bathroom", "kitchen"), 0.4, 0.6),
    "pool": (("backyard",), 1.0, 1.0),
    "hot tub": (("backyard", "bathroom"), 1.0, 0.8),
    "fire pit": (("backyard",), 0.6, 0.8),
    "outdoor kitchen": (("backyard",), 1.2, 0.8),
    "pergola": (("backyard",), 0.8, 0.7),
    "wet bar": (("basement", "living room"), 1.0, 0.7),
    "home theater": (("basement",), 1.2, 0.8),
    "home gym": (("basement", "garage"), 0.9, 0.8),
    "wine cellar": (("basement", "kitchen"), 1.5, 0.7),
    "marble": (("bathroom", "kitchen"), 1.3, 0.6),
    "wainscoting": (("dining room", "bathroom"), 0.5, 0.3),
    "barn door": (("bedroom", "bathroom", "home office"), 0.2, 0.7),
    "mudroom": (("laundry room", "garage"), 0.3, 0.4),
    "solar panels": (("exterior front", "garage"), 0.5, 0.7),
    "mountain view": (("living room", "backyard", "bedroom"), 1.0, 0.6),
    "ocean view": (("living room", "backyard", "bedroom"), 1.6, 0.7),
    "city view": (("living room", "bedroom"), 1.0, 0.6),
    "balcony": (("bedroom", "living room"), 0.6, 0.7),
    "bunk beds": (("bedroom",), -0.5, 0.9),
    "workbench": (("garage", "basement"), -0.4, 0.7),
}

BLOCK = 4096  # rows per random stream (output is identical for any cfg.chunk)
PROMPT_NOTE = "synthetic demo (not CLIP): seeded generator, see engine/synthetic.py"


@dataclass
class WorldConfig:
    n_images: int = 3000
    seed: int = 0
    dim: int = 512
    photos_per_listing: float = 8.0  # mean
    zipf_exponent: float = 1.0
    mean_tags: float = 3.2  # mean true tags per photo before noise
    p_missing: float = 0.25  # a true tag is dropped from the labels
    p_wrong: float = 0.004  # per (image, keyword): a wrong tag is added
    image_noise: float = 3.0  # isotropic noise in the image tower (higher = harder for zero-shot)
    img_gap: float = 0.75  # weight of the image-tower mean direction (modality gap)
    txt_gap: float = 1.1  # weight of the text-tower mean direction
    text_fidelity_low: float = 0.35  # worst match between a keyword prompt and its visual concept
    chunk: int = 50_000
    # --- a second world (defaults keep the demo byte-identical) -----------------
    # False: the dataset has NO scene column (a hidden scene still shapes the pixels
    # and the keyword co-occurrence, as rooms do in real photo collections).
    scenes: bool = True
    # caption-like noise: captions omit what is hard to see, so a true tag is dropped
    # with probability p_missing + p_missing_visibility * (1 - visibility of the keyword)
    p_missing_visibility: float = 0.0
    # wrong tags that ignore the scene, proportional to the keyword's base rate
    # (captions mention common things that are not there): per (image, keyword)
    # probability p_wrong_common * base_rate / mean(base_rate)
    p_wrong_common: float = 0.0


#: generator settings of the second world: no scenes, heavier caption-like label noise
NOISY_WORLD: dict[str, object] = {
    "scenes": False, "p_missing": 0.35, "p_missing_visibility": 0.35, "p_wrong": 0.004,
    "p_wrong_common": 0.012,
}


class SyntheticWorld:
    """Seeded generator. ``make_dataset()`` returns a Dataset with embeddings."""

    def __init__(self, config: WorldConfig | None = None, **overrides) -> None:
        cfg = config or WorldConfig()
        for k, v in overrides.items():
            setattr(cfg, k, v)
        if cfg.n_images < 1:
            raise ValueError("n_images must be >= 1")
        self.cfg = cfg
        self.scenes = list(SCENES)
        self.keywords = list(KEYWORDS)
        rng = np.random.default_rng([cfg.seed, 7])
        d = cfg.dim
        K, S = len(self.keywords), len(self.scenes)
        self.scene_prior = np.array([SCENES[s] for s in self.scenes])
        self.scene_prior /= self.scene_prior.sum()
        # scene -> keyword affinity, keyword base rates (Zipf over a seeded order)
        aff = np.zeros((S, K))
        for k, (scs, _, _) in enumerate(KEYWORDS.values()):
            for s in scs:
                aff[self.scenes.index(s), k] = 1.0
        self.affinity = aff
        # the first keywords of the table are the common ones, with seeded jitter
        rank = np.argsort(np.arange(K) + rng.normal(0, 4, K)).argsort() + 1
        base = 1.0 / rank ** cfg.zipf_exponent
        self.luxury_loading = np.array([v[1] for v in KEYWORDS.values()])
        self.visibility = np.array([v[2] for v in KEYWORDS.values()])
        # scale base rates so the mean number of tags per photo is ~mean_tags
        p_scene = aff * base[None, :]
        expected = (self.scene_prior[:, None] * np.minimum(p_scene, 1)).sum()
        self.base_rate = base * cfg.mean_tags / expected
        # concept space: shared directions for keywords and scenes
        self.kw_concept = l2_normalize(rng.normal(size=(K, d)))
        self.scene_concept = l2_normalize(rng.normal(size=(S, d)))
        # modality gap: each tower lives around its own mean direction
        shared = l2_normalize(rng.normal(size=d))
        img_only = l2_normalize(rng.normal(size=d))
        txt_only = l2_normalize(rng.normal(size=d))
        self.img_mean = l2_normalize(shared + img_only)
        self.txt_mean = l2_normalize(shared + txt_only)
        # text prompts: how well the text vector of a keyword matches its visual concept
        self.text_fidelity = rng.uniform(cfg.text_fidelity_low, 1.0, K)
        self.text_noise = l2_normalize(rng.normal(size=(K, d)))
        self._rng_seed = cfg.seed

    # ---------------------------------------------------------------- text
    def embed_text(self, labels: list[str]) -> np.ndarray:
        """Text-tower vectors: keywords and scenes from the concept space, any
        other label (attribute ranges) from a hash-seeded direction."""
        out = np.empty((len(labels), self.cfg.dim), dtype=np.float32)
        kw = {k: i for i, k in enumerate(self.keywords)}
        sc = {s: i for i, s in enumerate(self.scenes)}
        for j, lab in enumerate(labels):
            if lab in kw:
                k = kw[lab]
                f = self.text_fidelity[k]
                v = f * self.kw_concept[k] + np.sqrt(1 - f * f) * self.text_noise[k]
            elif lab in sc:
                v = self.scene_concept[sc[lab]]
            else:
                h = int.from_bytes(hashlib.sha256(f"{self.cfg.seed}:{lab}".encode()).digest()[:8], "little")
                v = l2_normalize(np.random.default_rng(h).normal(size=self.cfg.dim))
            out[j] = self.cfg.txt_gap * self.txt_mean + v
        return l2_normalize(out)

    # -------------------------------------------------------------- images
    def _row_draws(self, start: int, stop: int, K: int, d: int):
        """Uniforms (tags, missing, wrong) and image noise for rows [start, stop),
        drawn block by block from streams seeded by (seed, block index).
        ``start`` is a multiple of BLOCK and ``stop`` one too, or the end."""
        n = stop - start
        u_true, u_miss, u_wrong = (np.empty((n, K)) for _ in range(3))
        noise = np.empty((n, d), dtype=np.float32)
        for lo in range(start, stop, BLOCK):
            hi = min(stop, lo + BLOCK)
            r = np.random.default_rng([self.cfg.seed, 13, lo // BLOCK])
            sl = slice(lo - start, hi - start)
            r.random(out=u_true[sl])
            r.standard_normal(out=noise[sl], dtype=np.float32)
            r.random(out=u_miss[sl])
            r.random(out=u_wrong[sl])
        return u_true, noise, u_miss, u_wrong

    def _listings(self, rng, N: int, d: int):
        """Listing of each image, per-listing luxury, style vectors and numeric attributes."""
        cfg = self.cfg
        sizes = []
        total = 0
        while total < N:
            s = int(max(1, rng.poisson(cfg.photos_per_listing)))
            sizes.append(min(s, N - total))
            total += sizes[-1]
        n_list = len(sizes)
        listing = np.repeat(np.arange(n_list), sizes)
        lux = rng.normal(size=n_list)
        listing_style = rng.normal(size=(n_list, d)).astype(np.float32) / np.sqrt(d)
        beds = np.clip(np.round(3 + 0.8 * lux + rng.normal(0, 1, n_list)), 1, 7)
        baths = np.clip(np.round(1 + 0.6 * beds / 2 + 0.5 * lux + rng.normal(0, 0.5, n_list) * 2) / 2 * 2, 1, 6)
        sqft = np.round(np.exp(7.3 + 0.12 * beds + 0.25 * lux + rng.normal(0, 0.15, n_list)), -1)
        price = np.round(np.exp(12.7 + 0.45 * lux + 0.5 * np.log(sqft / 1500) + rng.normal(0, 0.2, n_list)), -3)
        year = np.clip(np.round(1975 + 15 * lux + rng.normal(0, 18, n_list)), 1900, 2025)
        numeric = {
            "price": price[listing].astype(np.float64),
            "bedrooms": beds[listing].astype(np.float64),
            "bathrooms": baths[listing].astype(np.float64),
            "sqft": sqft[listing].astype(np.float64),
            "year_built": year[listing].astype(np.float64),
        }
        return listing, lux, listing_style, numeric

    def _chunk(self, start: int, stop: int, sc, lux_img, style):
        """(unit image vectors, true tags, noisy labels) of rows [start, stop)."""
        cfg, K, d = self.cfg, len(self.keywords), self.cfg.dim
        u_true, noise, u_miss, u_wrong = self._row_draws(start, stop, K, d)
        p = self.affinity[sc] * self.base_rate[None, :]
        p = p * np.exp(0.9 * self.luxury_loading[None, :] * lux_img[:, None] - 0.4 * self.luxury_loading[None, :] ** 2)
        p = np.clip(p, 0, 0.95)
        true = u_true < p
        # pixels: scene + visible true keywords + listing style + noise, around the image mean
        vis = true * self.visibility[None, :]
        emb = 0.9 * self.scene_concept[sc] + vis @ self.kw_concept * 0.85
        emb += 0.6 * style  # photos of one listing look alike
        emb += noise * np.float32(cfg.image_noise / np.sqrt(d))
        emb = l2_normalize(emb)
        emb = l2_normalize(cfg.img_gap * self.img_mean[None, :] + emb)
        # labels: drop some true tags, add a few wrong ones
        p_miss = cfg.p_missing
        if cfg.p_missing_visibility:
            p_miss = p_miss + cfg.p_missing_visibility * (1.0 - self.visibility[None, :])
        labels = true & (u_miss >= p_miss)
        p_wrong = cfg.p_wrong * self.affinity[sc] * 3
        if cfg.p_wrong_common:
            p_wrong = p_wrong + cfg.p_wrong_common * (self.base_rate / self.base_rate.mean())[None, :]
        labels |= u_wrong < p_wrong
        return emb, true, labels

    def make_dataset(self, name: str = "synthetic listings") -> Dataset:
        """The dataset; the truth of its label noise is kept in ``self.noise`` (LabelNoise)."""
        cfg = self.cfg
        N, d = cfg.n_images, cfg.dim
        rng = np.random.default_rng([cfg.seed, 11])
        listing, lux, listing_style, numeric = self._listings(rng, N, d)
        scene = rng.choice(len(self.scenes), size=N, p=self.scene_prior).astype(np.int32)
        image = np.empty((N, d), dtype=np.float32)
        lab_parts, true_parts = [], []
        lux_img = lux[listing]
        # per-image randomness comes from fixed blocks of BLOCK rows (one seeded stream
        # each), so the output does not depend on cfg.chunk (which only bounds memory)
        step = max(BLOCK, cfg.chunk // BLOCK * BLOCK)
        for start in range(0, N, step):
            stop = min(N, start + step)
            emb, true, labels = self._chunk(start, stop, scene[start:stop], lux_img[start:stop],
                                            listing_style[listing[start:stop]])
            image[start:stop] = emb
            lab_parts.append(_csr_parts(labels) + _pairs(true & ~labels) + _pairs(labels & ~true))
            true_parts.append(_csr_parts(true))
        indptr, indices = _join_csr([p[:2] for p in lab_parts])
        self.noise = LabelNoise(*_join_csr(true_parts), *_join_pairs([p[2:4] for p in lab_parts], step),
                                *_join_pairs([p[4:6] for p in lab_parts], step),
                                np.array([f"img{i:07d}" for i in range(N)]), np.array(self.keywords))
        scenes = list(self.scenes) if cfg.scenes else []
        ds = Dataset(
            name=f"{name} (SYNTHETIC)", ids=[str(i) for i in self.noise.ids], image_paths=[""] * N,
            keywords=list(self.keywords), kw_indptr=indptr, kw_indices=indices, scenes=scenes,
            image_scene=scene if cfg.scenes else None, numeric=numeric,
            text={"listing": [f"listing {j:06d}" for j in listing]},
            kind="synthetic", synthetic=True, scene_source="column" if cfg.scenes else "none",
        )
        from engine.data.attributes import bin_attributes

        labels_needed = self.keywords + scenes + bin_attributes(ds).labels
        text_vecs = self.embed_text(labels_needed)
        ds.embeddings = PrecomputedEmbeddings(
            image=image, text={lab: text_vecs[i] for i, lab in enumerate(labels_needed)},
            source=PROMPT_NOTE,
        )
        return ds


def _csr_parts(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(per-row counts, column ids) of a boolean (n, K) chunk."""
    rows, cols = np.nonzero(mask)
    return np.bincount(rows, minlength=mask.shape[0]), cols.astype(np.int32)


def _pairs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    rows, cols = np.nonzero(mask)
    return rows.astype(np.int64), cols.astype(np.int32)


def _join_csr(parts) -> tuple[np.ndarray, np.ndarray]:
    counts = [c for c, _ in parts]
    indptr = np.concatenate([[0], np.cumsum(np.concatenate(counts))]).astype(np.int64)
    indices = np.concatenate([i for _, i in parts]) if parts else np.zeros(0, np.int32)
    return indptr, indices.astype(np.int32)


def _join_pairs(parts, step: int) -> tuple[np.ndarray, np.ndarray]:
    rows = [r + i * step for i, (r, _) in enumerate(parts)]
    return (np.concatenate(rows).astype(np.int64) if rows else np.zeros(0, np.int64),
            np.concatenate([c for _, c in parts]).astype(np.int32) if parts else np.zeros(0, np.int32))


def make_world(n_images: int = 3000, seed: int = 0, **kw) -> Dataset:
    """Shortcut: a synthetic listing-photo dataset with embeddings."""
    return SyntheticWorld(WorldConfig(n_images=n_images, seed=seed, **kw)).make_dataset()


def make_noisy_world(n_images: int = 3000, seed: int = 0, **kw) -> tuple[Dataset, LabelNoise]:
    """The second world (``NOISY_WORLD``: no scenes, caption-like label noise) and the
    truth of its noise."""
    world = SyntheticWorld(WorldConfig(n_images=n_images, seed=seed, **{**NOISY_WORLD, **kw}))
    ds = world.make_dataset("synthetic listings, no scenes, caption-like noise")
    return ds, world.noise
