import type { Field, Site } from './fields.js';

/**
 * Numbers the SDK turns into text, printed as Python prints them. Two places do that: option
 * values (`str(value)`) and prices (`Decimal`, dumped as `str(decimal)`). JS would print `1.0` as
 * `1` and `1e-7` as `1e-7`; Python prints `1.0` and `1e-07` (and `Decimal` `1E-7`).
 */

/**
 * `str(value)` for an option value, which the SDK's `ParameterOption` applies to non-text input.
 * Lists and mappings keep their shape: imitating Python's repr of them is not worth it, and the
 * checker reports such a value anyway.
 */
export const optionValue: Field = (value, site) => {
  if (value === undefined) return null;
  if (value === null) return 'None';
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  if (typeof value === 'number') return isFloat(value, site) ? pythonFloatRepr(value) : BigInt(value).toString();
  return value;
};

/** `Decimal | None`, dumped as text: `0.000001` → "0.000001", `5.0` → "5.0", "0.80" → "0.80". */
export const decimal: Field = (value, site) => {
  if (value === undefined || value === null) return null;
  if (typeof value === 'string') return decimalText(value) ?? value;
  if (typeof value !== 'number' || !Number.isFinite(value)) return value;
  // pydantic builds a Decimal from a float through its repr, from an int exactly
  return isFloat(value, site) ? decimalText(pythonFloatRepr(value))! : BigInt(value).toString();
};

/**
 * Whether PyYAML read this number as a float: from the literal when the YAML node can be found
 * (it must be, for `1.0`), else from the value. Needs `enablePositions()` to have been awaited.
 */
function isFloat(value: number, site: Site | undefined): boolean {
  if (!Number.isInteger(value)) return true;
  const literal = site?.file.sourceText(site.path);
  if (!literal || literal.quoted) return false;
  return !/^[+-]?0[xXoO]/.test(literal.text) && /[.eE]/.test(literal.text);
}

/** Python's `repr(float)`: shortest round-trip digits, scientific below 1e-4 and from 1e16. */
export function pythonFloatRepr(n: number): string {
  if (Number.isNaN(n)) return 'nan';
  if (!Number.isFinite(n)) return n > 0 ? 'inf' : '-inf';
  if (n === 0) return Object.is(n, -0) ? '-0.0' : '0.0';
  const [mantissa = '', exponentText = '0'] = n.toExponential().split('e');
  const exponent = Number(exponentText);
  const sign = n < 0 ? '-' : '';
  const digits = mantissa.replace('-', '').replace('.', '');
  if (exponent < -4 || exponent >= 16) {
    const rest = digits.slice(1);
    const power = String(Math.abs(exponent)).padStart(2, '0');
    return `${sign}${digits[0]}${rest ? `.${rest}` : ''}e${exponent < 0 ? '-' : '+'}${power}`;
  }
  if (exponent < 0) return `${sign}0.${'0'.repeat(-exponent - 1)}${digits}`;
  const whole = digits.slice(0, exponent + 1).padEnd(exponent + 1, '0');
  return `${sign}${whole}.${digits.slice(exponent + 1) || '0'}`;
}

const DECIMAL = /^([+-]?)(?:(\d+)(?:\.(\d*))?|\.(\d+))(?:[eE]([+-]?\d+))?$/;

/**
 * `str(Decimal(text))`: the digits as written (trailing zeros kept), scientific notation with a
 * capital E when the exponent is positive or the number is below 1e-6. Undefined when `text` is
 * not a decimal number.
 */
export function decimalText(text: string): string | undefined {
  const m = DECIMAL.exec(text.trim());
  if (!m) return undefined;
  const sign = m[1] === '-' ? '-' : '';
  const fraction = m[3] ?? m[4] ?? '';
  const coefficient = `${m[2] ?? ''}${fraction}`.replace(/^0+(?=\d)/, '');
  const exponent = Number(m[5] ?? 0) - fraction.length;
  const adjusted = exponent + coefficient.length - 1;
  if (exponent <= 0 && adjusted >= -6) {
    if (exponent === 0) return sign + coefficient;
    const point = coefficient.length + exponent;
    return point > 0
      ? `${sign}${coefficient.slice(0, point)}.${coefficient.slice(point)}`
      : `${sign}0.${'0'.repeat(-point)}${coefficient}`;
  }
  const rest = coefficient.slice(1);
  return `${sign}${coefficient[0]}${rest ? `.${rest}` : ''}E${adjusted >= 0 ? '+' : ''}${adjusted}`;
}
