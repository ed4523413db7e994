/**
 * PEP 508 environment markers, simplified and printed the way uv does.
 *
 * The uv.lock export (uv-export.ts) ANDs and ORs the markers found along dependency paths and has
 * to write the result exactly as `uv export` would. This folder is therefore a port of uv's
 * marker algebra rather than a general PEP 508 library: its canonical form (decision-diagram.ts),
 * its known-impossible platform combinations, its leniency towards comparisons that mean nothing
 * (parser.ts), and its printing (printer.ts).
 */
import { DIAGRAMS, FALSE_ID, TRUE_ID, type NodeId } from './decision-diagram.js';
import { parseMarkerExpression } from './parser.js';
import { printMarker } from './printer.js';

/** An environment marker (PEP 508), in canonical form. */
export class Marker {
  static readonly TRUE = new Marker(TRUE_ID);
  static readonly FALSE = new Marker(FALSE_ID);

  private constructor(private readonly id: NodeId) {}

  /** Parses a PEP 508 marker expression; throws UvLockError on a syntax error. */
  static parse(text: string): Marker {
    return new Marker(parseMarkerExpression(text));
  }

  and(other: Marker): Marker {
    return new Marker(DIAGRAMS.and(this.id, other.id));
  }

  or(other: Marker): Marker {
    return new Marker(DIAGRAMS.or(this.id, other.id));
  }

  negate(): Marker {
    return new Marker(DIAGRAMS.not(this.id));
  }

  isTrue(): boolean {
    return this.id === TRUE_ID;
  }

  isFalse(): boolean {
    return this.id === FALSE_ID;
  }

  /** Same set of environments. */
  equals(other: Marker): boolean {
    return this.id === other.id;
  }

  /** This marker with `extra == name` decided for the names `decide` knows. */
  assumeExtras(decide: (name: string) => boolean | undefined): Marker {
    return new Marker(DIAGRAMS.restrict(this.id, (v) => (v.kind === 'extra' ? decide(v.name) : undefined)));
  }

  /** The marker as uv prints it, or null when it always holds. */
  contents(): string | null {
    if (this.id === TRUE_ID) return null;
    if (this.id === FALSE_ID) return "python_version < '0'";
    return printMarker(this.id);
  }

  toString(): string {
    return this.contents() ?? 'true';
  }
}
