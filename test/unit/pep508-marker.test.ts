import { describe, expect, it } from 'vitest';
import { Marker } from '../../src/pack/pep508/marker.js';
import { UvLockError } from '../../src/pack/uv-export.js';

const m = (text: string): Marker => Marker.parse(text);
const show = (text: string): string | null => m(text).contents();

// ---------------------------------------------------------------------------------------------
// Marker algebra
// ---------------------------------------------------------------------------------------------

describe('marker algebra', () => {
  it('prints a marker the way uv writes it in uv.lock', () => {
    expect(show("sys_platform == 'win32'")).toBe("sys_platform == 'win32'");
    expect(show('python_full_version < "3.13"')).toBe("python_full_version < '3.13'");
    // Literals are ordered by marker kind, not as written.
    expect(
      show("sys_platform == 'win32' and platform_python_implementation == 'CPython' and implementation_name != 'PyPy'"),
    ).toBe("implementation_name != 'PyPy' and platform_python_implementation == 'CPython' and sys_platform == 'win32'");
    expect(show("sys_platform == 'win32' or python_full_version < '3.13'")).toBe(
      "python_full_version < '3.13' or sys_platform == 'win32'",
    );
    expect(m('').isTrue()).toBe(true);
    expect(Marker.TRUE.contents()).toBeNull();
    expect(Marker.FALSE.contents()).toBe("python_version < '0'");
  });

  it('lowers python_version to python_full_version', () => {
    expect(show("python_version < '3.11'")).toBe("python_full_version < '3.11'");
    expect(show("python_version <= '3.11'")).toBe("python_full_version < '3.12'");
    expect(show("python_version > '3.8'")).toBe("python_full_version >= '3.9'");
    expect(show("python_version == '3.9'")).toBe("python_full_version == '3.9.*'");
    expect(show("python_version != '3.9'")).toBe("python_full_version != '3.9.*'");
    expect(show("python_version == '3.*'")).toBe("python_full_version >= '3' and python_full_version < '4'");
    expect(show("python_version ~= '3.10'")).toBe("python_full_version >= '3.10' and python_full_version < '4'");
    expect(m("python_version == '3.9.1'").isFalse()).toBe(true);
    expect(m("python_version != '3.9.1'").isTrue()).toBe(true);
    expect(show("python_version in '3.9 3.10 3.11'")).toBe(
      "python_full_version >= '3.9' and python_full_version < '3.12'",
    );
    expect(show("python_version not in '3.9 3.11'")).toBe(
      "python_full_version < '3.9' or python_full_version == '3.10.*' or python_full_version >= '3.12'",
    );
  });

  it('normalizes spellings: reversed operands, old names, platform_system', () => {
    expect(m("'3.8' < python_version").equals(m("python_version > '3.8'"))).toBe(true);
    expect(show("'linux' == sys_platform")).toBe("sys_platform == 'linux'");
    expect(show("os.name == 'nt'")).toBe("os_name == 'nt'");
    expect(show("python_implementation == 'CPython'")).toBe("platform_python_implementation == 'CPython'");
    expect(show("platform_system == 'Windows'")).toBe("sys_platform == 'win32'");
    expect(show("platform_system == 'FreeBSD'")).toBe("platform_system == 'FreeBSD'");
    expect(show("'arm' in platform_machine")).toBe("'arm' in platform_machine");
    expect(show("platform_machine not in 'x86_64 AMD64'")).toBe("platform_machine not in 'x86_64 AMD64'");
    expect(show("extra == 'Socks_Proxy'")).toBe("extra == 'socks-proxy'");
  });

  it('ignores comparisons that mean nothing, as uv does', () => {
    expect(m("'a' == 'b'").isTrue()).toBe(true);
    expect(m("os_name ~= 'nt'").isTrue()).toBe(true);
    expect(m("python_version == 'Linux'").isTrue()).toBe(true);
    expect(show("sys_platform == 'linux' and 'a' == 'b'")).toBe("sys_platform == 'linux'");
  });

  it('AND and OR are canonical: equal environments give equal markers', () => {
    const a = m("sys_platform == 'linux'");
    const b = m("python_full_version < '3.11'");
    expect(a.and(b).equals(b.and(a))).toBe(true);
    expect(a.or(b).equals(b.or(a))).toBe(true);
    expect(a.and(b).equals(m("python_full_version < '3.11' and sys_platform == 'linux'"))).toBe(true);
    expect(a.and(Marker.TRUE).equals(a)).toBe(true);
    expect(a.or(Marker.FALSE).equals(a)).toBe(true);
    expect(a.or(a.negate()).isTrue()).toBe(true);
    expect(m("python_version < '3.17' or python_version < '3.18'").contents()).toBe("python_full_version < '3.18'");
    expect(m("python_version < '3.17' and python_version < '3.18'").contents()).toBe("python_full_version < '3.17'");
  });

  it('removes contradictions', () => {
    expect(m("sys_platform == 'win32' and sys_platform != 'win32'").isFalse()).toBe(true);
    expect(m("python_full_version < '3.10' and python_full_version >= '3.10'").isFalse()).toBe(true);
    expect(m("sys_platform == 'linux' and sys_platform == 'darwin'").isFalse()).toBe(true);
    expect(m("extra == 'a' and extra != 'a'").isFalse()).toBe(true);
    // Combinations no interpreter reports, which uv treats as impossible.
    expect(m("os_name == 'nt' and sys_platform == 'linux'").isFalse()).toBe(true);
    expect(m("os_name == 'posix' and sys_platform == 'win32'").isFalse()).toBe(true);
    expect(m("platform_system == 'FreeBSD' and sys_platform == 'darwin'").isFalse()).toBe(true);
    // A contradiction inside one alternative only removes that alternative.
    expect(show("(sys_platform == 'win32' and sys_platform == 'linux') or os_name == 'nt'")).toBe("os_name == 'nt'");
  });

  it('removes absorbed clauses and redundant literals', () => {
    expect(show("extra == 'a' or (extra == 'a' and extra == 'b')")).toBe("extra == 'a'");
    expect(show("sys_platform == 'linux' or (sys_platform == 'linux' and python_full_version < '3.10')")).toBe(
      "sys_platform == 'linux'",
    );
    // `A or (not A and B)` is `A or B`.
    expect(show("sys_platform == 'win32' or (sys_platform != 'win32' and python_full_version < '3.10')")).toBe(
      "python_full_version < '3.10' or sys_platform == 'win32'",
    );
    expect(show("(python_version <= '3.7' and os_name == 'Linux') or python_version > '3.7'")).toBe(
      "python_full_version >= '3.8' or os_name == 'Linux'",
    );
    expect(show("((extra == 'a' or extra == 'b') and extra == 'c') or extra == 'b'")).toBe(
      "extra == 'b' or (extra == 'a' and extra == 'c')",
    );
  });

  it('formats several values of one variable as uv does', () => {
    expect(show("sys_platform == 'linux' or sys_platform == 'win32'")).toBe(
      "sys_platform == 'linux' or sys_platform == 'win32'",
    );
    expect(show("sys_platform != 'linux' and sys_platform != 'win32'")).toBe(
      "sys_platform != 'linux' and sys_platform != 'win32'",
    );
    expect(show("sys_platform != 'foo' and (sys_platform == 'bar' or sys_platform == 'baz')")).toBe(
      "sys_platform == 'bar' or sys_platform == 'baz'",
    );
    expect(show("python_version != '3.8' and python_version < '3.10'")).toBe(
      "python_full_version < '3.8' or python_full_version == '3.9.*'",
    );
    expect(show("implementation_version not in '3.9 3.11'")).toBe(
      "implementation_version != '3.9' and implementation_version != '3.11'",
    );
    expect(
      show(
        "(os_name == 'nt' and sys_platform == 'win32') or (os_name != 'nt' and (sys_platform == 'win32' or sys_platform == 'win64'))",
      ),
    ).toBe("(os_name != 'nt' and sys_platform == 'win64') or sys_platform == 'win32'");
  });

  it('decides extras on request and keeps the others', () => {
    const marker = m("(extra == 'group-4-proj-cpu' and sys_platform == 'linux') or extra == 'other'");
    expect(marker.assumeExtras((name) => (name === 'group-4-proj-cpu' ? true : undefined)).contents()).toBe(
      "sys_platform == 'linux' or extra == 'other'",
    );
    expect(marker.assumeExtras(() => false).isFalse()).toBe(true);
  });

  it('rejects marker syntax errors with UvLockError', () => {
    expect(() => m("sys_platform == 'win32' and")).toThrow(UvLockError);
    expect(() => m("(sys_platform == 'win32'")).toThrow(UvLockError);
    expect(() => m("sys_platform = 'win32'")).toThrow(UvLockError);
    expect(() => m("no_such_marker == 'x'")).toThrow(UvLockError);
  });
});
