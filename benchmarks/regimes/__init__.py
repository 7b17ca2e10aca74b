"""The experiment harness of `benchmarks/protocol.md`: typed units of work that derive their own
cache paths (`units`), what each unit computes (`prepare`, `score`), regime A's stages read top to
bottom (`regime_a`), and the tables rendered from per-episode Parquet files alone (`render`)."""
