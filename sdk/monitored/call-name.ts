/**
 * Names the calls of `fn`: `explicit` (the `name` option) when given, else the function's name, as
 * Class.method when it is called on an instance of a class.
 */
export function callNamer(fn: { name: string }, explicit?: string): (self: unknown) => string {
  const fixed = explicit ?? (fn.name || 'anonymous');
  return (self) => {
    if (explicit) return explicit;
    const owner = (self as { constructor?: { name?: string } } | null | undefined)?.constructor?.name;
    return owner && owner !== 'Object' && owner !== 'Function' ? `${owner}.${fixed}` : fixed;
  };
}
