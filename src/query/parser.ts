/**
 * Recursive-descent parser for the Gremlin dialect:
 *
 *   query     = "G" { "." step } EOF            ("G" or "g")
 *   step      = IDENT "(" [ arg { "," arg } ] ")"
 *   arg       = STRING | NUMBER | keyword | bool | predicate
 *   predicate = IDENT "(" [ value { "," value } ] ")"
 *   value     = STRING | NUMBER | keyword | bool
 *
 * It checks shape only; which steps and predicates exist, and their arguments, are checked by
 * the compiler (compile.ts). Nothing recurses beyond one predicate level, so no input can
 * exhaust the stack.
 */
import type { ArgNode, LiteralNode, PredicateNode, QueryNode, StepNode } from './ast.js';
import { QueryError } from './errors.js';
import { tokenize, type Token } from './lexer.js';

/** Longest query accepted, in characters: far above any real query, and a bound on work. */
export const MAX_QUERY_LENGTH = 65536;

const KEYWORDS = new Set(['ASC', 'DESC', 'NOW', 'FOREVER']);

function describe(t: Token): string {
  switch (t.kind) {
    case 'eof': return 'end of query';
    case 'string': return `string '${t.text.length > 30 ? t.text.slice(0, 30) + '...' : t.text}'`;
    case 'number': return `number ${t.text}`;
    case 'ident': return `'${t.text}'`;
    default: return `'${t.text}'`;
  }
}

class Parser {
  private i = 0;

  constructor(private readonly text: string, private readonly tokens: readonly Token[]) {}

  private peek(): Token {
    return this.tokens[this.i];
  }

  private next(): Token {
    const t = this.tokens[this.i];
    if (t.kind !== 'eof') this.i++;
    return t;
  }

  private fail(t: Token, expected: string): never {
    throw new QueryError(`unexpected ${describe(t)}`, { query: this.text, position: t.pos, expected });
  }

  query(): QueryNode {
    const g = this.next();
    if (g.kind === 'eof') throw new QueryError('empty query', { query: this.text, position: 0, expected: 'a query starts with G' });
    if (g.kind !== 'ident' || g.text.toUpperCase() !== 'G') this.fail(g, 'a query starts with G');
    const steps: StepNode[] = [];
    for (;;) {
      const t = this.next();
      if (t.kind === 'eof') break;
      if (t.kind !== 'dot') this.fail(t, "expected '.' and a step");
      steps.push(this.step());
    }
    return { text: this.text, steps };
  }

  private step(): StepNode {
    const name = this.next();
    if (name.kind !== 'ident') this.fail(name, 'expected a step name such as Flows');
    const open = this.next();
    if (open.kind !== 'lparen') this.fail(open, `expected '(' after ${name.text}`);
    const { args, end } = this.args(false);
    return { name: name.text, upper: name.text.toUpperCase(), args, pos: name.pos, end };
  }

  /** Arguments after '(' up to and including ')'. */
  private args(plainOnly: true): { args: LiteralNode[]; end: number };
  private args(plainOnly: false): { args: ArgNode[]; end: number };
  private args(plainOnly: boolean): { args: ArgNode[]; end: number } {
    const args: ArgNode[] = [];
    if (this.peek().kind === 'rparen') return { args, end: this.next().end };
    for (;;) {
      args.push(this.arg(plainOnly));
      const t = this.next();
      if (t.kind === 'rparen') return { args, end: t.end };
      if (t.kind !== 'comma') this.fail(t, "expected ',' or ')'");
    }
  }

  private arg(plainOnly: boolean): ArgNode {
    const t = this.next();
    switch (t.kind) {
      case 'string':
        return { kind: 'string', value: t.text, pos: t.pos, end: t.end };
      case 'number':
        return { kind: 'number', value: t.num as number | bigint, isFloat: t.text.includes('.'), pos: t.pos, end: t.end };
      case 'ident': {
        const upper = t.text.toUpperCase();
        if (this.peek().kind === 'lparen') {
          if (plainOnly) {
            throw new QueryError(`predicate ${t.text}() inside a predicate`, {
              query: this.text, position: t.pos, expected: 'predicates take plain values',
            });
          }
          this.next();
          const { args, end } = this.args(true);
          const p: PredicateNode = { kind: 'predicate', name: t.text, upper, args, pos: t.pos, end };
          return p;
        }
        if (KEYWORDS.has(upper)) {
          return { kind: 'keyword', value: upper as 'ASC' | 'DESC' | 'NOW' | 'FOREVER', pos: t.pos, end: t.end };
        }
        if (upper === 'TRUE' || upper === 'FALSE') return { kind: 'bool', value: upper === 'TRUE', pos: t.pos, end: t.end };
        throw new QueryError(`unexpected word '${t.text}'`, {
          query: this.text, position: t.pos, expected: `expected a value (strings are quoted: '${t.text}')`,
        });
      }
      default:
        return this.fail(t, 'expected a value');
    }
  }
}

/** Parses a query. Throws QueryError with the position of the first syntax error. */
export function parseQuery(text: string): QueryNode {
  if (typeof text !== 'string') throw new QueryError('the query must be a string');
  if (text.length > MAX_QUERY_LENGTH) {
    throw new QueryError(`query too long: ${text.length} characters, at most ${MAX_QUERY_LENGTH}`);
  }
  return new Parser(text, tokenize(text)).query();
}
