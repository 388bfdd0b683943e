"""Write the bundled demo (SYNTHETIC) from engine.synthetic.SyntheticWorld.

    python -m engine.demo --out sample_data/demo --n 3000 --seed 0

Writes, atomically (the folder is built aside and renamed into place):

* ``manifest.csv``: id, image, keywords, scene, price, bedrooms, bathrooms, sqft,
  year_built, listing;
* ``embeddings.npz``: float16 image vectors and the text vectors of every label the
  graph needs (keywords, scenes, attribute ranges) -- from the generator, not CLIP;
* ``images/<id>.png``: small procedural pictures (``render_image``): a
  scene-coloured room with one simple shape per keyword;
* ``dataset.json`` (name, synthetic flag, generator settings) and ``README.md``.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from engine.core.atomic import atomic_dir
from engine.data.dataset import Dataset
from engine.data.embeddings_io import save_embeddings
from engine.data.synthetic.world import NOISY_WORLD

NUMERIC_COLUMNS = ("price", "bedrooms", "bathrooms", "sqft", "year_built")
DEFAULT_SIZE = (96, 64)

SCENE_COLOURS: dict[str, tuple[int, int, int]] = {
    "kitchen": (236, 224, 196), "living room": (214, 190, 160), "bedroom": (196, 204, 228),
    "bathroom": (200, 232, 236), "exterior front": (150, 196, 236), "backyard": (120, 190, 110),
    "dining room": (222, 184, 168), "home office": (190, 190, 176), "garage": (160, 160, 164),
    "laundry room": (230, 230, 238), "basement": (132, 120, 112),
}


def _hash(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "little")


def _colour(text: str) -> tuple[int, int, int]:
    h = _hash(text)
    return (40 + h % 200, 40 + (h >> 8) % 200, 40 + (h >> 16) % 200)


def render_image(scene: str, keywords: Sequence[str], key: str, size: tuple[int, int] = DEFAULT_SIZE):
    """A deterministic little picture: scene-coloured wall and floor, one shape per
    keyword (shape and colour fixed per keyword, position seeded by ``key``)."""
    from PIL import Image, ImageDraw

    w, h = size
    wall = SCENE_COLOURS.get(scene) or _colour("scene:" + scene)
    floor = tuple(int(c * 0.7) for c in wall)
    img = Image.new("RGB", size, wall)
    draw = ImageDraw.Draw(img)
    draw.rectangle([0, int(h * 0.68), w, h], fill=floor)
    rng = np.random.default_rng(_hash("image:" + key))
    for kw in keywords:
        kh = _hash("keyword:" + kw)
        colour = _colour("keyword:" + kw)
        sw = max(4, int(w * (0.12 + 0.14 * ((kh >> 24) % 100) / 100)))
        sh = max(4, int(h * (0.12 + 0.18 * ((kh >> 32) % 100) / 100)))
        x = int(rng.integers(0, max(1, w - sw)))
        y = int(rng.integers(0, max(1, h - sh)))
        box = [x, y, x + sw, y + sh]
        shape = kh % 4
        if shape == 0:
            draw.rectangle(box, fill=colour)
        elif shape == 1:
            draw.ellipse(box, fill=colour)
        elif shape == 2:
            draw.polygon([(x, y + sh), (x + sw // 2, y), (x + sw, y + sh)], fill=colour)
        else:
            draw.rectangle(box, outline=colour, width=2)
    return img


def png_bytes(img) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def format_number(x: float) -> str:
    if not math.isfinite(x):
        return ""
    return str(int(x)) if float(x).is_integer() else repr(float(x))


def manifest_header(ds: Dataset) -> list[str]:
    """The manifest's columns; a world without scenes has no ``scene`` column."""
    return ["id", "image", "keywords", *(["scene"] if ds.n_scenes else []), *NUMERIC_COLUMNS, "listing"]


def manifest_rows(ds: Dataset) -> list[list[str]]:
    rows = []
    for i, id_ in enumerate(ds.ids):
        kws = [ds.keywords[k] for k in ds.image_keywords(i)]
        s = int(ds.image_scene[i])
        scene = [ds.scenes[s] if s >= 0 else ""] if ds.n_scenes else []
        rows.append([id_, f"images/{id_}.png", "|".join(kws), *scene,
                     *(format_number(ds.numeric[c][i]) for c in NUMERIC_COLUMNS), ds.text["listing"][i]])
    return rows


def embedding_source(n: int, seed: int) -> str:
    return (f"SYNTHETIC demo embeddings (not CLIP): engine.synthetic.SyntheticWorld(n_images={n}, seed={seed}), "
            "stored as float16")


README = """# Bundled demo dataset (SYNTHETIC)

Everything in this folder is **synthetic**: no real photos, no real listings, and the
vectors in `embeddings.npz` are **not CLIP embeddings**. It was written by

    python -m engine.demo --out sample_data/demo --n {n} --seed {seed}

from the seeded generator `engine.synthetic.SyntheticWorld` (a listing-photo world
with scenes, Zipf-like keyword prevalence, scene-driven co-occurrence, label noise
and CLIP-like 512-d vectors with a modality gap). Running the command again gives
the same files.

* `manifest.csv`: one row per image: id, image, keywords (`|`-separated, noisy
  labels as the generator produced them), scene, price, bedrooms, bathrooms, sqft,
  year_built, listing.
* `embeddings.npz`: `ids` + `vectors` (float16 image vectors) and `text_labels` +
  `text_vectors` for every keyword, scene and attribute-range label of the graph.
* `images/<id>.png`: {w}x{h} procedural pictures (`engine.demo.render_image`): the
  wall colour stands for the scene and each keyword is drawn as one fixed shape;
  they exist so the explorer has something to show, and carry no information
  beyond the labels.
* `dataset.json`: name, synthetic flag and generator settings.
"""


#: ``--world`` choices: generator settings on top of WorldConfig's defaults
WORLDS: dict[str, dict] = {"demo": {}, "noisy": NOISY_WORLD}
NOISE_NOTE = """
This world has **no scenes** and heavier, caption-like label noise (world `{world}`).
`label_noise.npz` holds the truth the labels hide (engine.data.synthetic.world.LabelNoise):
`true_indptr`/`true_indices` (CSR image row -> true keyword ids, rows in manifest order),
`dropped_rows`/`dropped_cols` (true tags missing from the labels) and
`added_rows`/`added_cols` (wrong tags in the labels).
"""


def write_demo(out: str | Path, n: int = 3000, seed: int = 0, size: tuple[int, int] = DEFAULT_SIZE,
               images: bool = True, world: str = "demo") -> Path:
    """Generate the demo folder at ``out`` (replaced atomically if it exists).

    ``world``: "demo" (the bundled demo) or "noisy" (no scenes, caption-like noise;
    also writes ``label_noise.npz``, the truth of the noise)."""
    from engine.data.synthetic.world import SyntheticWorld, WorldConfig

    gen = SyntheticWorld(WorldConfig(n_images=n, seed=seed, **WORLDS[world]))
    ds = gen.make_dataset()
    out = Path(out)
    with atomic_dir(out) as tmp:
        with open(tmp / "manifest.csv", "w", encoding="utf-8", newline="") as fh:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(manifest_header(ds))
            w.writerows(manifest_rows(ds))
        save_embeddings(tmp / "embeddings.npz", ds.ids, ds.embeddings.image, ds.embeddings.text,
                        source=embedding_source(n, seed))
        meta = {"name": "synthetic listings demo (SYNTHETIC)", "synthetic": True,
                "generator": "engine.synthetic.SyntheticWorld", "n_images": n, "seed": seed,
                "image_size": list(size)}
        readme = README.format(n=n, seed=seed, w=size[0], h=size[1])
        if world != "demo":
            meta["name"] = f"synthetic listings, world {world} (SYNTHETIC)"
            meta["world"] = world
            meta["settings"] = WORLDS[world]
            readme = readme.replace(f"--seed {seed}\n", f"--seed {seed} --world {world}\n") + NOISE_NOTE.format(world=world)
            gen.noise.save(tmp / "label_noise.npz")
        (tmp / "dataset.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        (tmp / "README.md").write_text(readme, encoding="utf-8")
        if images:
            (tmp / "images").mkdir()
            for i, id_ in enumerate(ds.ids):
                s = int(ds.image_scene[i])
                kws = [ds.keywords[k] for k in ds.image_keywords(i)]
                img = render_image(ds.scenes[s] if s >= 0 else "", kws, id_, size)
                (tmp / "images" / f"{id_}.png").write_bytes(png_bytes(img))
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m engine.demo", description="write the bundled SYNTHETIC demo")
    p.add_argument("--out", default="sample_data/demo")
    p.add_argument("--n", type=int, default=3000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--size", default=f"{DEFAULT_SIZE[0]}x{DEFAULT_SIZE[1]}", help="image size WxH")
    p.add_argument("--world", choices=tuple(WORLDS), default="demo",
                   help="demo: the bundled demo; noisy: no scenes, caption-like label noise (+ label_noise.npz)")
    p.add_argument("--no-images", action="store_true", help="skip the procedural pictures")
    args = p.parse_args(argv)
    w, h = (int(v) for v in args.size.lower().split("x"))
    out = write_demo(args.out, args.n, args.seed, (w, h), images=not args.no_images, world=args.world)
    print(f"wrote {out} ({args.n} SYNTHETIC images, seed {args.seed}, world {args.world})")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
