/** Helpers of the chart tests: a well-formedness check, the texts of an SVG, counting matches. */

/**
 * A tiny well-formedness check: tags nest and close, attributes are quoted, text holds no raw '<'
 * and every '&' starts an entity. Returns the root element's name; throws on the first problem.
 */
export function checkXml(doc: string): string {
  const tag = /<(\/?)([A-Za-z][\w.:-]*)((?:\s+[\w.:-]+="[^"<]*")*)\s*(\/?)>/y;
  const badAmp = /&(?!(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)/;
  const stack: string[] = [];
  let root: string | undefined;
  let i = 0;
  while (i < doc.length) {
    const lt = doc.indexOf('<', i);
    const text = doc.slice(i, lt === -1 ? doc.length : lt);
    if (badAmp.test(text)) throw new Error(`bare & in text near ${i}`);
    if (stack.length === 0 && text.trim() !== '') throw new Error(`text outside the root near ${i}`);
    if (lt === -1) break;
    tag.lastIndex = lt;
    const m = tag.exec(doc);
    if (!m) throw new Error(`malformed tag at ${lt}: ${doc.slice(lt, lt + 40)}`);
    const [whole, close, name, attrs, selfClose] = m;
    if (badAmp.test(attrs!)) throw new Error(`bare & in attributes of <${name}>`);
    if (close) {
      if (selfClose || attrs) throw new Error(`bad end tag </${name}>`);
      const open = stack.pop();
      if (open !== name) throw new Error(`</${name}> closes <${open}>`);
    } else {
      if (stack.length === 0) {
        if (root !== undefined) throw new Error('two root elements');
        root = name;
      }
      if (!selfClose) stack.push(name!);
    }
    i = lt + whole!.length;
  }
  if (stack.length) throw new Error(`unclosed <${stack.join('> <')}>`);
  if (root === undefined) throw new Error('no root element');
  return root;
}

/** The contents of every <text> element, unescaped, in document order. */
export function texts(svg: string): string[] {
  const unescape = (s: string) => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');
  return [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => unescape(m[1]!));
}

export const count = (svg: string, re: RegExp) => (svg.match(re) ?? []).length;

