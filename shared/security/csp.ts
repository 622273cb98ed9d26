/**
 * The renderer's Content Security Policy, in one place: the Electron main process sends it as a
 * header and the web harness does the same, each adding only where the API lives (`connect-src`);
 * the built index.html carries it in a <meta> tag as well (the harness swaps in its own), so the
 * page keeps its policy even where no header arrives.
 * No inline scripts, no eval, no remote code; styles only from our own files.
 */
/** The <meta http-equiv> tag of a policy, as the built index.html carries it. */
export function cspMetaTag(policy: string): string {
  return `<meta http-equiv="Content-Security-Policy" content="${policy}" />`;
}

/** The tag in a page, to swap it (the harness adds its WebSocket origin). */
export const CSP_META_PATTERN = /<meta http-equiv="Content-Security-Policy" content="[^"]*" \/>/;

export function contentSecurityPolicy(options: { connectSrc?: readonly string[]; meta?: boolean } = {}): string {
  const directives: Record<string, readonly string[]> = {
    'default-src': ["'none'"],
    'script-src': ["'self'"],
    'style-src': ["'self'"],
    'img-src': ["'self'", 'data:'],
    'font-src': ["'self'"],
    'connect-src': ["'self'", ...(options.connectSrc ?? [])],
    'worker-src': ["'self'"],
    'object-src': ["'none'"],
    'base-uri': ["'none'"],
    'form-action': ["'none'"],
    'frame-ancestors': ["'none'"],
  };
  // A <meta> policy may not carry frame-ancestors (browsers ignore it there, with a warning).
  if (options.meta) delete directives['frame-ancestors'];
  return Object.entries(directives)
    .map(([name, sources]) => `${name} ${sources.join(' ')}`)
    .join('; ');
}
