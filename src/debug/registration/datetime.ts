/**
 * The manifest's `created_at` as the SDK sends it. PyYAML reads an unquoted timestamp into a
 * datetime, pydantic parses a quoted one; either way pydantic dumps the datetime in ISO 8601:
 * microseconds at most (extra digits cut, not rounded), no fraction when it is zero, `Z` for a
 * zero offset, other offsets as `+HH:MM`, nothing for a naive time, and midnight for a date.
 *
 * The YAML here keeps timestamps as text and cannot tell whether they were quoted, so this
 * accepts what either reader accepts (PyYAML: one-digit month, day and hour, `+8`; pydantic:
 * no seconds, `+0800`, lower-case `t`/`z`). Text that is no date is sent unchanged.
 */
const TIMESTAMP =
  /^(\d{4})-(\d{1,2})-(\d{1,2})(?:(?:[Tt]|[ \t]+)(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d*))?)?(?:[ \t]*([Zz]|([+-])(\d{1,2})(?::?(\d{2}))?))?)?$/;

/** Above this a number is taken as milliseconds since the epoch, as pydantic does. */
const MAX_SECONDS = 2e10;

export function pythonDatetime(value: unknown): unknown {
  if (typeof value === 'number' && Number.isFinite(value)) return fromEpoch(value);
  if (typeof value !== 'string') return value;
  if (/^\s*[+-]?\d+(\.\d*)?\s*$/.test(value)) return fromEpoch(Number(value));
  const m = TIMESTAMP.exec(value.trim());
  if (!m) return value;
  const [year, month, day, hour, minute, second] = [m[1], m[2], m[3], m[4], m[5], m[6]].map((s) => Number(s ?? 0)) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (!validDate(year, month, day) || hour > 23 || minute > 59 || second > 59) return value;
  const micros = (m[7] ?? '').slice(0, 6).padEnd(6, '0');
  let zone = '';
  if (m[8]) {
    const offset = m[9] ? Number(m[10]) * 60 + Number(m[11] ?? 0) : 0;
    if (offset >= 24 * 60) return value;
    zone = offset === 0 ? 'Z' : `${m[9]}${pad(Math.floor(offset / 60))}:${pad(offset % 60)}`;
  }
  return `${year}-${pad(month)}-${pad(day)}T${pad(hour)}:${pad(minute)}:${pad(second)}${fraction(micros)}${zone}`;
}

/** A Unix timestamp (seconds, or milliseconds when large), in UTC. */
function fromEpoch(n: number): string {
  const total = Math.round(n * (Math.abs(n) > MAX_SECONDS ? 1e3 : 1e6)); // microseconds
  const seconds = Math.floor(total / 1e6);
  const micros = String(total - seconds * 1e6).padStart(6, '0');
  const iso = new Date(seconds * 1000).toISOString(); // yyyy-mm-ddThh:mm:ss.000Z
  return `${iso.slice(0, 19)}${fraction(micros)}Z`;
}

function fraction(micros: string): string {
  return /^0*$/.test(micros) ? '' : `.${micros}`;
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function validDate(year: number, month: number, day: number): boolean {
  if (year < 1 || month < 1 || month > 12 || day < 1) return false;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  return day <= DAYS_IN_MONTH[month - 1]! + (month === 2 && leap ? 1 : 0);
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}
