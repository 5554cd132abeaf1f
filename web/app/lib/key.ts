/**
 * The API key: asked for once and kept in localStorage. The receiver's first-start link carries it in
 * the URL fragment (`/#key=pm_...`), which browsers never send to a server; it is taken from there and
 * removed from the address bar at once, so a copied link never shares it.
 */

const STORAGE = 'pipemon.key';

export function savedKey(): string | null {
  return localStorage.getItem(STORAGE);
}

export function saveKey(key: string): void {
  localStorage.setItem(STORAGE, key);
}

export function forgetKey(): void {
  localStorage.removeItem(STORAGE);
}

/** Saves a key given as `#key=...` and leaves the overview's address in its place; true when there was one. */
export function takeKeyFromFragment(): boolean {
  const match = /^#key=([^&]+)$/.exec(location.hash);
  if (!match) return false;
  saveKey(decodeURIComponent(match[1]!));
  history.replaceState(null, '', `${location.pathname}${location.search}#/`);
  return true;
}
