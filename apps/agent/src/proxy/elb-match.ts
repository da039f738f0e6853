/**
 * ELB's match syntaxes in HAProxy's terms: host and path patterns (`*` any run, `?` one character) as
 * anchored regexes, and health-check matchers ("200", "200-299", "200,302") as a status regex.
 * Regexes are written inside HAProxy's single quotes (no escape processing there), so `'` never
 * appears in them.
 */

const REGEX_META = /[.+()[\]{}^$|\\/]/;

/** An ELB wildcard pattern as an anchored regex body (without quotes). */
export function wildcardToRegex(pattern: string): string {
  return `^${wildcardBody(pattern, '.*', '.')}$`;
}

/** An ELB wildcard pattern as an unanchored regex, `*` and `?` as given. */
export function wildcardBody(pattern: string, star: string, one: string): string {
  let out = '';
  for (const c of pattern) {
    if (c === '*') out += star;
    else if (c === '?') out += one;
    else if (c === "'") out += '\\x27';
    else if (c === '/') out += '/';
    else if (REGEX_META.test(c)) out += `\\${c}`;
    else out += c;
  }
  return out;
}

/** A query-string condition ("key=value", "=value" for any key; wildcards in both) as a regex on the query. */
export function queryStringRegex(condition: string): string {
  const eq = condition.indexOf('=');
  const key = eq < 0 ? '' : condition.slice(0, eq);
  const value = eq < 0 ? condition : condition.slice(eq + 1);
  const k = key === '' ? '[^=&]*' : wildcardBody(key, '[^=&]*', '[^=&]');
  return `(^|&)${k}=${wildcardBody(value, '[^&]*', '[^&]')}(&|$)`;
}

export const hasWildcard = (pattern: string): boolean => /[*?]/.test(pattern);

/** A path pattern the cheapest way: exact, prefix (`/api/*`), else a regex. */
export function pathMatch(pattern: string): { kind: 'str' | 'beg' | 'reg'; value: string } {
  if (!hasWildcard(pattern)) return { kind: 'str', value: pattern };
  const star = pattern.indexOf('*');
  if (star === pattern.length - 1 && !pattern.includes('?')) return { kind: 'beg', value: pattern.slice(0, -1) };
  return { kind: 'reg', value: wildcardToRegex(pattern) };
}

/** The status codes an ELB matcher accepts; throws on a malformed one. */
export function matcherCodes(matcher: string): number[] {
  const codes = new Set<number>();
  for (const part of (matcher.trim() || '200').split(',')) {
    const m = /^\s*(\d{3})(?:\s*-\s*(\d{3}))?\s*$/.exec(part);
    if (!m) throw new Error(`health check matcher ${JSON.stringify(matcher)}: expected codes like 200, 200-299 or 200,302`);
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (lo < 100 || hi > 599 || hi < lo) throw new Error(`health check matcher ${JSON.stringify(matcher)}: codes must be 100-599, low to high`);
    for (let c = lo; c <= hi; c++) codes.add(c);
  }
  return [...codes].sort((a, b) => a - b);
}

/** `http-check expect` arguments for an ELB matcher: `status 200` for one code, else an `rstatus` regex. */
export function expectStatus(matcher: string): string {
  const codes = matcherCodes(matcher);
  if (codes.length === 1) return `status ${codes[0]}`;
  const alternatives: string[] = [];
  for (let hundred = 1; hundred <= 5; hundred++) {
    const decades: string[] = [];
    let full = 0;
    for (let d = 0; d <= 9; d++) {
      const units = codes.filter((c) => Math.floor(c / 10) === hundred * 10 + d).map((c) => c % 10);
      if (units.length === 0) continue;
      if (units.length === 10) {
        full++;
        decades.push(`${d}[0-9]`);
      } else decades.push(units.length === 1 ? `${d}${units[0]}` : `${d}[${units.join('')}]`);
    }
    if (decades.length === 0) continue;
    alternatives.push(full === 10 ? `${hundred}[0-9][0-9]` : decades.map((x) => `${hundred}${x}`).join('|'));
  }
  return `rstatus '^(${alternatives.join('|')})$'`;
}
