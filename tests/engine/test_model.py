
import numpy as np
import pytest
import torch

from engine.core.errors import ConfigError
from engine.learn.loss import sage_loss
from engine.learn.model import SageModel, full_inference
from engine.learn.sampling import KeywordUniform, edge_sampler, epoch_loader


def make_model(hom, layers=2, hidden=32, out_dim=512):
    torch.manual_seed(0)
    return SageModel(512, hidden, out_dim, layers, len(hom.ntypes))


def one_batch(hom, fanouts, negatives=1, batch_size=64):
    import dgl

    dgl.seed(0)
    torch.manual_seed(0)
    sampler = edge_sampler(hom, fanouts, negatives)
    return next(iter(epoch_loader(hom, sampler, batch_size, torch.Generator().manual_seed(0))))


def loss_of(model, hom, batch, negatives=1):
    input_nodes, pair, neg, blocks = batch
    z = model(blocks, hom.g.ndata["feat"][input_nodes], hom.g.ndata["ntype"][input_nodes])
    return sage_loss(model.score(z, *pair.edges()), model.score(z, *neg.edges()), negatives)


def test_every_layer_runs_and_gets_nonzero_gradients(hom):
    model = make_model(hom, layers=2)
    batch = one_batch(hom, (3, 3))
    assert len(batch[3]) == 2
    loss_of(model, hom, batch).backward()
    for i, layer in enumerate(model.layers):
        grads = [p.grad for p in layer.parameters() if p.requires_grad]
        assert grads and all(g is not None for g in grads), f"layer {i} got no gradient"
        assert sum(float(g.abs().sum()) for g in grads) > 0, f"layer {i} got a zero gradient"


def test_three_layers_all_receive_gradients(hom):
    model = make_model(hom, layers=3)
    loss_of(model, hom, one_batch(hom, (2, 2, 2))).backward()
    for layer in model.layers:
        assert float(layer.fc_neigh.weight.grad.abs().sum()) > 0


def test_fewer_sampled_layers_than_model_layers_is_a_config_error(hom):
    model = make_model(hom, layers=2)
    batch = one_batch(hom, (3,))  # the original code's bug: one fan-out for two layers
    with pytest.raises(ConfigError) as err:
        loss_of(model, hom, batch)
    assert err.value.field == "fanout"


def test_negatives_are_uniform_over_keyword_nodes_only(hom):
    lo, hi = hom.keyword_range
    torch.manual_seed(0)
    sampler = KeywordUniform(2, lo, hi)
    eids = hom.train_eids[:5000].repeat(4)
    src, dst = sampler(hom.g, eids)
    assert src.shape[0] == dst.shape[0] == 2 * eids.shape[0]
    true_src, _ = hom.g.find_edges(eids)
    assert torch.equal(src, true_src.repeat_interleave(2))  # Q negatives per positive, consecutive
    assert int(dst.min()) >= lo and int(dst.max()) < hi
    kw_type = hom.ntypes.index("keyword")
    assert bool((hom.g.ndata["ntype"][dst] == kw_type).all())
    counts = np.bincount(dst.numpy() - lo, minlength=hi - lo)
    expected = dst.shape[0] / (hi - lo)
    assert (counts > 0).all()
    chi2 = float(((counts - expected) ** 2 / expected).sum())
    assert chi2 < 2 * (hi - lo), chi2  # uniform: chi-square ~ K-1 degrees of freedom


def test_sampled_negatives_in_a_batch_are_keywords(hom):
    _, pair, neg, _ = one_batch(hom, (3, 3), negatives=3)
    assert neg.num_edges() == 3 * pair.num_edges()
    kw_type = hom.ntypes.index("keyword")
    import dgl

    nid = neg.ndata[dgl.NID]
    _, v = neg.edges()
    assert bool((hom.g.ndata["ntype"][nid[v]] == kw_type).all())


def test_full_inference_equals_full_neighbour_forward(hom):
    import dgl

    model = make_model(hom, layers=2).eval()
    z = full_inference(model, hom.g, batch_size=97)
    nodes = torch.arange(0, hom.num_nodes, 7)
    sampler = dgl.dataloading.MultiLayerFullNeighborSampler(2)
    input_nodes, output_nodes, blocks = sampler.sample_blocks(hom.g, nodes)
    with torch.no_grad():
        ref = model(blocks, hom.g.ndata["feat"][input_nodes], hom.g.ndata["ntype"][input_nodes])
    assert torch.allclose(z[output_nodes], ref, atol=1e-5)
    assert torch.allclose(z.norm(dim=1), torch.ones(hom.num_nodes), atol=1e-5)


def test_untrained_model_starts_near_clip(hom):
    model = make_model(hom, layers=2, hidden=64, out_dim=512)
    z = full_inference(model, hom.g)
    x = torch.nn.functional.normalize(hom.g.ndata["feat"], dim=1)
    cos = (z * x).sum(1)
    assert float(cos.mean()) > 0.9


def test_sampled_blocks_never_hold_the_predicted_edges_or_their_reverses(hom):
    import dgl

    _, pair, _, blocks = one_batch(hom, (-1, -1), batch_size=200)  # full neighbourhoods: worst case
    u, v = hom.g.find_edges(pair.edata[dgl.EID])
    banned = set(zip(u.tolist(), v.tolist())) | set(zip(v.tolist(), u.tolist()))  # by endpoints
    seen = set()
    for block in blocks:
        bs, bd = block.edges()
        ps, pd = block.srcdata[dgl.NID][bs], block.dstdata[dgl.NID][bd]
        seen |= set(zip(ps.tolist(), pd.tolist()))
    assert banned.isdisjoint(seen)
    # the exclusion is precise: other keyword edges of the same images are still there
    kw_lo, kw_hi = hom.keyword_range
    others = {(a, b) for a, b in seen if kw_lo <= a < kw_hi and b in set(u.tolist())}
    assert others


@pytest.mark.parametrize("conv", ["sage", "gatv2"])
def test_batched_inference_sizes_each_layer_from_the_model_dims(hom, conv):
    """Batched full inference allocates each layer's output from ``model.dims`` (input,
    hidden..., output), public on the model rather than read from a DGL layer's private
    attribute: with three different widths it equals the full-neighbour forward."""
    import dgl

    torch.manual_seed(0)
    model = SageModel(512, 24, 16, 3, len(hom.ntypes), conv=conv).eval()
    assert model.dims == (512, 24, 24, 16)
    z = full_inference(model, hom.g, batch_size=97)
    assert z.shape == (hom.num_nodes, 16)
    nodes = torch.arange(0, hom.num_nodes, 11)
    _, output_nodes, blocks = dgl.dataloading.MultiLayerFullNeighborSampler(3).sample_blocks(hom.g, nodes)
    input_nodes = blocks[0].srcdata[dgl.NID]
    with torch.no_grad():
        ref = model(blocks, hom.g.ndata["feat"][input_nodes], hom.g.ndata["ntype"][input_nodes])
    assert torch.allclose(z[output_nodes], ref, atol=1e-5)
