/**
 * The one spelling of the log body search: the GIN index of migration 4 is on BODY_TSVECTOR and the
 * query API matches it, and PostgreSQL uses the index only while both say exactly this.
 *
 * left(): PostgreSQL refuses a tsvector over 1 MB (SQLSTATE 54000, a permanent error that would fail
 * the record's whole request); the words of a body's first 100,000 characters stay far under it, even
 * when every word differs.
 */
export const BODY_TSVECTOR = `to_tsvector('simple', left(body, 100000))`;

/** `q` as web-search words (quoted phrases, -excluded, or): the condition the index serves. */
export const bodyMatches = (placeholder: string) => `${BODY_TSVECTOR} @@ websearch_to_tsquery('simple', ${placeholder})`;
