import pytest

from gtl_ray.config import apply_override
from gtl_ray.errors import ConfigError
from gtl_ray.preflight import load_config


def test_defaults_and_quickstart_validate():
    assert load_config(None).population.size >= 2
    config = load_config("configs/quickstart.yaml")
    assert config.model.arch == "vgg11" and config.data.format == "procedural"


def test_set_overrides_parse_yaml_values():
    config = load_config(
        "configs/quickstart.yaml", ["evaluation.shots=[1,5]", "model.width=0.5", "evolution.inheritance=darwinian"]
    )
    assert (
        config.evaluation.shots == [1, 5] and config.model.width == 0.5 and config.evolution.inheritance == "darwinian"
    )


@pytest.mark.parametrize(
    "override,message",
    [
        ("model.bogus=1", "unknown key model.bogus; allowed under model: arch, depth, width"),
        ("population.size=two", "population.size: expected an integer"),
        ("population.size=0", "population.size: must be >= 1"),
        ("learngene.share=1.5", r"learngene.share: must be in \(0, 1\)"),
        ("evolution.tournament_size=99", "evolution.tournament_size: must be between 1 and population.size"),
        ("evolution.elites=4", "evolution.elites: must be >= 0 and < population.size"),
        (
            "evolution.inheritance=lysenko",
            "evolution.inheritance: 'lysenko' is not allowed; choose one of lamarckian, darwinian",
        ),
        ("lifetime.n_way=70", "lifetime.n_way: 70 classes asked but data.splits.base has only 64"),
        ("model.arch=alexnet", "model.arch: unknown architecture 'alexnet'; registered:"),
        ("evaluation.methods=[scratch,magic]", "evaluation.methods: unknown method 'magic'"),
        ("population.gpus_per_member=1.5", "population.gpus_per_member: fractions are allowed only below 1"),
        ("evolution.inheritance=lysenko", "choose one of lamarckian, darwinian, reptile"),
        (
            "evolution.fitness=luck",
            "evolution.fitness: 'luck' is not allowed; choose one of lifetime, descendant, instinct",
        ),
        ("evolution.init=zoo", "evolution.init: 'zoo' is not allowed; choose one of random, pretrained, narrow"),
        ("evolution.step_size=0", r"evolution.step_size: must be in \(0, 1\]"),
        ("evolution.top_k=99", "evolution.top_k: must be between 1 and population.size"),
        ("evolution.fitness_episodes=0", "evolution.fitness_episodes: must be >= 1"),
        (
            "evolution.fitness=descendant|evolution.fitness_shots=50",
            "evolution.fitness_shots: fitness_shots \\+ evaluation.query = 65 but data.images_per_class is 60",
        ),
        ("evolution.hall_of_fame=0", "evolution.hall_of_fame: must be >= 1"),
        (
            "evolution.fitness_sizes=[{width: 0.5}]",
            "evolution.fitness_sizes: sizes are for evolution.fitness descendant",
        ),
        (
            "evolution.fitness=instinct|evolution.fitness_sizes=[{widht: 2}]",
            "unknown key evolution.fitness_sizes\\[0\\].widht",
        ),
        (
            "evolution.fitness=instinct|evolution.fitness_sizes=[2]",
            "evolution.fitness_sizes\\[0\\]: expected a mapping",
        ),
        (
            "evolution.fitness=instinct|evolution.fitness_sizes=[{width: 0.1}]",
            "evolution.fitness_sizes: a gene of vgg11 \\(width 0.25\\) does not go into vgg11, width 0.1",
        ),
        (
            "evolution.fitness=instinct|evolution.fitness_sizes=[{arch: vgg19}]",
            "evolution.fitness_sizes: unknown architecture 'vgg19'",
        ),
        (
            "evaluation.extra_layers=identical",
            "evaluation.extra_layers: 'identical' is not allowed \\(did you mean identity\\?\\); "
            "choose one of default, identity",
        ),
        ("evaluation.episode_seed=-1", "evaluation.episode_seed: must be >= 0"),
        ("final.selection=best", "final.selection: 'best' is not allowed; choose one of last_generation, val"),
        ("final.val_episodes=0", "final.val_episodes: must be >= 1"),
        (
            "evaluation.rest_init=zero",
            "evaluation.rest_init: 'zero' is not allowed; choose one of default, scaled, zero_cross",
        ),
        ("evaluation.rest_scale=2", r"evaluation.rest_scale: must be in \[0, 1\]"),
        ("lifetime.environments=0", "lifetime.environments: must be >= 1"),
        ("lifetime.shared_environment=maybe", "lifetime.shared_environment: expected true or false"),
        ("population.precision=fp8", "population.precision: 'fp8' is not allowed; choose one of fp32, bf16, fp16"),
        (
            "population.precision=fp16",
            r"population.precision: fp16 runs on CUDA only and needs population.gpus_per_member > 0 \(on CPU choose bf16 or fp32\)",
        ),
        ("population.channels_last=maybe", "population.channels_last: expected true or false"),
        ("population.compile=1", "population.compile: expected true or false"),
        ("population.members_per_actor=0", "population.members_per_actor: must be >= 1"),
        ("population.members_per_actor=3", r"population.members_per_actor: must divide population.size \(4\)"),
        (
            "population.gpus_per_member=0.3|population.members_per_actor=4",
            "population.members_per_actor: 4 members of population.gpus_per_member=0.3 make an actor of 1.2 GPUs",
        ),
    ],
)
def test_bad_values_name_the_key(override, message):
    with pytest.raises(ConfigError, match=message):
        load_config("configs/quickstart.yaml", override.split("|"))
    if override.startswith("evolution.fitness=descendant|"):  # the same shots are fine while unused
        load_config("configs/quickstart.yaml", override.split("|")[1:])


def test_bad_files_and_override_syntax(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.yaml")
    (tmp_path / "list.yaml").write_text("- 1\n")
    with pytest.raises(ConfigError, match="top level must be a mapping"):
        load_config(tmp_path / "list.yaml")
    with pytest.raises(ConfigError, match="--set expects key=value"):
        apply_override({}, "nokey")


@pytest.mark.parametrize(
    "text,message",
    [
        ("model:\n  widht: 0.5\n", "unknown key model.widht (did you mean model.width?); allowed under model:"),
        ("evolutoin:\n  generations: 2\n", "unknown key evolutoin (did you mean evolution?); allowed under top level:"),
        (
            "evolution:\n  inheritance: lamarkian\n",
            "'lamarkian' is not allowed (did you mean lamarckian?); choose one of",
        ),
        ("model:\n  bogus: 1\n", "unknown key model.bogus; allowed under model: arch, depth, width"),
    ],
)
def test_unknown_keys_and_values_suggest_the_closest(tmp_path, text, message):
    """A typo in a config file is answered with the key (or value) it was probably meant to be;
    a name like none of them gets the list alone."""
    path = tmp_path / "typo.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as refused:
        load_config(path)
    assert message in str(refused.value) and str(refused.value).count("did you mean") == message.count("did you mean")
