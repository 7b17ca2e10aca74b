"""The model card (`README.md`) and `config.json` of an exported learngene: what it is, how to
load it with plain safetensors in any framework or with gtl_ray, the input it expects, where it
comes from, and how it was evaluated, in the layout model hubs show (YAML front matter first)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from gtl_ray.learngene import Learngene
from gtl_ray.learngene.header import FORMAT
from gtl_ray.learngene.locate import GENE_FILE
from gtl_ray.tables import accuracy_table, markdown_table, paired_table

HUB_PLACEHOLDER = "OWNER/REPO"
TAGS = ("learngene", "genetic-transfer-learning", "few-shot", "safetensors")
PREPROCESSING_ROWS = (
    ("image size", "image_size"),
    ("channels", "channels"),
    ("scaling", "scale"),
    ("mean", "mean"),
    ("std", "std"),
)


@dataclass
class CardFacts:
    """What the card says beyond the gene's own header.

    Args:
        license: SPDX-style id of the weights' license (the card's front matter).
        repo: the Hub repository the folder goes to (None: a placeholder in the examples).
        run: facts of the run that evolved the gene (name, seed, population, ...), when known.
        evaluation: row sections of the run's evaluation.json, when present.
    """

    license: str = "apache-2.0"
    repo: str | None = None
    run_name: str | None = None
    run: dict[str, Any] = field(default_factory=dict)
    evaluation: dict[str, list[dict[str, Any]]] | None = None
    image_size: int | None = None  #: the run's data.image_size, for a gene whose header records no preprocessing

    def preprocessing(self, gene: Learngene) -> tuple[dict[str, Any] | None, str]:
        """The input the gene expects and where that was read: its header, else its run's config."""
        if gene.preprocessing:
            return gene.preprocessing, ""
        if self.image_size is None:
            return None, ""
        from gtl_ray.learngene.info import preprocessing  # imports torch (the data transforms' constants)

        return preprocessing(self.image_size), " (from the run's config: the gene's header records none)"


def config_json(gene: Learngene, facts: CardFacts) -> dict[str, Any]:
    """`config.json`: the gene's shape and provenance, readable without safetensors."""
    return {
        "library_name": "gtl_ray",
        "model_type": "learngene",
        "format": FORMAT,
        "weights": GENE_FILE,
        **gene.shape,
        "channels": {unit: list(kept) for unit, kept in gene.channels.items()},
        "checksum": gene.checksum,
        "preprocessing": facts.preprocessing(gene)[0],
        "provenance": gene.provenance,
        "run": {"name": facts.run_name, **facts.run} if facts.run else None,
    }


def _rows(pairs: list[tuple[str, Any]]) -> str:
    """A two-column table of the pairs whose value is known."""
    pairs = [(k, v) for k, v in pairs if v is not None]
    return markdown_table(
        ["", ""], [[k, "-" if v is None else f"`{v}`" if isinstance(v, str) else v] for k, v in pairs]
    )


def _loading(gene: Learngene, repo: str | None) -> str:
    unit = gene.units[0]
    where = "" if repo else f" (`{HUB_PLACEHOLDER}`: the Hub repository this folder is uploaded to)"
    repo = repo or HUB_PLACEHOLDER
    return f"""## How to load it

`{GENE_FILE}` is a plain [safetensors](https://github.com/huggingface/safetensors) file: any
framework that reads safetensors (PyTorch, NumPy, JAX, TensorFlow, ...) reads it, and nothing in
it is pickled. Tensor `{unit}.conv.weight` is layer `{unit}`'s kernel block `W[:k_out, :k_in]`;
`.conv.bias` and `.bn.{{weight,bias,running_mean,running_var}}` (where present) are its first
`k_out` bias and BatchNorm entries. The gtl_ray header (the JSON in `config.json`) is in the
file's metadata under `gtl_ray`.

With plain safetensors (NumPy here; `safetensors.torch`, `.flax`, `.tensorflow` alike):

```python
from safetensors import safe_open
from safetensors.numpy import load_file

tensors = load_file("{GENE_FILE}")
for name, value in tensors.items():
    print(name, value.shape)
with safe_open("{GENE_FILE}", "np") as f:
    header = f.metadata()["gtl_ray"]  # JSON: architecture, width, share, channels, ...
```

Into a conv layer of your own network with at least as many channels (PyTorch):

```python
block = torch.from_numpy(tensors["{unit}.conv.weight"])
with torch.no_grad():
    my_conv.weight[: block.shape[0], : block.shape[1]] = block
```

With gtl_ray (`pip install gtl_ray[hub]` for `hf://`){where}, which verifies the checksum and
places every layer, into a registered network of this or a larger width, or any CNN (`layer_map`):

```python
import gtl_ray

gene = gtl_ray.Learngene.load("hf://{repo}")  # or the path of this folder
net = gtl_ray.create_model("{gene.architecture}", width={2 * gene.width:g}, num_classes=5, learngene=gene)
```

```bash
gtl-ray inspect hf://{repo}
gtl-ray evaluate CONFIG --learngene hf://{repo}
```
"""


def _evaluation(facts: CardFacts) -> str:
    if not facts.evaluation:
        return (
            "## Evaluation\n\nNot evaluated yet: `gtl-ray evaluate CONFIG --learngene GENE "
            "--out RUN/evaluation.json`, then export again.\n"
        )
    parts = ["## Evaluation\n"]
    for section, rows in facts.evaluation.items():
        if section == "paired":
            parts += [
                "Paired differences (learngene minus each method, per episode):\n",
                markdown_table(*paired_table(rows)),
                "",
            ]
            continue
        extra = [k for k in ("variant", "width", "depth", "share") if k in rows[0]]
        episodes = ", ".join(str(e) for e in sorted({r["episodes"] for r in rows}))
        parts += [
            f"`{section}`: accuracy in % on novel classes (mean ± 95% CI over {episodes} episodes, "
            "the same for every method):\n",
            markdown_table(*accuracy_table(rows, extra)),
            "",
        ]
    return "\n".join(parts)


def model_card(gene: Learngene, facts: CardFacts) -> str:
    """The README.md of an exported learngene."""
    (pre, pre_source), prov = facts.preprocessing(gene), gene.provenance or {}
    pre = pre or {}
    run_name = facts.run_name or prov.get("run")
    title = f"Learngene of {gene.architecture} x{gene.width:g}" + (f" from run `{run_name}`" if run_name else "")
    tags = "".join(f"- {tag}\n" for tag in TAGS)
    front = f"---\nlicense: {facts.license}\nlibrary_name: gtl_ray\ntags:\n{tags}---\n"
    preprocessing = [(label, pre.get(key)) for label, key in PREPROCESSING_ROWS]
    provenance = [("run", run_name)] + [
        (k, prov.get(k.replace(" ", "_"))) for k in ("generation", "member", "config digest")
    ]
    return f"""{front}
# {title}

A **learngene** (Genetic Transfer Learning, Feng, Wang & Geng 2024): {100 * gene.share:.1f}% of the
backbone parameters of a `{gene.architecture}` of width {gene.width:g} ({gene.num_params:,} of
{gene.source_params:,}), for every conv layer the channel block `W[:k_out, :k_in]` with
k = ⌈{gene.rho:.4f}·C⌉ plus its BatchNorm entries, evolved by a population with gtl_ray
(Ray, PyTorch). It initializes descendants (networks of this or a larger width, or
CNNs of your own) that then learn new tasks from few images. Classifier heads are not part of it.

{_loading(gene, facts.repo)}
## Input it expects{pre_source}

{_rows(preprocessing) if pre else "Not recorded."}

## Provenance

{_rows(provenance + list(facts.run.items()))}

Checksum of the tensors: `{gene.checksum}` (`gtl_ray.Learngene.load` verifies it).

{_evaluation(facts)}
## License

`{facts.license}` (chosen with `gtl-ray export --license`); the data the gene learned from may
carry terms of its own.
"""


def card_files(gene: Learngene, facts: CardFacts) -> dict[str, bytes]:
    """`config.json` and `README.md`, as bytes."""
    return {
        "config.json": (json.dumps(config_json(gene, facts), indent=1) + "\n").encode(),
        "README.md": model_card(gene, facts).encode(),
    }
