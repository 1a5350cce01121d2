/**
 * Indents JSON text the way Go's json.MarshalIndent(v, "", "  ") does (what Skydive's client
 * prints), working on the text itself: numbers are copied as written, so int64 values beyond
 * 2^53 stay exact, and keys keep their order. The input must be valid JSON.
 */
export function indentJSON(text: string, indent = '  '): string {
  let out = '';
  let depth = 0;
  let i = 0;
  const n = text.length;
  const newline = (): string => '\n' + indent.repeat(depth);
  const nextSignificant = (from: number): string => {
    let j = from;
    while (j < n && (text[j] === ' ' || text[j] === '\n' || text[j] === '\r' || text[j] === '\t')) j++;
    return text[j] ?? '';
  };
  while (i < n) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (j < n && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j + 1;
      continue;
    }
    switch (c) {
      case ' ': case '\n': case '\r': case '\t':
        break;
      case '{': case '[': {
        const close = c === '{' ? '}' : ']';
        const next = nextSignificant(i + 1);
        if (next === close) {
          out += c + close;
          i = text.indexOf(close, i + 1);
        } else {
          depth++;
          out += c + newline();
        }
        break;
      }
      case '}': case ']':
        depth--;
        out += newline() + c;
        break;
      case ',':
        out += ',' + newline();
        break;
      case ':':
        out += ': ';
        break;
      default:
        out += c;
    }
    i++;
  }
  return out;
}
