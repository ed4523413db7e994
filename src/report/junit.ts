/**
 * JUnit XML for `dify plugin test --junit`: the test runner's own suite (pytest's `--junitxml`,
 * or the unittest driver's results) and the suite of `tests/*.invoke.yaml` cases, in one
 * `<testsuites>` document, in the layout CI systems read (the one pytest writes).
 */

export interface JunitCase {
  /** The file or module: `tests.greet.invoke.yaml`, `tests.test_greet.GreetTest`. */
  classname: string;
  name: string;
  seconds?: number;
  outcome: 'passed' | 'failed' | 'error' | 'skipped';
  /** One line: the failure's message attribute. */
  message?: string;
  /** The whole story: the failure element's text. */
  details?: string;
}

/** One `<testsuite>` element. */
export function junitSuite(name: string, cases: JunitCase[]): string {
  const count = (o: JunitCase['outcome']) => cases.filter((c) => c.outcome === o).length;
  const seconds = cases.reduce((sum, c) => sum + (c.seconds ?? 0), 0);
  const lines = [
    `<testsuite name="${attr(name)}" tests="${cases.length}" failures="${count('failed')}" errors="${count('error')}" skipped="${count('skipped')}" time="${seconds.toFixed(3)}">`,
  ];
  for (const c of cases) {
    const head = `<testcase classname="${attr(c.classname)}" name="${attr(c.name)}" time="${(c.seconds ?? 0).toFixed(3)}"`;
    if (c.outcome === 'passed') {
      lines.push(`${head} />`);
      continue;
    }
    const element = c.outcome === 'failed' ? 'failure' : c.outcome;
    const message = c.message === undefined ? '' : ` message="${attr(c.message)}"`;
    lines.push(`${head}><${element}${message}>${text(c.details ?? '')}</${element}></testcase>`);
  }
  lines.push('</testsuite>');
  return lines.join('\n');
}

/** The document around the suites. */
export function junitDocument(suites: string[]): string {
  return `<?xml version="1.0" encoding="utf-8"?>\n<testsuites>\n${suites.join('\n')}\n</testsuites>\n`;
}

/**
 * The `<testsuite>` elements of a report pytest wrote: pytest 5.1 and later wrap them in
 * `<testsuites>`, earlier versions write one bare `<testsuite>`. Empty when the text holds neither.
 */
export function suitesOf(report: string): string {
  const body = report.replace(/^\s*<\?xml[^>]*\?>\s*/, '');
  const wrapped = /^<testsuites(?:\s[^>]*)?>([\s\S]*)<\/testsuites>\s*$/.exec(body);
  if (wrapped) return wrapped[1]!.trim();
  return /^<testsuite[\s>][\s\S]*<\/testsuite>\s*$/.test(body) ? body.trim() : '';
}

/**
 * Characters XML 1.0 cannot carry at all (controls other than tab and line breaks, lone
 * surrogates, U+FFFE/U+FFFF) are replaced: a plugin's output is not allowed to make the report unreadable.
 */
function legal(s: string): string {
  return s.replace(
    /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g,
    '\ufffd',
  );
}

function text(s: string): string {
  return legal(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function attr(s: string): string {
  return text(s).replace(/"/g, '&quot;').replace(/\n/g, '&#10;').replace(/\r/g, '&#13;').replace(/\t/g, '&#9;');
}

/**
 * The counts of a report's `<testsuite>` elements (the tests, failures, errors and skipped
 * attributes pytest writes); undefined when it has none.
 */
export function junitCounts(
  report: string,
): { passed: number; failed: number; errors: number; skipped: number } | undefined {
  const suites = [...report.matchAll(/<testsuite\s([^>]*)>/g)].map((m) => m[1]!);
  if (!suites.length) return undefined;
  const sum = (name: string) =>
    suites.reduce((n, attrs) => n + Number(new RegExp(`\\b${name}="(\\d+)"`).exec(attrs)?.[1] ?? 0), 0);
  const failed = sum('failures');
  const errors = sum('errors');
  const skipped = sum('skipped');
  return { passed: Math.max(0, sum('tests') - failed - errors - skipped), failed, errors, skipped };
}
