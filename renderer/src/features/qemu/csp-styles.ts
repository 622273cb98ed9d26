/**
 * xterm.js's DOM renderer sizes and colours its rows with <style> elements it fills at run time.
 * Our Content Security Policy (style-src 'self', no 'unsafe-inline') blocks those, which leaves
 * the console unstyled (xtermjs/xterm.js#4445). This mirrors each such element's text into a
 * constructed stylesheet (CSSOM, which the policy allows) and keeps it in step as xterm rewrites
 * it; the policy stays strict. Scoped to the terminal's own element.
 */
export function mirrorBlockedStyles(root: HTMLElement): () => void {
  const sheets = new Map<HTMLStyleElement, CSSStyleSheet>();
  const adopt = (sheet: CSSStyleSheet) => {
    document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet];
  };
  const drop = (sheet: CSSStyleSheet) => {
    document.adoptedStyleSheets = document.adoptedStyleSheets.filter((s) => s !== sheet);
  };
  const sync = () => {
    for (const element of root.querySelectorAll('style')) {
      let sheet = sheets.get(element);
      if (!sheet) {
        sheet = new CSSStyleSheet();
        sheets.set(element, sheet);
        adopt(sheet);
      }
      sheet.replaceSync(element.textContent ?? '');
    }
    for (const [element, sheet] of sheets) {
      if (!root.contains(element)) {
        drop(sheet);
        sheets.delete(element);
      }
    }
  };
  const observer = new MutationObserver(sync);
  observer.observe(root, { subtree: true, childList: true, characterData: true });
  sync();
  return () => {
    observer.disconnect();
    for (const sheet of sheets.values()) drop(sheet);
    sheets.clear();
  };
}
