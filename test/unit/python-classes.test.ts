import { describe, expect, it } from 'vitest';
import { PythonClasses, type SdkBase } from '../../src/check/python-classes.js';
import { logicalLines, moduleBindings } from '../../src/check/python-module.js';
import type { PluginSource } from '../../src/project/source.js';

/** A plugin held in memory: the analysis reads files only through PluginSource. */
function memorySource(files: Record<string, string>): PluginSource {
  return {
    kind: 'directory',
    location: 'memory',
    listFiles: async () =>
      Object.keys(files)
        .sort()
        .map((p) => ({ path: p, size: Buffer.byteLength(files[p]!) })),
    readFile: async (p) => {
      if (!(p in files)) throw new Error(`no ${p}`);
      return Buffer.from(files[p]!);
    },
    statPath: async (p) => (p in files ? 'file' : null),
  };
}

async function subclasses(files: Record<string, string>, file: string, base: SdkBase) {
  const source = memorySource(files);
  return new PythonClasses(source, await source.listFiles()).subclasses(file, base);
}

const TOOL = 'from dify_plugin import Tool\n';

interface Case {
  name: string;
  files: Record<string, string>;
  base?: SdkBase;
  /** The subclasses the SDK's class loader would find in tools/a.py, in source order. */
  found: string[];
  /** Whether nothing else can be one. */
  complete: boolean;
}

/**
 * Each case is what dify-plugin-sdks src/dify_plugin/core/utils/class_loader.py
 * (get_subclasses_from_module) finds: every module attribute that is a strict subclass of the
 * base, wherever it was defined.
 */
const cases: Case[] = [
  {
    name: 'one subclass',
    files: { 'tools/a.py': `${TOOL}\nclass A(Tool):\n    pass\n` },
    found: ['A'],
    complete: true,
  },
  {
    name: 'two subclasses',
    files: { 'tools/a.py': `${TOOL}class A(Tool):\n    pass\nclass B(Tool):\n    pass\n` },
    found: ['A', 'B'],
    complete: true,
  },
  {
    name: 'an abstract base beside the class',
    files: {
      'tools/a.py': `from abc import ABC\n${TOOL}class Base(Tool, ABC):\n    pass\n\nclass A(Base):\n    pass\n`,
    },
    found: ['Base', 'A'],
    complete: true,
  },
  {
    name: 'a subclass imported by name from the plugin',
    files: {
      'tools/base.py': `${TOOL}class BaseTool(Tool):\n    pass\n`,
      'tools/a.py': 'from tools.base import BaseTool\n\nclass A(BaseTool):\n    pass\n',
    },
    found: ['BaseTool', 'A'],
    complete: true,
  },
  {
    name: 'a relative import',
    files: {
      'tools/base.py': `${TOOL}class BaseTool(Tool):\n    pass\n`,
      'tools/a.py': 'from .base import BaseTool\n\nclass A(BaseTool):\n    pass\n',
    },
    found: ['BaseTool', 'A'],
    complete: true,
  },
  {
    name: 'the module imported instead of the class',
    files: {
      'tools/base.py': `${TOOL}class BaseTool(Tool):\n    pass\n`,
      'tools/a.py': 'import tools.base as base\n\nclass A(base.BaseTool):\n    pass\n',
    },
    found: ['A'],
    complete: true,
  },
  {
    name: 'the base under another name or through its module',
    files: {
      'tools/a.py':
        'import dify_plugin\nfrom dify_plugin import Tool as T\nfrom dify_plugin.interfaces import tool\n' +
        'class A(T):\n    pass\nclass B(dify_plugin.Tool):\n    pass\nclass C(tool.Tool):\n    pass\n',
    },
    found: ['A', 'B', 'C'],
    complete: true,
  },
  {
    name: 'only a class of another base',
    files: { 'tools/a.py': 'from dify_plugin import ToolProvider\n\nclass A(ToolProvider):\n    pass\n' },
    found: [],
    complete: true,
  },
  {
    name: 'no class at all',
    files: { 'tools/a.py': 'import os\n\ndef helper():\n    return os.getcwd()\n' },
    found: [],
    complete: true,
  },
  {
    name: 'a subclass the SDK itself exports (AgentProvider extends ToolProvider)',
    base: 'ToolProvider',
    files: {
      'tools/a.py': 'from dify_plugin.interfaces.agent import AgentProvider\n\nclass P(AgentProvider):\n    pass\n',
    },
    found: ['AgentProvider', 'P'],
    complete: true,
  },
  {
    name: 'a class named like the base from another package',
    base: 'Event',
    files: { 'tools/a.py': 'from threading import Event\n\nclass E(Event):\n    pass\n' },
    found: [],
    complete: true,
  },
  {
    name: 'classes in a string, a function and a class body',
    files: {
      'tools/a.py':
        `${TOOL}DOC = """\nclass B(Tool):\n    pass\n"""\n\ndef f():\n    class C(Tool):\n        pass\n    return C\n\n` +
        'class A(Tool):\n    class Inner(Tool):\n        pass\n',
    },
    found: ['A'],
    complete: true,
  },
  {
    name: 'a class defined only if a condition holds',
    files: { 'tools/a.py': `${TOOL}import os\nif os.getenv("X"):\n    class A(Tool):\n        pass\n` },
    found: [],
    complete: false,
  },
  {
    name: 'a base built by a function',
    files: {
      'tools/helpers.py': `${TOOL}def make():\n    return type("Made", (Tool,), {})\n\nBase = make()\n`,
      'tools/a.py': 'from tools.helpers import Base\n\nclass A(Base):\n    pass\n',
    },
    found: [],
    complete: false,
  },
  {
    name: 'optional imports, module-level values, a decorator, keyword arguments',
    files: {
      'tools/a.py':
        'import logging, os\nfrom pathlib import Path\nfrom typing import Generic, TypeVar, final\n' +
        'try:\n    import requests\nexcept ImportError as e:\n    requests = None\n' +
        `${TOOL}from abc import ABCMeta\n\nlogger = logging.getLogger(__name__)\nHERE = Path(__file__).parent\n` +
        'MODE = os.getenv("MODE") or "fast"\nMESSAGE = (\n    "a"\n    "b"\n)\nLIMITS = {"a": 1}\nT = TypeVar("T")\n\n' +
        '@final\nclass A(\n    Tool,  # the SDK base\n    Generic[T],\n    metaclass=ABCMeta,\n):\n    pass\n',
    },
    found: ['A'],
    complete: true,
  },
  {
    name: 'a star import of a plugin module',
    files: {
      'tools/common.py': `${TOOL}class Shared(Tool):\n    pass\n\ndef _private():\n    pass\n`,
      'tools/a.py': 'from tools.common import *\n\nclass A(Shared):\n    pass\n',
    },
    found: ['Shared', 'A'],
    complete: true,
  },
  {
    name: 'a second name for the class',
    files: { 'tools/a.py': `${TOOL}class A(Tool):\n    pass\n\nB = A\n` },
    found: ['A', 'B'],
    complete: true,
  },
  {
    name: 'a deleted class',
    files: { 'tools/a.py': `${TOOL}class Old(Tool):\n    pass\n\ndel Old\n\nclass A(Tool): pass\n` },
    found: ['A'],
    complete: true,
  },
  {
    name: 'names set through globals()',
    files: { 'tools/a.py': `${TOOL}class A(Tool):\n    pass\n\nglobals()["B"] = A\n` },
    found: ['A'],
    complete: false,
  },
  {
    name: 'a value returned by a plugin function',
    files: { 'tools/a.py': `${TOOL}class A(Tool):\n    pass\n\ndef pick():\n    return A\n\nChosen = pick()\n` },
    found: ['A'],
    complete: false,
  },
  {
    name: 'a package of another project named like a plugin file (provider/hubspot.py)',
    files: {
      'provider/hubspot.py': '',
      'tools/a.py': `from hubspot import HubSpot\n${TOOL}class A(Tool):\n    pass\n`,
    },
    found: ['A'],
    complete: true,
  },
  {
    name: '... unless the plugin changes sys.path',
    files: {
      'provider/hubspot.py': '',
      'main.py': 'import sys\nsys.path.append("provider")\n',
      'tools/a.py': `from hubspot import HubSpot\n${TOOL}class A(Tool):\n    pass\n`,
    },
    found: ['A'],
    complete: false,
  },
];

describe('the classes the SDK finds in a source, read without Python', () => {
  it.each(cases)('$name', async ({ files, base, found, complete }) => {
    const result = await subclasses(files, 'tools/a.py', base ?? 'Tool');
    expect(result?.found.map((c) => c.name)).toEqual(found);
    expect(result?.complete).toBe(complete);
  });

  it('says where each class is bound and whether it was imported', async () => {
    const result = await subclasses(
      {
        'tools/base.py': `${TOOL}class BaseTool(Tool):\n    pass\n`,
        'tools/a.py': '# a comment\nfrom tools.base import BaseTool\n\n\nclass A(BaseTool):\n    pass\n',
      },
      'tools/a.py',
      'Tool',
    );
    expect(result?.found).toEqual([
      { name: 'BaseTool', line: 2, column: 24, imported: true },
      { name: 'A', line: 5, column: 1, imported: false },
    ]);
  });

  it('finds the trigger and its subscription constructor in one provider file', async () => {
    const files = {
      'tools/a.py':
        'from dify_plugin.interfaces.trigger import Trigger, TriggerSubscriptionConstructor\n\n' +
        'class T(Trigger):\n    pass\n\nclass C(TriggerSubscriptionConstructor):\n    pass\n',
    };
    expect((await subclasses(files, 'tools/a.py', 'Trigger'))?.found.map((c) => c.name)).toEqual(['T']);
    const constructors = await subclasses(files, 'tools/a.py', 'TriggerSubscriptionConstructor');
    expect(constructors?.found.map((c) => c.name)).toEqual(['C']);
  });

  it('gives up on text it cannot tokenize, and on import cycles without hanging', async () => {
    expect(await subclasses({ 'tools/a.py': `${TOOL}x = "unterminated\n` }, 'tools/a.py', 'Tool')).toBeUndefined();
    expect(await subclasses({ 'tools/a.py': `${TOOL}x = (1,\n` }, 'tools/a.py', 'Tool')).toBeUndefined();
    const cycle = await subclasses(
      {
        'tools/a.py': 'from tools.b import *\nfrom tools.b import B\n\nclass A(B):\n    pass\n',
        'tools/b.py': 'from tools.a import *\nfrom tools.a import A\n\nclass B(A):\n    pass\n',
      },
      'tools/a.py',
      'Tool',
    );
    expect(cycle?.found).toEqual([]);
    expect(cycle?.complete).toBe(false);
  });
});

describe('hostile sources', () => {
  it('reads a 200 KB line of `return 1;` statements in one pass (each return once looked at the rest of the line)', () => {
    const text = `def f():\n    ${'return 1;'.repeat(22_000)}\n\nclass A:\n    pass\n`;
    const bindings = moduleBindings(text)!;
    expect(bindings.flatMap((b) => ('name' in b ? [b.name] : []))).toEqual(expect.arrayContaining(['f', 'A']));
  });
});

describe('logical lines', () => {
  it('joins brackets and backslash continuations, skips comments and strings, and measures tabs as Python does', () => {
    const lines = logicalLines('x = (1,\n  2)  # c\ny = 1 + \\\n  2\nif x:\n\tz = """a\nb"""\n')!;
    expect(lines.map((l) => [l.indent, l.tokens.map((t) => t.text || t.kind).join(' ')])).toEqual([
      [0, 'x = ( 1 , 2 )'],
      [0, 'y = 1 + 2'],
      [0, 'if x :'],
      [8, 'z = string'],
    ]);
  });
});
