/**
 * The syntax tree of a query: `G` then a chain of steps, each with its arguments. Every node
 * keeps its source offsets so later checks can point at the culprit.
 */

/** A plain argument value. Keywords are the bare words ASC, DESC, NOW, FOREVER (upper-cased). */
export type LiteralNode =
  | { readonly kind: 'string'; readonly value: string; readonly pos: number; readonly end: number }
  | { readonly kind: 'number'; readonly value: number | bigint; readonly isFloat: boolean; readonly pos: number; readonly end: number }
  | { readonly kind: 'bool'; readonly value: boolean; readonly pos: number; readonly end: number }
  | { readonly kind: 'keyword'; readonly value: 'ASC' | 'DESC' | 'NOW' | 'FOREVER'; readonly pos: number; readonly end: number };

/** A predicate such as `Within(1, 2)`: a name and plain values (predicates do not nest). */
export interface PredicateNode {
  readonly kind: 'predicate';
  /** As written. */
  readonly name: string;
  /** Upper-cased: names are case-insensitive. */
  readonly upper: string;
  readonly args: readonly LiteralNode[];
  readonly pos: number;
  readonly end: number;
}

export type ArgNode = LiteralNode | PredicateNode;

export interface StepNode {
  readonly name: string;
  readonly upper: string;
  readonly args: readonly ArgNode[];
  /** Offset of the step name. */
  readonly pos: number;
  /** Offset just past the closing parenthesis. */
  readonly end: number;
}

export interface QueryNode {
  /** The text parsed, for error carets. */
  readonly text: string;
  readonly steps: readonly StepNode[];
}
