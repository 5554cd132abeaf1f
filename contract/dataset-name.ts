/**
 * A dataset's one name, as the OpenLineage naming spec writes it (https://openlineage.io/docs/spec/naming):
 * a namespace with an authority joins its name with one slash (`postgres://host:5432/db.schema.table`,
 * `s3://bucket/key`), a bare scheme with `://` (`bigquery` and `project.ds.table` are
 * `bigquery://project.ds.table`, `file` and `/tmp/x` are `file:///tmp/x`). Airflow's `File` sends
 * `file://` and `tmp/x`: the same `file:///tmp/x`. The SDKs name their sources and targets this way in
 * `pipemon.lineage.inputs` / `outputs`, and the receiver splits the name back (datasetOfName) into the
 * namespace and name it shows; a dataset is keyed by its one name, so that every producer naming one
 * table meets at one dataset.
 */

export interface DatasetRef {
  namespace: string;
  name: string;
}

export function datasetName({ namespace, name }: DatasetRef): string {
  if (!namespace.includes('://')) return `${namespace}://${name}`;
  const joined = name.startsWith('/') || (namespace.endsWith('/') && !namespace.endsWith('://'));
  return joined ? `${namespace}${name}` : `${namespace}/${name}`;
}

/**
 * The namespace and name of a dataset name: `scheme://authority` and the path after it, or the bare
 * scheme and the rest where there is no authority (`bigquery://p.d.t`, `file:///tmp/x`). A name
 * without `://` is a name in no namespace (''): kept, not refused, as a sender wrote it.
 */
export function datasetOfName(text: string): DatasetRef {
  const at = text.indexOf('://');
  if (at <= 0) return { namespace: '', name: text };
  const scheme = text.slice(0, at);
  const rest = text.slice(at + 3);
  const slash = rest.indexOf('/');
  // No authority (`file:///x`) or no path (`bigquery://p.d.t`): the scheme alone is the namespace.
  if (slash <= 0) return { namespace: scheme, name: rest };
  return { namespace: `${scheme}://${rest.slice(0, slash)}`, name: rest.slice(slash + 1) };
}
