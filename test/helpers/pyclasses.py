"""Prints, as JSON, the classes each Python file below a directory declares, with the names of
their direct bases, and whether the file compiles. Used by the init tests: the SDK loads each
source by finding exactly one subclass of a required base class in it."""
import ast
import json
import pathlib
import sys

root = pathlib.Path(sys.argv[1])
report = {}
for path in sorted(root.rglob("*.py")):
    rel = path.relative_to(root).as_posix()
    source = path.read_text(encoding="utf-8")
    try:
        compile(source, str(path), "exec")  # what py_compile checks, without writing a .pyc
        tree = ast.parse(source)
    except SyntaxError as err:
        report[rel] = {"error": str(err)}
        continue
    classes = []
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            bases = [b.attr if isinstance(b, ast.Attribute) else getattr(b, "id", "?") for b in node.bases]
            classes.append({"name": node.name, "bases": bases})
    imported = [a.asname or a.name for n in tree.body if isinstance(n, ast.ImportFrom) for a in n.names]
    report[rel] = {"classes": classes, "imports": imported}
print(json.dumps(report))
