"""gtl_ray.table_schema: Arrow types compared as Parquet writers differ (a list's item name)."""

from __future__ import annotations

import pyarrow as pa

from gtl_ray.table_schema import same_type


def test_a_lists_item_name_does_not_matter_its_type_does():
    named = pa.list_(pa.field("element", pa.int32()))
    assert same_type(named, pa.list_(pa.int32())) and not same_type(pa.list_(pa.int64()), pa.list_(pa.int32()))
    assert same_type(pa.string(), pa.string()) and not same_type(pa.string(), pa.large_string())
