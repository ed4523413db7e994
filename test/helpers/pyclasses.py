"""Prints, as JSON keyed by each directory given, what Python makes of the project below it:
for every Python file, whether it compiles and which classes it declares (with the names of
their direct bases) and names it imports; and the [project] table of its pyproject.toml, if it
has one. Used by the init tests, which check all their generated projects in one run: the SDK
loads each source by finding exactly one subclass of a required base class in it."""
import ast
import json
import pathlib
import sys
import tomllib


def python_files(root):
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
    return report


def project_table(root):
    pyproject = root / "pyproject.toml"
    if not pyproject.is_file():
        return None
    with pyproject.open("rb") as f:
        return tomllib.load(f)["project"]


print(json.dumps({arg: {"python": python_files(pathlib.Path(arg)), "project": project_table(pathlib.Path(arg))} for arg in sys.argv[1:]}))
