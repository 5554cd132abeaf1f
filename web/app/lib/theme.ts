/**
 * Light and dark: the system's choice (prefers-color-scheme) unless the toggle overrode it, which is
 * remembered. The stylesheet does the rest with color-scheme and light-dark().
 */

const STORAGE = 'pipemon.theme';
type Theme = 'light' | 'dark';

const systemTheme = (): Theme => (matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light');

function chosen(): Theme | null {
  const value = localStorage.getItem(STORAGE);
  return value === 'light' || value === 'dark' ? value : null;
}

export function currentTheme(): Theme {
  return chosen() ?? systemTheme();
}

export function applyTheme(): void {
  const theme = chosen();
  if (theme) document.documentElement.dataset.theme = theme;
  else delete document.documentElement.dataset.theme;
}

/** Switches to the other theme; choosing the system's own forgets the override. */
export function toggleTheme(): void {
  const next: Theme = currentTheme() === 'dark' ? 'light' : 'dark';
  if (next === systemTheme()) localStorage.removeItem(STORAGE);
  else localStorage.setItem(STORAGE, next);
  applyTheme();
}
