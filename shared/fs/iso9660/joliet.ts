/**
 * Joliet (Microsoft's "Joliet Specification", 1995): a second directory tree with UCS-2 names,
 * described by a Supplementary Volume Descriptor (ECMA-119 8.5) whose escape sequences say
 * which UCS-2 level its text uses. Names are in names.ts; the descriptor's layout in
 * volume-descriptor.ts. Joliet directories carry no Rock Ridge entries.
 */

/** The escape sequences of the three UCS-2 levels ("%/@", "%/C", "%/E"); we write level 3. */
export const JOLIET_LEVELS = {
  1: [0x25, 0x2f, 0x40],
  2: [0x25, 0x2f, 0x43],
  3: [0x25, 0x2f, 0x45],
} as const;

/** The 32-byte escape sequences field for UCS-2 level 3 (what mkisofs and xorriso write). */
export const JOLIET_ESCAPE_SEQUENCES: Uint8Array = (() => {
  const field = new Uint8Array(32);
  field.set(JOLIET_LEVELS[3]);
  return field;
})();

/** The Joliet UCS-2 level the escape sequences name, or null when they name none. */
export function jolietLevel(escapeSequences: Uint8Array): 1 | 2 | 3 | null {
  for (const level of [1, 2, 3] as const) {
    const seq = JOLIET_LEVELS[level];
    // The sequence may appear anywhere in the field (8.5.6), in practice at its start.
    for (let i = 0; i + seq.length <= escapeSequences.length; i++) {
      if (escapeSequences[i] === seq[0] && escapeSequences[i + 1] === seq[1] && escapeSequences[i + 2] === seq[2]) return level;
    }
  }
  return null;
}
