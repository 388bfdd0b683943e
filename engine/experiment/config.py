"""The experiment's settings (one dataclass), validated before any work starts."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from engine.core.errors import ConfigError

AGGREGATORS = ("mean", "pool", "gcn", "lstm")
SCORE_SCALES = ("calibrated", "raw")
# The defaults of the learning settings below won on VALIDATION images of the demo world
# and of the second world, averaged (benchmarks/study_learning.py, docs/LEARNING.md): the
# symmetric objective over every keyword, train as you test, early stopping on the mean
# of validation micro AUC, macro AUC and mAP (patience 3) and a
# validation-chosen blend with zero-shot CLIP. The
# poster's settings: objective="sage", train_as_test=False, select_metric="none",
# epochs=12, patience=0, blend=False.
# A cap: early stopping keeps the best epoch on validation (the study capped at 20; the
# epochs it chose on the 3000-image worlds were all <= 10, so 12 gives the same models).
DEFAULT_EPOCHS = 12


@dataclass
class ExperimentConfig:
    layers: int = 2
    hidden: int = 512
    out_dim: int = 512
    fanout: tuple[int, ...] = (3, 3)
    aggregator: str = "mean"
    epochs: int = DEFAULT_EPOCHS
    lr: float = 1e-3
    negatives: int = 1
    batch_size: int = 512
    seed: int = 0
    seeds: int = 1
    strategies: tuple[str, ...] = ("self", "cosine", "scene")
    cosine_k: int = 3
    cosine_min_sim: float | None = None
    threshold: float = 0.7
    split: tuple[float, float, float] = (0.7, 0.15, 0.15)
    # While training, images aggregate their other keywords (the full graph, as in the
    # poster). False removes keyword->image edges from message passing, so training
    # images look like unseen ones; on the demo's validation images it was slightly worse.
    keyword_to_image: bool = True
    # Reference baselines (engine.baselines: label priors and a CLIP linear probe)
    # reported beside the GNN methods; they take well under a second.
    baselines: bool = True
    # The scale every threshold applies to: "calibrated" (Platt calibrators fitted on
    # validation images map each method's score to P(keyword | image)) or "raw" (the
    # method's own score in [-1, 1], as in the poster). AUCs and mAP do not depend on it.
    score_scale: str = "calibrated"
    # --- learning options (engine.learn; each measured on VALIDATION images, see
    # benchmarks/study_learning.py) ------------------------------------------------
    objective: str = "symmetric"  # "sage": the poster's J, 1:1 uniform negatives; "bce"/"softmax": every keyword
    image_batch_size: int = 256  # images per step of the all-keyword objectives
    dropout: float = 0.0  # on every layer's input while training
    weight_decay: float = 0.0  # > 0: AdamW with this decoupled decay
    anchor: float = 0.0  # weight of mean(1 - cos(z, CLIP)), keeps embeddings near CLIP
    train_as_test: bool = True  # training images embedded without their own keyword edges
    train_cosine_k: int = 0  # > 0: training images also get edges from their k nearest training images
    select_metric: str = "mean"  # early stopping on this validation metric ("map", "macro_auc", "micro_auc", "mean")
    patience: int = 3  # stop after this many epochs without validation improvement (0: run every epoch)
    blend: bool = True  # blend sage scores with zero-shot CLIP, weight chosen on validation
    edge_weight: str = "none"  # "cosine": messages weighted by the CLIP cosine of each edge's ends (engine.learn.edge_weight)
    conv: str = "sage"  # "gatv2": dgl.nn.GATv2Conv layers (learned attention over neighbours) instead of SAGEConv
    temperature: float = 10.0  # initial scale of the learnable temperature (score = scale * cosine)
    tune: int = 0  # > 0: try this many seeded settings on validation first (engine.experiment.tune)

    def __post_init__(self) -> None:
        self.fanout = tuple(self.fanout)
        self.strategies = tuple(self.strategies)
        self.split = tuple(self.split)

    def validate(self) -> None:
        """ConfigError naming the field, before any work starts."""
        from engine.graph.reconnect import STRATEGIES
        from engine.graph.split import check_fractions

        def need(ok: bool, fld: str, msg: str, hint: str) -> None:
            if not ok:
                raise ConfigError(msg, field=fld, hint=hint)

        def is_int(v) -> bool:
            return isinstance(v, (int, np.integer)) and not isinstance(v, bool)

        need(is_int(self.layers) and self.layers >= 1, "layers", f"layers must be an integer >= 1, got {self.layers!r}", "e.g. --layers 2")
        need(is_int(self.hidden) and self.hidden >= 1, "hidden", f"hidden must be an integer >= 1, got {self.hidden!r}", "e.g. --hidden 512")
        need(is_int(self.out_dim) and self.out_dim >= 1, "out_dim", f"out_dim must be an integer >= 1, got {self.out_dim!r}", "e.g. 512")
        need(all(is_int(f) and (f >= 1 or f == -1) for f in self.fanout), "fanout",
             f"fan-outs must be integers >= 1 (or -1 for all neighbours), got {list(self.fanout)}", "e.g. --fanout 3,3")
        need(len(self.fanout) == self.layers, "fanout",
             f"{len(self.fanout)} fan-out(s) for {self.layers} layer(s): every layer needs its own sampled neighbourhood",
             f"give {self.layers} comma-separated fan-outs, e.g. --fanout {','.join(['3'] * self.layers)}")
        need(self.aggregator in AGGREGATORS, "aggregator", f"unknown aggregator {self.aggregator!r}", f"choose from {', '.join(AGGREGATORS)}")
        need(is_int(self.epochs) and self.epochs >= 1, "epochs", f"epochs must be >= 1 (0 trains nothing), got {self.epochs!r}",
             f"e.g. --epochs {DEFAULT_EPOCHS}")
        need(isinstance(self.lr, (int, float)) and math.isfinite(self.lr) and self.lr > 0, "lr", f"learning rate must be > 0, got {self.lr!r}", "e.g. --lr 0.001")
        need(is_int(self.negatives) and self.negatives >= 1, "negatives", f"negatives (Q) must be an integer >= 1, got {self.negatives!r}", "e.g. --negatives 1")
        need(is_int(self.batch_size) and self.batch_size >= 1, "batch_size", f"batch size must be an integer >= 1, got {self.batch_size!r}", "e.g. --batch-size 512")
        need(is_int(self.seed) and self.seed >= 0, "seed", f"seed must be an integer >= 0, got {self.seed!r}", "e.g. --seed 0")
        need(is_int(self.seeds) and self.seeds >= 1, "seeds", f"seeds must be an integer >= 1, got {self.seeds!r}", "e.g. --seeds 3")
        need(len(self.strategies) >= 1, "strategies", "no reconnection strategy given", f"choose from {', '.join(sorted(STRATEGIES))}")
        for s in self.strategies:
            need(s in STRATEGIES, "strategies", f"unknown reconnection strategy {s!r}", f"choose from {', '.join(sorted(STRATEGIES))}")
        need(len(set(self.strategies)) == len(self.strategies), "strategies", "a strategy is listed twice", "list each strategy once")
        need(is_int(self.cosine_k) and self.cosine_k >= 1, "cosine_k", f"cosine_k must be an integer >= 1, got {self.cosine_k!r}", "e.g. 3")
        need(self.cosine_min_sim is None or (isinstance(self.cosine_min_sim, (int, float)) and -1 <= self.cosine_min_sim <= 1),
             "cosine_min_sim", f"cosine_min_sim must be in [-1, 1], got {self.cosine_min_sim!r}", "a cosine similarity, e.g. 0.5")
        need(isinstance(self.baselines, (bool, np.bool_)), "baselines", f"baselines must be true or false, got {self.baselines!r}",
             "true reports the reference baselines, false leaves them out (--no-baselines)")
        need(isinstance(self.threshold, (int, float)) and math.isfinite(self.threshold) and -1 <= self.threshold <= 1,
             "threshold", f"threshold must be a score in [-1, 1] (raw scores lie there, calibrated ones in [0, 1]), got {self.threshold!r}", "e.g. --threshold 0.7")
        need(self.score_scale in SCORE_SCALES, "score_scale", f"unknown score scale {self.score_scale!r}",
             f"choose from {', '.join(SCORE_SCALES)} (--scores)")
        check_fractions(self.split)
        self._validate_learning(need, is_int)

    def _validate_learning(self, need, is_int) -> None:
        from engine.experiment.validation import SELECT_METRICS
        from engine.learn.edge_weight import check_neighbour_options
        from engine.learn.objective import OBJECTIVES

        def num(v) -> bool:
            return isinstance(v, (int, float, np.floating)) and not isinstance(v, bool) and math.isfinite(v)

        need(self.objective in OBJECTIVES, "objective", f"unknown objective {self.objective!r}", f"choose from {', '.join(OBJECTIVES)}")
        need(is_int(self.image_batch_size) and self.image_batch_size >= 1, "image_batch_size",
             f"image_batch_size must be an integer >= 1, got {self.image_batch_size!r}", "e.g. 256")
        need(num(self.dropout) and 0 <= self.dropout < 1, "dropout", f"dropout must be in [0, 1), got {self.dropout!r}", "e.g. --dropout 0.2")
        need(num(self.weight_decay) and self.weight_decay >= 0, "weight_decay", f"weight_decay must be >= 0, got {self.weight_decay!r}", "e.g. --weight-decay 0.01")
        need(num(self.anchor) and self.anchor >= 0, "anchor", f"anchor must be >= 0, got {self.anchor!r}", "e.g. --anchor 1.0")
        need(isinstance(self.train_as_test, (bool, np.bool_)), "train_as_test", f"train_as_test must be true or false, got {self.train_as_test!r}", "--train-as-test")
        need(is_int(self.train_cosine_k) and self.train_cosine_k >= 0, "train_cosine_k",
             f"train_cosine_k must be an integer >= 0, got {self.train_cosine_k!r}", "e.g. 3 (0: off)")
        need(self.select_metric in SELECT_METRICS, "select_metric", f"unknown selection metric {self.select_metric!r}",
             f"choose from {', '.join(SELECT_METRICS)}")
        need(is_int(self.patience) and self.patience >= 0, "patience", f"patience must be an integer >= 0, got {self.patience!r}", "e.g. 3 (0: never stop early)")
        need(isinstance(self.blend, (bool, np.bool_)), "blend", f"blend must be true or false, got {self.blend!r}", "--blend")
        check_neighbour_options(self.conv, self.edge_weight)
        need(num(self.temperature) and self.temperature > 0, "temperature", f"temperature must be > 0, got {self.temperature!r}", "e.g. 10")
        need(is_int(self.tune) and self.tune >= 0, "tune", f"tune must be an integer >= 0, got {self.tune!r}", "e.g. --tune 8 (0: no search)")

    @property
    def methods(self) -> list[str]:
        return ["clip"] + self.baseline_methods + [f"sage_{s}" for s in self.strategies]

    @property
    def baseline_methods(self) -> list[str]:
        from engine.methods.baselines import BASELINES

        return list(BASELINES) if self.baselines else []

    @property
    def seed_list(self) -> list[int]:
        return [self.seed + i for i in range(self.seeds)]

    def to_dict(self) -> dict:
        d = asdict(self)
        for k in ("fanout", "strategies", "split"):
            d[k] = list(d[k])
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "ExperimentConfig":
        known = {f for f in cls.__dataclass_fields__}
        kw = {k: v for k, v in d.items() if k in known}
        for k in ("fanout", "strategies", "split"):
            if k in kw:
                kw[k] = tuple(kw[k])
        return cls(**kw)
