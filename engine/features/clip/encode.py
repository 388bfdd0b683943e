"""CLIP image and text towers with the on-disk cache in front of them.

The model is loaded lazily through ``get_model`` only when some vector is not
cached. New vectors are flushed to the cache every ``flush_every`` images and when
the run stops for any reason (error, Cancelled, Ctrl-C), so finished work is kept.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from engine.core.errors import DataError, Problem
from engine.core.progress import ProgressCallback, check_cancel, report
from engine.core.vectors import l2_normalize
from engine.features.clip.cache import FailureLog, VectorStore, image_key, text_key
from engine.features.clip.config import ClipConfig
from engine.features.clip.images import iter_batches

IMAGE_STAGE = "embed images"
TEXT_STAGE = "embed text"
TEXT_BATCH = 256  # prompts per text-tower forward pass


@dataclass
class ImageResult:
    vectors: np.ndarray  # (N, D) float32, zero rows where ``ok`` is False
    ok: np.ndarray  # (N,) bool
    problems: list[Problem] = field(default_factory=list)
    cached: int = 0
    computed: int = 0
    errors: dict[int, str] = field(default_factory=dict)  # row -> why it was skipped


def _forward_images(loaded, tensors: list) -> np.ndarray:
    import torch

    with torch.inference_mode():
        x = torch.stack(tensors).to(loaded.device)
        return l2_normalize(loaded.model.encode_image(x).float().cpu().numpy())


def _bad_image(row: int, path: str, reason: str, strict: bool, res: ImageResult) -> None:
    if strict:
        raise DataError(reason, path=path or None,
                        hint="fix or remove the file, or run without --strict to skip it")
    res.errors[row] = reason
    res.problems.append(Problem(f"{reason}; image skipped", path=path or None))


def encode_images(paths: Sequence[str], store: VectorStore, get_model: Callable, cfg: ClipConfig, *,
                  progress: ProgressCallback | None = None, cancel: threading.Event | None = None,
                  strict: bool = False, failures: FailureLog | None = None) -> ImageResult:
    n = len(paths)
    keys = [image_key(p) for p in paths]
    found, vecs = store.lookup(keys)
    res = ImageResult(vecs, found.copy(), cached=int(found.sum()))
    todo = []
    for i in np.nonzero(~found)[0].tolist():
        known = failures.get(keys[i]) if failures is not None else None
        if known is None:
            todo.append(i)
        else:  # unchanged file that failed before: no need to decode it again
            _bad_image(i, paths[i], known, strict, res)
    done = n - len(todo)  # cached, or known to be unreadable
    report(progress, IMAGE_STAGE, done, n, message=f"{res.cached} cached")
    if not todo:
        return res
    loaded = get_model()
    new_keys: list[bytes] = []
    new_vecs: list[np.ndarray] = []

    def flush() -> None:
        if new_keys:
            store.add(list(new_keys), np.concatenate(new_vecs))
            new_keys.clear()
            new_vecs.clear()

    try:
        for batch in iter_batches(paths, todo, loaded.preprocess, cfg.batch_size, cfg.num_workers, cancel):
            good = [d for d in batch if d.tensor is not None]
            for d in batch:
                if d.tensor is None:
                    if failures is not None and keys[d.index] is not None:
                        failures.add(keys[d.index], d.error or "unreadable image")
                    _bad_image(d.index, paths[d.index], d.error or "unreadable image", strict, res)
            if good:
                check_cancel(cancel)
                out = _forward_images(loaded, [d.tensor for d in good])
                rows = [d.index for d in good]
                vecs[rows] = out
                res.ok[rows] = True
                res.computed += len(rows)
                for d, v in zip(good, out):
                    if keys[d.index] is not None:
                        new_keys.append(keys[d.index])
                        new_vecs.append(v[None, :])
                if len(new_keys) >= cfg.flush_every:
                    flush()
            done += len(batch)
            report(progress, IMAGE_STAGE, done, n)
    finally:
        flush()
        if failures is not None:
            failures.save()
    return res


def _forward_texts(loaded, labels: list[str], prompts: tuple[str, ...]) -> np.ndarray:
    import torch

    texts = [t.format(lab) for lab in labels for t in prompts]
    chunks = []
    with torch.inference_mode():
        for i in range(0, len(texts), TEXT_BATCH):
            tok = loaded.tokenizer(texts[i:i + TEXT_BATCH]).to(loaded.device)
            chunks.append(l2_normalize(loaded.model.encode_text(tok).float().cpu().numpy()))
    per_prompt = np.concatenate(chunks).reshape(len(labels), len(prompts), -1)
    return l2_normalize(per_prompt.mean(axis=1))


def encode_texts(labels: Sequence[str], store: VectorStore, get_model: Callable, cfg: ClipConfig, *,
                 progress: ProgressCallback | None = None,
                 cancel: threading.Event | None = None) -> tuple[np.ndarray, int]:
    """(L, D) prompt-ensemble text vectors for ``labels`` and how many were computed."""
    labels = list(labels)
    keys = [text_key(cfg.prompts, lab) for lab in labels]
    found, vecs = store.lookup(keys)
    todo = np.nonzero(~found)[0].tolist()
    report(progress, TEXT_STAGE, len(labels) - len(todo), len(labels))
    if not todo:
        return vecs, 0
    loaded = get_model()
    per_step = max(1, TEXT_BATCH // len(cfg.prompts))
    new_keys: list[bytes] = []
    new_vecs: list[np.ndarray] = []
    try:
        for i in range(0, len(todo), per_step):
            check_cancel(cancel)
            rows = todo[i:i + per_step]
            out = _forward_texts(loaded, [labels[r] for r in rows], cfg.prompts)
            vecs[rows] = out
            new_keys.extend(keys[r] for r in rows)
            new_vecs.append(out)
            report(progress, TEXT_STAGE, len(labels) - len(todo) + i + len(rows), len(labels))
    finally:
        if new_keys:
            store.add(new_keys, np.concatenate(new_vecs))
    return vecs, len(todo)
