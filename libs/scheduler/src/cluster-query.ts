/**
 * ECS's cluster query language, as memberOf placement constraints use it:
 *
 *   attribute:ecs.cpu-architecture == arm64
 *   attribute:zone in [kitchen, attic]
 *   attribute:gpu exists            attribute:gpu !exists
 *   attribute:disk =~ ssd.*         not(attribute:room == garage)
 *   task:group == web and (instanceId != n-1 or agentConnected == true)
 *
 * Subjects: attribute:NAME, instanceId (ec2InstanceId: the same), task:group,
 * agentConnected, agentVersion, runningTasksCount. Operators: == != > >= < <=
 * =~ !~ in !in exists !exists, and their word forms (equals, not_equals,
 * greater_than, ..., matches, not_matches, not_in, not_exists); && / and,
 * || / or, ! / not. Values: bare words or 'quoted', lists in [ ]. Numbers
 * compare as numbers. Pure.
 */

export type Subject = { kind: 'attribute'; name: string } | { kind: 'instanceId' } | { kind: 'taskGroup' } | { kind: 'agentConnected' } | { kind: 'agentVersion' } | { kind: 'runningTasksCount' };

export type CompareOp = '==' | '!=' | '>' | '>=' | '<' | '<=' | '=~' | '!~' | 'in' | '!in';

export type QueryExpr =
  | { kind: 'and' | 'or'; left: QueryExpr; right: QueryExpr }
  | { kind: 'not'; expr: QueryExpr }
  | { kind: 'exists'; subject: Subject; negated: boolean }
  | { kind: 'compare'; subject: Subject; op: CompareOp; values: string[]; regex?: RegExp };

/** A parse error pointing at the character (0-based) where the expression goes wrong. */
export class QueryParseError extends Error {
  constructor(
    readonly expression: string,
    /** 0-based. */
    readonly position: number,
    readonly reason: string,
  ) {
    super(`${reason} at character ${position + 1}: ${expression}`);
  }
}

const WORD_OPS: Record<string, CompareOp | 'exists' | '!exists'> = {
  equals: '==',
  not_equals: '!=',
  greater_than: '>',
  greater_than_equal: '>=',
  less_than: '<',
  less_than_equal: '<=',
  matches: '=~',
  not_matches: '!~',
  in: 'in',
  not_in: '!in',
  exists: 'exists',
  not_exists: '!exists',
};
const SYMBOL_OPS = ['==', '!=', '>=', '<=', '=~', '!~', '>', '<', '!in', '!exists'] as const;

interface Token {
  text: string;
  pos: number;
  kind: 'word' | 'string' | 'punct' | 'op';
}

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const ch = src[i]!;
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    if (ch === "'" || ch === '"') {
      const end = src.indexOf(ch, i + 1);
      if (end < 0) throw new QueryParseError(src, i, 'unterminated quoted value');
      out.push({ text: src.slice(i + 1, end), pos: i, kind: 'string' });
      i = end + 1;
      continue;
    }
    if ('()[],'.includes(ch)) {
      out.push({ text: ch, pos: i, kind: 'punct' });
      i++;
      continue;
    }
    if (src.startsWith('&&', i) || src.startsWith('||', i)) {
      out.push({ text: src.slice(i, i + 2), pos: i, kind: 'op' });
      i += 2;
      continue;
    }
    const sym = SYMBOL_OPS.find((op) => src.startsWith(op, i) && !(/[a-z]/i.test(op.at(-1)!) && /[\w.-]/.test(src[i + op.length] ?? '')));
    if (sym) {
      out.push({ text: sym, pos: i, kind: 'op' });
      i += sym.length;
      continue;
    }
    if (ch === '!') {
      out.push({ text: '!', pos: i, kind: 'op' });
      i++;
      continue;
    }
    // A bare word: attribute names and values may hold letters, digits and . - _ : / * + ? ^ $ | { } \
    const m = /^[^\s()[\],'"!=<>&]+/.exec(src.slice(i));
    if (!m) throw new QueryParseError(src, i, `unexpected character ${JSON.stringify(ch)}`);
    // "=~" patterns may contain characters the word rule stops at only in quotes; keep bare words simple.
    out.push({ text: m[0], pos: i, kind: 'word' });
    i += m[0].length;
  }
  return out;
}

/** Parses an expression; throws QueryParseError. */
export function parseClusterQuery(src: string): QueryExpr {
  if (src.trim() === '') throw new QueryParseError(src, 0, 'empty expression');
  if (src.length > 2000) throw new QueryParseError(src, 2000, 'expression longer than 2000 characters');
  const toks = tokenize(src);
  let k = 0;
  const peek = () => toks[k];
  const at = () => (k < toks.length ? toks[k]!.pos : src.length);
  const fail = (reason: string): never => {
    throw new QueryParseError(src, at(), reason);
  };
  const isWord = (t: Token | undefined, ...words: string[]) => t !== undefined && t.kind === 'word' && words.includes(t.text.toLowerCase());

  const parseOr = (): QueryExpr => {
    let left = parseAnd();
    while (peek() && ((peek()!.kind === 'op' && peek()!.text === '||') || isWord(peek(), 'or'))) {
      k++;
      left = { kind: 'or', left, right: parseAnd() };
    }
    return left;
  };
  const parseAnd = (): QueryExpr => {
    let left = parseUnary();
    while (peek() && ((peek()!.kind === 'op' && peek()!.text === '&&') || isWord(peek(), 'and'))) {
      k++;
      left = { kind: 'and', left, right: parseUnary() };
    }
    return left;
  };
  const parseUnary = (): QueryExpr => {
    const t = peek();
    if (!t) return fail('expected a condition');
    if ((t.kind === 'op' && t.text === '!') || isWord(t, 'not')) {
      k++;
      if (peek()?.text !== '(') return fail('expected "(" after not');
      return { kind: 'not', expr: parseUnary() };
    }
    if (t.kind === 'punct' && t.text === '(') {
      k++;
      const e = parseOr();
      if (peek()?.text !== ')') return fail('expected ")"');
      k++;
      return e;
    }
    return parseCondition();
  };
  const parseSubject = (): Subject => {
    const t = peek();
    if (!t || t.kind !== 'word') return fail('expected attribute:NAME, instanceId, task:group, agentConnected, agentVersion or runningTasksCount');
    k++;
    const text = t.text;
    if (text.startsWith('attribute:')) {
      const name = text.slice('attribute:'.length);
      if (!/^[A-Za-z0-9][A-Za-z0-9_.\-/]{0,127}$/.test(name)) {
        k--;
        return fail('expected an attribute name after "attribute:"');
      }
      return { kind: 'attribute', name };
    }
    if (text === 'instanceId' || text === 'ec2InstanceId') return { kind: 'instanceId' };
    if (text === 'task:group') return { kind: 'taskGroup' };
    if (text === 'agentConnected') return { kind: 'agentConnected' };
    if (text === 'agentVersion') return { kind: 'agentVersion' };
    if (text === 'runningTasksCount') return { kind: 'runningTasksCount' };
    k--;
    return fail(`unknown subject ${JSON.stringify(text)} (expected attribute:NAME, instanceId, task:group, agentConnected, agentVersion or runningTasksCount)`);
  };
  const parseValue = (): string => {
    const t = peek();
    if (!t || (t.kind !== 'word' && t.kind !== 'string')) return fail('expected a value');
    k++;
    return t.text;
  };
  const parseCondition = (): QueryExpr => {
    const subject = parseSubject();
    const t = peek();
    if (!t) return fail('expected an operator (==, !=, in, =~, exists, ...)');
    let op: CompareOp | 'exists' | '!exists' | undefined;
    if (t.kind === 'op' && t.text !== '&&' && t.text !== '||' && t.text !== '!') op = t.text as CompareOp | '!exists';
    else if (t.kind === 'word') op = WORD_OPS[t.text.toLowerCase()];
    if (!op) return fail(`expected an operator (==, !=, in, =~, exists, ...), got ${JSON.stringify(t.text)}`);
    k++;
    if (op === 'exists' || op === '!exists') return { kind: 'exists', subject, negated: op === '!exists' };
    if (op === 'in' || op === '!in') {
      if (peek()?.text !== '[') return fail('expected "[" to start a list');
      k++;
      const values = [parseValue()];
      while (peek()?.text === ',') {
        k++;
        values.push(parseValue());
      }
      if (peek()?.text !== ']') return fail('expected "," or "]"');
      k++;
      return { kind: 'compare', subject, op, values };
    }
    const valuePos = at();
    const value = parseValue();
    if (op === '=~' || op === '!~') {
      try {
        return { kind: 'compare', subject, op, values: [value], regex: new RegExp(`^(?:${value})$`) };
      } catch (err) {
        throw new QueryParseError(src, valuePos, `not a valid pattern (${(err as Error).message})`);
      }
    }
    return { kind: 'compare', subject, op, values: [value] };
  };

  const e = parseOr();
  if (k < toks.length) fail(`unexpected ${JSON.stringify(toks[k]!.text)}`);
  return e;
}

/** What an expression is evaluated against: one node. */
export interface QueryContext {
  instanceId: string;
  attributes: ReadonlyMap<string, string>;
  /** Groups of the tasks on the node (task:group). */
  taskGroups: ReadonlySet<string>;
  agentConnected: boolean;
  agentVersion: string;
  runningTasksCount: number;
}

function subjectValues(s: Subject, c: QueryContext): string[] {
  switch (s.kind) {
    case 'attribute': {
      const v = c.attributes.get(s.name);
      return v === undefined ? [] : [v];
    }
    case 'instanceId':
      return [c.instanceId];
    case 'taskGroup':
      return [...c.taskGroups];
    case 'agentConnected':
      return [String(c.agentConnected)];
    case 'agentVersion':
      return [c.agentVersion];
    case 'runningTasksCount':
      return [String(c.runningTasksCount)];
  }
}

function compareOne(actual: string, op: CompareOp, expected: string[], regex?: RegExp): boolean {
  switch (op) {
    case '==':
      return actual === expected[0];
    case '!=':
      return actual !== expected[0];
    case 'in':
      return expected.includes(actual);
    case '!in':
      return !expected.includes(actual);
    case '=~':
      return regex!.test(actual);
    case '!~':
      return !regex!.test(actual);
    default: {
      const a = Number(actual);
      const b = Number(expected[0]);
      const numeric = actual.trim() !== '' && expected[0]!.trim() !== '' && Number.isFinite(a) && Number.isFinite(b);
      const cmp = numeric ? a - b : actual < expected[0]! ? -1 : actual > expected[0]! ? 1 : 0;
      return op === '>' ? cmp > 0 : op === '>=' ? cmp >= 0 : op === '<' ? cmp < 0 : cmp <= 0;
    }
  }
}

/** Whether a node satisfies the expression. A missing attribute satisfies only !=, !in, !~ and !exists. */
export function evaluateClusterQuery(e: QueryExpr, c: QueryContext): boolean {
  switch (e.kind) {
    case 'and':
      return evaluateClusterQuery(e.left, c) && evaluateClusterQuery(e.right, c);
    case 'or':
      return evaluateClusterQuery(e.left, c) || evaluateClusterQuery(e.right, c);
    case 'not':
      return !evaluateClusterQuery(e.expr, c);
    case 'exists':
      return (subjectValues(e.subject, c).length > 0) !== e.negated;
    case 'compare': {
      const values = subjectValues(e.subject, c);
      const negative = e.op === '!=' || e.op === '!in' || e.op === '!~';
      // task:group: true when any task on the node matches (for negative operators: when none does).
      if (negative) return values.every((v) => compareOne(v, e.op, e.values, e.regex));
      return values.some((v) => compareOne(v, e.op, e.values, e.regex));
    }
  }
}

/** Prints an expression back in canonical form (for explanations). */
export function formatClusterQuery(e: QueryExpr): string {
  const subject = (s: Subject) => (s.kind === 'attribute' ? `attribute:${s.name}` : s.kind === 'taskGroup' ? 'task:group' : s.kind);
  switch (e.kind) {
    case 'and':
    case 'or':
      return `(${formatClusterQuery(e.left)} ${e.kind} ${formatClusterQuery(e.right)})`;
    case 'not':
      return `not(${formatClusterQuery(e.expr)})`;
    case 'exists':
      return `${subject(e.subject)} ${e.negated ? '!exists' : 'exists'}`;
    case 'compare':
      return `${subject(e.subject)} ${e.op} ${e.op === 'in' || e.op === '!in' ? `[${e.values.join(', ')}]` : e.values[0]}`;
  }
}
