import numpy as np
import pytest
import torch

from gtl_ray import Learngene, create_model, extract_learngene, implant
from gtl_ray.errors import LearngeneError, StorageError
from gtl_ray.torch_streams import torch_init_seed


def fresh(arch, seed=0, **kw):
    with torch_init_seed(seed, arch):
        return create_model(arch, **kw)


@pytest.mark.parametrize("arch", ["vgg11", "resnet12"])
def test_default_share_within_tolerance(arch):
    gene = extract_learngene(fresh(arch))
    assert abs(gene.share - 0.20) <= 0.01
    assert gene.num_params / gene.source_params == pytest.approx(gene.share)
    assert 0.40 < gene.rho < 0.50  # about 45% of the channels hold about 20% of the parameters


@pytest.mark.parametrize("share", [0.05, 0.1, 0.4])
def test_other_shares_are_solved(share):
    assert abs(extract_learngene(fresh("vgg11", width=0.5), share).share - share) < 0.01


def test_blocks_chain_across_layers():
    gene = extract_learngene(fresh("vgg11"))
    channels = list(gene.channels.values())
    assert channels[0][1] == 3  # RGB input kept whole
    for (out_prev, _), (_, in_next) in zip(channels, channels[1:]):
        assert out_prev == in_next


@pytest.mark.parametrize("arch", ["vgg11", "resnet12"])
def test_round_trip_is_exact_on_slots_and_leaves_rest_untouched(arch):
    source, target = fresh(arch, 1, width=0.5), fresh(arch, 2, width=0.5)
    before = {k: v.clone() for k, v in target.state_dict().items()}
    gene = extract_learngene(source)
    implant(gene, target)
    again = extract_learngene(target, gene.share)
    assert again.checksum == gene.checksum
    for name, unit in target.units().items():
        k_out, k_in = gene.channels[name]
        w, w0 = unit.conv.weight.detach(), before[f"{name}.conv.weight"]
        mask = torch.ones_like(w, dtype=torch.bool)
        mask[:k_out, :k_in] = False
        assert torch.equal(w[mask], w0[mask])
        assert torch.equal(unit.bn.weight[k_out:].detach(), before[f"{name}.bn.weight"][k_out:])
    assert torch.equal(target.head.weight, before["head.weight"])


@pytest.mark.parametrize(
    "arch,kw",
    [
        ("vgg11", {"width": 2.0}),
        ("vgg11", {"width": 1.5}),
        ("vgg11", {"depth": 13}),
        ("resnet12", {"width": 2.0}),
        ("resnet12", {"depth": 2}),
    ],
)
def test_implant_into_wider_and_deeper(arch, kw):
    gene = extract_learngene(fresh(arch))
    target = fresh(arch, 3, **kw)
    filled = implant(gene, target)
    units = target.units()
    for name in gene.units:
        k_out, k_in = gene.channels[name]
        assert np.array_equal(
            units[name].conv.weight[:k_out, :k_in].detach().numpy(), gene.tensors[f"{name}.conv.weight"]
        )
    assert filled is target


def test_explicit_layer_map_into_deeper_vgg():
    gene = extract_learngene(fresh("vgg11"))
    target = fresh("vgg11", 4, depth=13)
    mapping = {u: u for u in gene.units}
    mapping["features.stages.1.2"] = "features.stages.2.2"  # an extra 128->128 layer gets a 256->256 block
    implant(gene, target, mapping)
    block = gene.tensors["features.stages.2.2.conv.weight"]
    k_out, k_in = block.shape[:2]
    assert np.array_equal(target.units()["features.stages.1.2"].conv.weight[:k_out, :k_in].detach().numpy(), block)
    mapping["features.stages.0.2"] = "features.stages.3.0"  # a 512-wide block cannot fit a 64-wide layer
    with pytest.raises(LearngeneError, match=r"layer 'features.stages.0.2'.*\(229, 115, 3, 3\).*\(64, 64, 3, 3\)"):
        implant(gene, target, mapping)


def test_mismatch_errors_name_layer_and_shapes():
    gene = extract_learngene(fresh("vgg11"))
    with pytest.raises(LearngeneError, match="family 'vgg'.*resnet12"):
        implant(gene, fresh("resnet12"))
    with pytest.raises(LearngeneError, match=r"layer 'features.stages.0.0'.*\(29, 3, 3, 3\).*\(16, 3, 3, 3\)"):
        implant(gene, fresh("vgg11", width=0.25))
    with pytest.raises(LearngeneError, match="unknown target layer 'nope'"):
        implant(gene, fresh("vgg11"), {"nope": gene.units[0]})
    with pytest.raises(LearngeneError, match="has no layer 'nope'"):
        implant(gene, fresh("vgg11"), {gene.units[0]: "nope"})


def test_safetensors_round_trip_local_and_mock_uri(tmp_path):
    gene = extract_learngene(fresh("resnet12", width=0.25), info_run="t")
    for uri in (str(tmp_path / "g.safetensors"), "mock://genes/g.safetensors", f"file://{tmp_path}/h.safetensors"):
        gene.save(uri)
        back = Learngene.load(uri)
        assert back.checksum == gene.checksum and back.units == gene.units
        assert back.architecture == "resnet12" and back.share == gene.share and back.info == {"info_run": "t"}


def test_corrupted_truncated_and_foreign_files_are_refused(tmp_path):
    path = tmp_path / "g.safetensors"
    extract_learngene(fresh("vgg11", width=0.25)).save(str(path))
    data = bytearray(path.read_bytes())
    data[-5] ^= 0xFF  # flip bits in the last tensor
    (tmp_path / "bad.safetensors").write_bytes(bytes(data))
    with pytest.raises(LearngeneError, match="checksum mismatch"):
        Learngene.load(str(tmp_path / "bad.safetensors"))
    (tmp_path / "short.safetensors").write_bytes(bytes(data[: len(data) // 2]))
    with pytest.raises(LearngeneError, match="truncated|corrupt"):
        Learngene.load(str(tmp_path / "short.safetensors"))
    marker = tmp_path / "executed"
    # A protocol-0 pickle that would run `touch marker` if anything unpickled it.
    (tmp_path / "evil.safetensors").write_bytes(f"cos\nsystem\n(S'touch {marker}'\ntR.".encode())
    with pytest.raises(LearngeneError, match="not a gtl_ray learngene"):
        Learngene.load(str(tmp_path / "evil.safetensors"))
    assert not marker.exists()
    with pytest.raises(StorageError, match="not found"):
        Learngene.load(str(tmp_path / "missing.safetensors"))


def test_create_model_with_a_learngene_file_or_object(tmp_path):
    gene = extract_learngene(fresh("vgg11", 1, width=0.25))
    gene.save(str(tmp_path / "g.safetensors"))
    for source in (str(tmp_path / "g.safetensors"), tmp_path / "g.safetensors", gene):
        model = create_model("vgg11", width=0.5, num_classes=3, learngene=source)
        assert model.head.out_features == 3 and model.width == 0.5
        for name, (k_out, k_in) in gene.channels.items():
            assert np.array_equal(
                model.units()[name].conv.weight[:k_out, :k_in].detach().numpy(), gene.tensors[f"{name}.conv.weight"]
            )
    with pytest.raises(LearngeneError, match=r"layer 'features.stages.0.0'.*does not fit"):
        create_model("vgg11", width=0.0625, learngene=gene)
    with pytest.raises(StorageError, match="not found"):
        create_model("vgg11", learngene=str(tmp_path / "missing.safetensors"))


def test_genes_of_a_run_record_preprocessing_and_provenance(tiny_config, tmp_path, capsys):
    from gtl_ray.cli import main
    from gtl_ray.data import load_splits
    from gtl_ray.evolution.lifetime import live
    from gtl_ray.learngene.info import config_digest

    config = tiny_config("data.image_size=32")
    gene = live(config, load_splits(config.data).base, 0, 2, None).gene
    assert gene.preprocessing == {
        "image_size": 32,
        "channels": "RGB",
        "scale": "uint8 / 255, then (x - mean) / std per channel",
        "mean": [0.5] * 3,
        "std": [0.25] * 3,
    }
    digest = config_digest(config)
    assert gene.provenance == {"run": "tiny", "id": "g0000m0002", "generation": 0, "member": 2, "config_digest": digest}
    assert config_digest(config) != config_digest(tiny_config("seed=1"))
    gene.save(str(tmp_path / "g.safetensors"))
    assert Learngene.load(str(tmp_path / "g.safetensors")).info == gene.info
    capsys.readouterr()
    assert main(["inspect", str(tmp_path / "g.safetensors")]) == 0
    out = capsys.readouterr().out
    lines = {line.split()[0]: line for line in out.splitlines()}
    assert all(
        part in lines["preprocessing"] for part in ("image_size 32", "mean [0.5, 0.5, 0.5]", "std [0.25, 0.25, 0.25]")
    )
    assert all(
        part in lines["provenance"]
        for part in ("id g0000m0002, run tiny", "generation 0", "member 2", "config_digest sha256:")
    )
