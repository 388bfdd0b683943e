"""mmkg-tui partition and the distributed sampler's exclusion (engine.distributed)."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from engine.core.errors import ConfigError, DataError
from engine.distributed.launch import read_ip_config
from engine.distributed.partition import (
    PartitionMeta,
    load_arrays,
    partition_dataset,
    training_view,
)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope="module")
def demo_parts(tmp_path_factory):
    """The bundled demo partitioned in 1 (the loopback jobs) and 2 parts (metis)."""
    base = tmp_path_factory.mktemp("parts")
    return {n: partition_dataset(None, n, base / f"p{n}") for n in (1, 2)}


@pytest.fixture(scope="module")
def demo_hom():
    return training_view(None, None, 0)[4]


def test_partition_writes_dgl_config_and_our_metadata(demo_parts, demo_hom):
    pc = demo_parts[2]
    cfg = json.loads(pc.read_text())
    meta = PartitionMeta.read(pc)
    assert cfg["num_parts"] == 2 and cfg["graph_name"] == meta.graph_name
    # a graph name of its own per partitioning (DGL names shared memory after it: jobs on one host stay apart)
    other = json.loads(demo_parts[1].read_text())["graph_name"]
    assert meta.graph_name.startswith("mmkg-") and other.startswith("mmkg-") and other != meta.graph_name
    assert (meta.parts, meta.seed, meta.split) == (2, 0, (0.7, 0.15, 0.15))
    assert meta.num_nodes == demo_hom.num_nodes and meta.num_edges == demo_hom.g.num_edges()
    assert meta.train_edges == demo_hom.train_eids.numel()
    for rel in ("mmkg.json", "mmkg.mmkg.npz", "part0/graph.dgl", "part1/node_feat.dgl"):
        assert meta.files[rel] == (pc.parent / rel).stat().st_size > 0, rel
    assert "mmkg.mmkg.json" not in meta.files  # the metadata does not list itself


def test_a_truncated_partition_file_is_named(demo_parts, tmp_path):
    import shutil

    from engine.distributed.partition import check_files

    folder = shutil.copytree(demo_parts[2].parent, tmp_path / "copy")
    meta = PartitionMeta.read(folder / "mmkg.json")
    check_files(folder / "mmkg.json", meta)  # an intact copy passes
    shutil.rmtree(folder / "part0")  # a machine may hold only its own part
    check_files(folder / "mmkg.json", meta)
    feat = folder / "part1" / "node_feat.dgl"
    feat.write_bytes(feat.read_bytes()[:1000])
    with pytest.raises(DataError) as err:
        check_files(folder / "mmkg.json", meta)
    assert err.value.path == str(feat) and f"1,000 bytes, {meta.files['part1/node_feat.dgl']:,} when" in err.value.message


def test_mapping_gives_reverse_edges_and_keywords_in_new_ids(demo_parts, demo_hom):
    a = load_arrays(demo_parts[2])
    orig_e, orig_n, rev_new = a["orig_eids"], a["orig_nids"], a["reverse_eids"]
    rev_orig = demo_hom.reverse_eids.numpy()
    assert np.array_equal(orig_e[rev_new], rev_orig[orig_e])  # reverse of e, in new ids
    assert not np.array_equal(orig_e, np.arange(len(orig_e)))  # metis did relabel
    lo, hi = demo_hom.keyword_range
    assert sorted(orig_n[a["keyword_nids"]].tolist()) == list(range(lo, hi))
    assert int(a["n_ntypes"]) == len(demo_hom.ntypes)


def test_partitions_hold_features_types_and_train_mask(demo_parts, demo_hom):
    import dgl

    a = load_arrays(demo_parts[2])
    n_train = 0
    for part in range(2):
        g, nfeat, efeat, *_ = dgl.distributed.load_partition(str(demo_parts[2]), part)
        inner = g.ndata["inner_node"].bool()
        new_ids = g.ndata[dgl.NID][inner]
        orig = a["orig_nids"][new_ids.numpy()]
        feat = nfeat["_N/feat"] if "_N/feat" in nfeat else nfeat["feat"]
        assert np.allclose(feat.numpy(), demo_hom.g.ndata["feat"][orig].numpy())
        nt = nfeat["_N/ntype"] if "_N/ntype" in nfeat else nfeat["ntype"]
        assert np.array_equal(nt.numpy(), demo_hom.g.ndata["ntype"][orig].numpy())
        mask = efeat["_N:_E:_N/train_mask"] if "_N:_E:_N/train_mask" in efeat else efeat["_E/train_mask"]
        n_train += int(mask.sum())
    assert n_train == demo_hom.train_eids.numel()


def test_partition_refuses_a_non_empty_folder(tmp_path):
    (tmp_path / "keep.txt").write_text("mine")
    with pytest.raises(ConfigError) as err:
        partition_dataset(None, 1, tmp_path)
    assert err.value.field == "--out"
    assert (tmp_path / "keep.txt").read_text() == "mine"


def test_interrupted_partition_leaves_no_folder(tmp_path, monkeypatch):
    import engine.distributed.partition as part

    def boom(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(part, "new_id_arrays", boom)  # after DGL wrote the partitions
    with pytest.raises(KeyboardInterrupt):
        partition_dataset(None, 1, tmp_path / "parts")
    assert not (tmp_path / "parts").exists()
    assert list(tmp_path.iterdir()) == []


def test_missing_metadata_is_a_data_error(tmp_path):
    (tmp_path / "mmkg.json").write_text("{}")
    with pytest.raises(DataError) as err:
        PartitionMeta.read(tmp_path / "mmkg.json")
    assert "mmkg-tui partition" in err.value.hint


def test_ip_config_errors_name_the_line(tmp_path):
    f = tmp_path / "ip.txt"
    f.write_text("127.0.0.1 30050\nnot-an-ip 1\n")
    with pytest.raises(ConfigError) as err:
        read_ip_config(f)
    assert "line 2" in err.value.message and err.value.field == "--ip-config"
    f.write_text("127.0.0.1 30050\n\n10.0.0.2\n")
    assert [(m.ip, m.port) for m in read_ip_config(f)] == [("127.0.0.1", 30050), ("10.0.0.2", 30050)]


EXCLUSION = r"""
import os, sys, json
os.environ["DGL_DIST_MODE"] = "standalone"
import torch, dgl
from engine.distributed.partition import PartitionMeta, load_arrays
from engine.distributed.sampling import dist_loader
pc = sys.argv[1]
meta, arr = PartitionMeta.read(pc), load_arrays(pc)
dgl.distributed.initialize(None)
g = dgl.distributed.DistGraph(meta.graph_name, part_config=pc)
eids = torch.nonzero(g.edata["train_mask"][torch.arange(g.num_edges())], as_tuple=True)[0]
rev = torch.as_tensor(arr["reverse_eids"])
out = {}
for exclude in (True, False):
    torch.manual_seed(0); dgl.seed(0)
    leaks = sampled = seen = 0
    for input_nodes, pair, neg, blocks in dist_loader(g, eids, (3, 3), 1, rev, arr["keyword_nids"],
                                                      batch_size=256, exclude=exclude):
        targets = pair.edata[dgl.EID]
        seen += targets.numel()
        banned = torch.cat([targets, rev[targets]])
        for b in blocks:
            e = b.edata[dgl.EID]
            sampled += e.numel()
            leaks += int(torch.isin(e, banned).sum())
    out["ours" if exclude else "dgl"] = {"leaks": leaks, "sampled": sampled, "targets": seen}
print(json.dumps(out))
"""


def test_distributed_sampling_never_samples_a_target_or_its_reverse(demo_parts, demo_hom):
    """Every minibatch of an epoch over ALL training edges on a DistGraph (standalone
    mode, the demo's partition): no sampled edge of any layer is a target of that
    minibatch or a target's reverse. DGL's own sampler, same settings, leaks them
    (dgl issue 7225), which proves the check can fail."""
    env = dict(os.environ, PYTHONPATH=ROOT, HF_HUB_OFFLINE="1", OMP_NUM_THREADS="1")
    env.pop("DGL_ROLE", None)
    out = subprocess.run([sys.executable, "-c", EXCLUSION, str(demo_parts[1])], env=env, capture_output=True,
                         text=True, check=False, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    n_train = int(demo_hom.train_eids.numel())
    assert got["ours"]["targets"] == n_train and got["ours"]["sampled"] > 1000
    assert got["ours"]["leaks"] == 0
    assert got["dgl"]["leaks"] > 0
