/** Shaping shared by the lists: resource and scope columns as nested objects, times as ISO strings. */

/** The resource and scope columns that logs and spans share. */
export interface ResourceScopeColumns {
  resource_attributes: Record<string, unknown>;
  resource_schema_url: string;
  scope_name: string;
  scope_version: string;
  scope_attributes: Record<string, unknown>;
  scope_schema_url: string;
}

export const RESOURCE_SCOPE_SELECT = 'resource_attributes, resource_schema_url, scope_name, scope_version, scope_attributes, scope_schema_url';

export function resourceAndScope(row: ResourceScopeColumns) {
  return {
    resource: { attributes: row.resource_attributes, schema_url: row.resource_schema_url },
    scope: { name: row.scope_name, version: row.scope_version, attributes: row.scope_attributes, schema_url: row.scope_schema_url },
  };
}

export const isoOrNull = (value: Date | null) => (value === null ? null : new Date(value).toISOString());
