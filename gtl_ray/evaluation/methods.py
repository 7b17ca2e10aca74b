"""How a descendant starts, and how it is fine-tuned, by name: the learngene and every baseline
it is compared with. A method transfers one of the `Sources` (or nothing) into the fresh
descendant, and may add the AFT regularizer to its fine-tuning.

Registered (`list_methods()`, in table order):

- `scratch`: random initialization only;
- `full`: every backbone weight of a network pre-trained on all base classes (100% transfer);
- `heuristic`: the learngene's slots (first k channels of every layer) copied from the
  pre-trained ancestry network: no evolution;
- `learngene`: the evolved learngene implanted;
- `narrow`: a network of exactly the gene's shape pre-trained alone on all base classes,
  implanted like a gene;
- `distilled`: the same narrow network trained to reproduce the pre-trained network's features
  (feature distillation, no labels), implanted like a gene;
- `sparse`: the pre-trained ancestry network magnitude-pruned (global, unstructured) to the
  gene's parameter count; the kept weights go in, the pruned ones keep the descendant's own
  initialization, and fine-tuning trains all of them (dense);
- `random_slice`: the gene's shape, with a seeded random chained choice of channels of the
  pre-trained network instead of the first k, implanted into the gene's slots;
- `aft`: random initialization, fine-tuned with the AFT regularizer toward the pre-trained
  network's features;
- `learngene+aft`: the learngene, fine-tuned with the AFT regularizer.
"""

from __future__ import annotations

from dataclasses import dataclass

from gtl_ray.config import AFTConfig
from gtl_ray.errors import ConfigError
from gtl_ray.evaluation.objectives import AFT
from gtl_ray.learngene import Learngene, implant
from gtl_ray.learngene.transfer import SparseWeights, copy_backbone
from gtl_ray.models import Network
from gtl_ray.recipe import Recipe
from gtl_ray.registry import Registry
from gtl_ray.training import Objective

TEACHER = "teacher"  #: the Sources field AFT regularizes toward
LEARNGENE = "learngene"
GENE_SHAPED = (
    LEARNGENE,
    "heuristic",
    "narrow",
    "distilled",
    "random_slice",
)  #: Sources fields holding a gene of the learngene's layout


@dataclass
class Sources:
    """What the methods draw from; a field is None when no chosen method needs it.

    Args:
        learngene: the evolved gene (--learngene).
        pretrained: the network of the descendant's shape pre-trained on all base classes (`full`).
        teacher: the network of the ancestry's shape pre-trained likewise (the same object when
            the shapes agree): the source of `heuristic`, `random_slice` and `sparse`, the
            teacher of `distilled` and of the AFT regularizer.
        heuristic, narrow, distilled, random_slice: genes of the learngene's layout.
        sparse: the pruned teacher's kept weights.
        rest_init, rest_scale, extra_layers: (evaluation.*) how the weights outside an implanted
            gene's slots, and a deeper descendant's layers no gene layer fills, start, for every
            method that implants one.
        layer_map: (evaluation.descendant.layer_map) descendant unit -> gene unit; None: inferred.
        aft: the AFT regularizer's settings (evaluation.aft).
        learngene_recipe: the recipe the learngene's methods fine-tune with (`evaluation.recipe:
            gene`); None: the config's, as every other method.
    """

    learngene: Learngene | None = None
    pretrained: Network | None = None
    teacher: Network | None = None
    heuristic: Learngene | None = None
    narrow: Learngene | None = None
    distilled: Learngene | None = None
    random_slice: Learngene | None = None
    sparse: SparseWeights | None = None
    rest_init: str = "default"
    rest_scale: float = 0.1
    extra_layers: str = "default"
    aft: AFTConfig | None = None
    learngene_recipe: Recipe | None = None
    layer_map: dict[str, str] | None = None

    def implant(self, gene: Learngene, model: Network) -> None:
        implant(
            gene,
            model,
            self.layer_map,
            rest_init=self.rest_init,
            rest_scale=self.rest_scale,
            extra_layers=self.extra_layers,
        )


@dataclass(frozen=True)
class Method:
    """Args:
    transfers: the `Sources` field whose weights go into the fresh descendant (None: none):
        a Learngene is implanted into the gene's slots, a Network's backbone copied whole,
        SparseWeights copied where kept.
    aft: fine-tune with cross-entropy plus the AFT regularizer toward `Sources.teacher`.
    same_shape: why the method needs a descendant of the ancestry network's shape (None:
        any descendant the gene fits).
    summary: one line for tables.
    """

    transfers: str | None
    aft: bool = False
    same_shape: str | None = None
    summary: str = ""

    @property
    def needs(self) -> set[str]:
        """The `Sources` fields the method draws from."""
        return ({self.transfers} if self.transfers else set()) | ({TEACHER} if self.aft else set())


METHODS: Registry[Method] = Registry("evaluation.methods", ConfigError)


def register_method(name: str, method: Method) -> Method:
    return METHODS.register(name)(method)


def list_methods() -> list[str]:
    return METHODS.names()


def get_method(name: str) -> Method:
    return METHODS.get(name)


def describe_method(name: str) -> str:
    """A registered method's one-line summary ("" for an unknown name, e.g. from an old JSON)."""
    return get_method(name).summary if name in METHODS.names() else ""


def needs_learngene(name: str) -> bool:
    return LEARNGENE in get_method(name).needs


def initialize(name: str, model: Network, sources: Sources) -> None:
    """Write method `name`'s transferred weights into the fresh descendant `model`."""
    field = get_method(name).transfers
    value = getattr(sources, field) if field else None
    if isinstance(value, Learngene):
        sources.implant(value, model)
    elif isinstance(value, SparseWeights):
        value.copy_into(model)
    elif isinstance(value, Network):
        copy_backbone(value, model)
    elif field is not None:
        raise ConfigError(f"evaluation.methods: {name!r} has no {field!r} to transfer (not prepared)")


def finetune_objective(name: str, model: Network, sources: Sources) -> Objective | None:
    """The loss method `name` fine-tunes `model` with; None: plain cross-entropy. The AFT
    projector's initialization draws from torch's global generator: seed the call."""
    if not get_method(name).aft:
        return None
    return AFT(sources.teacher, model.feature_dim, sources.aft or AFTConfig())


def transferred_parameters(value: object) -> int:
    """Backbone parameters a source writes into a descendant (gene slots, kept weights, or a
    whole backbone); running BatchNorm statistics travel too but are not parameters."""
    if isinstance(value, Learngene):
        return value.num_params
    if isinstance(value, SparseWeights):
        return value.kept
    if isinstance(value, Network):
        return value.backbone_parameter_count()
    return 0


_SPARSE_SHAPE = (
    "its kept weights are single entries of the pre-trained ancestry network's kernels, which have no place "
    "in a network of another width or depth (the gene-shaped methods transfer channel blocks, which do)"
)

for _name, _method in (
    ("scratch", Method(None, summary="random initialization")),
    ("full", Method("pretrained", summary="every backbone weight of a network pre-trained on all base classes")),
    (
        "heuristic",
        Method(
            "heuristic", summary="the gene's slots (first k channels per layer) of the pre-trained network, not evolved"
        ),
    ),
    (LEARNGENE, Method(LEARNGENE, summary="the evolved learngene")),
    (
        "narrow",
        Method(
            "narrow",
            summary="a network of the gene's shape pre-trained alone on all base classes, implanted like a gene",
        ),
    ),
    (
        "distilled",
        Method(
            "distilled",
            summary=(
                "that narrow network distilled from the pre-trained one's features (no labels), implanted like a gene"
            ),
        ),
    ),
    (
        "sparse",
        Method(
            "sparse",
            same_shape=_SPARSE_SHAPE,
            summary=(
                "the pre-trained network magnitude-pruned to the gene's parameter count; pruned weights "
                "start random; fine-tuned densely"
            ),
        ),
    ),
    (
        "random_slice",
        Method(
            "random_slice",
            summary=(
                "a seeded random chained choice of the pre-trained network's channels, gene-sized, in the gene's slots"
            ),
        ),
    ),
    (
        "aft",
        Method(
            None,
            aft=True,
            summary=(
                "random initialization, fine-tuned with the AFT regularizer toward the pre-trained network's features"
            ),
        ),
    ),
    ("learngene+aft", Method(LEARNGENE, aft=True, summary="the learngene, fine-tuned with the AFT regularizer")),
):
    register_method(_name, _method)
