"""A dataset's one name, the twin of datasetName in contract/dataset-name.ts (test/python/parity.test.ts asks
both of the same cases): a namespace with an authority joins its name with one slash
(`postgres://host:5432` and `db.schema.table` are `postgres://host:5432/db.schema.table`), a bare scheme with
`://` (`dw` and `orders` are `dw://orders`, `file` and `/tmp/x` are `file:///tmp/x`)."""

from __future__ import annotations


def dataset_name(namespace: str, name: str) -> str:
    if "://" not in namespace:
        return f"{namespace}://{name}"
    joined = name.startswith("/") or (namespace.endswith("/") and not namespace.endswith("://"))
    return f"{namespace}{name}" if joined else f"{namespace}/{name}"
