"""Per-episode score files (gtl_ray.evaluation.episode_file): written as zstd Parquet, read back
only after every column and value is checked, and a CI recomputed from a small file."""

from __future__ import annotations

import dataclasses

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from gtl_ray.errors import EpisodeFileError
from gtl_ray.evaluation.episode_file import EPISODES, EpisodeRow, read_episodes, score_matrix, select, write_episodes
from gtl_ray.evaluation.seeds import paired_by_seed
from gtl_ray.evaluation.stats import mean_ci95


def row(method: str, seed: int, episode: int, accuracy: float, **extra) -> EpisodeRow:
    base = dict(
        dataset="offline",
        table="A-novel",
        split="novel",
        stream="episode",
        method=method,
        variant="",
        size="x1",
        seed=seed,
        shots=5,
        episode=episode,
        accuracy=accuracy,
        instinct=0.5,
        sample_grads=500,
        preparation_sample_grads=30720,
    )
    return EpisodeRow(**(base | extra))


#: learngene and narrow on 2 seeds x 3 episodes: per-episode differences 0.1, 0.0, 0.2 (seed 0)
#: and 0.0, 0.1, 0.0 (seed 1)
SCORES = {
    "learngene": [[0.8, 0.6, 0.9], [0.7, 0.8, 0.6]],
    "narrow": [[0.7, 0.6, 0.7], [0.7, 0.7, 0.6]],
}


def small_file(path) -> str:
    rows = [
        row(method, seed, episode, value)
        for method, grid in SCORES.items()
        for seed, values in enumerate(grid)
        for episode, value in enumerate(values)
    ]
    write_episodes(str(path), rows)
    return str(path)


def test_a_ci_recomputed_from_a_committed_style_file(tmp_path):
    path = small_file(tmp_path / "scores.parquet")
    assert pq.ParquetFile(path).metadata.row_group(0).column(0).compression == "ZSTD"
    table = read_episodes(path)
    a, seeds, episodes = score_matrix(table, method="learngene", shots=5, size="x1")
    b, _, _ = score_matrix(table, method="narrow", shots=5, size="x1")
    assert seeds == [0, 1] and episodes == [0, 1, 2]
    c = paired_by_seed(a, b)
    assert c.per_seed == pytest.approx((0.1, 1 / 30))  # (0.1 + 0 + 0.2) / 3, (0 + 0.1 + 0) / 3
    assert c.mean == pytest.approx((0.1 + 1 / 30) / 2)
    # episode level: the seed-averaged differences 0.05, 0.05, 0.1
    assert (c.mean, c.episode_ci95) == pytest.approx(mean_ci95([0.05, 0.05, 0.1]))
    assert select(table, method="narrow", seed=1).num_rows == 3


@pytest.mark.parametrize(
    "change,names",
    [
        ({"accuracy": 1.5}, ["row 0", "'accuracy'", "fraction"]),
        ({"instinct": float("nan")}, ["'instinct'"]),
        ({"split": "test"}, ["'split'", "base, val, novel"]),
        ({"method": "a\nb"}, ["'method'"]),
        ({"shots": 0}, ["'shots'", ">= 1"]),
        ({"sample_grads": -1}, ["'sample_grads'"]),
    ],
)
def test_bad_values_are_refused_naming_row_and_column(tmp_path, change, names):
    path = tmp_path / "bad.parquet"
    EPISODES.write(str(path), [dataclasses.replace(row("narrow", 0, 0, 0.5), **change)])
    with pytest.raises(EpisodeFileError) as info:
        read_episodes(str(path))
    for name in ["bad.parquet", *names]:
        assert name in str(info.value)


def test_wrong_types_missing_columns_and_repeated_keys(tmp_path):
    table = EPISODES.to_table([row("narrow", 0, 0, 0.5), row("narrow", 0, 1, 0.5)])
    retyped = table.set_column(table.schema.get_field_index("seed"), "seed", pa.array(["0", "0"], pa.string()))
    for name, bad, message in (
        ("retyped", retyped, "column 'seed' has type string, expected int64"),
        ("dropped", table.drop_columns(["episode"]), "lacks column 'episode'"),
    ):
        pq.write_table(bad, tmp_path / f"{name}.parquet")
        with pytest.raises(EpisodeFileError, match=message):
            read_episodes(str(tmp_path / f"{name}.parquet"))
    with pytest.raises(EpisodeFileError, match="row 1 repeats row 0"):
        write_episodes(str(tmp_path / "twice.parquet"), [row("narrow", 0, 0, 0.5), row("narrow", 0, 0, 0.6)])
    (tmp_path / "junk.parquet").write_bytes(b"not parquet")
    with pytest.raises(EpisodeFileError, match="not a readable episode-score Parquet file"):
        read_episodes(str(tmp_path / "junk.parquet"))


def test_score_matrix_refuses_an_incomplete_grid(tmp_path):
    path = tmp_path / "holes.parquet"
    write_episodes(str(path), [row("narrow", 0, 0, 0.5), row("narrow", 0, 1, 0.5), row("narrow", 1, 0, 0.5)])
    with pytest.raises(EpisodeFileError, match="do not form one seeds x episodes grid"):
        score_matrix(read_episodes(str(path)), method="narrow")
    grid, _, _ = score_matrix(read_episodes(small_file(tmp_path / "ok.parquet")), method="narrow")
    assert np.allclose(grid, SCORES["narrow"])
