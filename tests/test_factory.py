"""gtl_ray.factory: `create_model` born with a learngene, from the object or its file."""

from __future__ import annotations

import torch

from gtl_ray import create_model, extract_learngene


def test_a_network_born_with_a_gene_from_the_object_or_its_file(tmp_path):
    gene = extract_learngene(create_model("vgg11", width=0.25, num_classes=5))
    gene.save(str(tmp_path / "g.safetensors"))
    unit = gene.units[0]
    k_out, k_in = gene.tensors[f"{unit}.conv.weight"].shape[:2]
    for source in (gene, tmp_path / "g.safetensors"):
        model = create_model("vgg11", width=0.25, num_classes=3, learngene=source)
        weight = dict(model.named_parameters())[f"{unit}.conv.weight"].detach()
        assert torch.equal(weight[:k_out, :k_in], torch.from_numpy(gene.tensors[f"{unit}.conv.weight"]))
