#!/usr/bin/env python3
"""Compare a candidate registration JSONL with a golden one, semantically.

Usage:
    compare.py CANDIDATE GOLDEN [CANDIDATE GOLDEN ...] [--key KEY | --ignore-key]
               [--max-diffs N] [--lenient-assets] [--exact]

CANDIDATE is what `dify plugin run --dry-run <plugin_dir>` printed ("-" =
stdin); GOLDEN is the reference: what the Python SDK sends for that plugin, e.g.
test/fixtures/registration/<name>.jsonl (key 00000000-0000-0000-0000-000000000000).
Several pairs are compared one after the other, each reported as one alone
would be, with the same options (one interpreter start for a whole test run).
Exit status: 0 equal, 1 different (a short diff of the first mismatches is
printed), 2 usage error / unreadable golden; with several pairs, the worst.

What is compared:
  * the sequence of message `type`s (same types, same order, same counts);
  * every message pairwise (declarations by type; asset_chunk messages by
    file name and chunk index within that file), by deep equality after the
    normalization below;
  * the order of asset chunks (file order and chunk order).

Normalization - only differences the Go daemon cannot see once it has
decoded the line (`parser.UnmarshalJsonBytes` into Go structs):
  N1 framing: lines are split on "\\n"; blank lines are skipped and surrounding
     whitespace (incl. "\\r") is ignored - the daemon skips empty lines and
     JSON allows whitespace, so "\\n" vs "\\n\\n" separators are equivalent;
  N2 each line is parsed as JSON: escaping ("\\u00e9" vs "é", "\\/"), spacing
     and object key order do not matter;
  N3 inside declaration objects a key whose value is null is the same as a
     missing key (Go leaves the zero value in both cases).  NOT applied inside
     free-form JSON values - the subtrees under `input_schema`,
     `output_schema`, `model_properties` and `default` - because those land in
     Go maps / `any`, where a key with a null value is visible;
  N4 numbers are compared by value where the golden has a float: golden 1.0
     == candidate 1 (Go decodes both into the same float64; JavaScript cannot
     print 1.0 at all).  One-way only: golden 2 vs candidate 2.0 is a
     difference (Go rejects 2.0 for an int field).  Booleans are never numbers
     and strings never equal numbers ("1" != 1).

Deliberately NOT normalized (all are visible to the daemon or to Dify):
  [] vs null vs missing, "" / false / 0 vs missing, extra keys with non-null
  values (e.g. `tags` in the manifest, which the SDK drops), missing keys with
  values (e.g. an I18n locale the SDK fills from en_US), key names
  (`credentials_for_provider` vs `credentials_schema`), list order, string
  case/whitespace, unexpanded parameter-rule templates, asset bytes, chunking.

Options:
  --key KEY        the handshake key the candidate was run with (replaces the
                   golden's key before comparing)
  --ignore-key     accept any string as the handshake key (e.g. a masked key:
                   `dify plugin run --dry-run` masks it unless `--show-key`)
  --lenient-assets compare assets as whole files (file name -> concatenated
                   decoded bytes) instead of chunk by chunk in order; the
                   daemon buffers chunks per file name, so file order and
                   chunk boundaries are invisible to it.  Off by default: the
                   CLI sends 8192-byte chunks and files sorted by name.
  --exact          additionally require every line to be byte-identical to
                   the golden (the SDK's exact model_dump_json text)
  --max-diffs N    how many differences to print (default 12)
"""

from __future__ import annotations

import argparse
import base64
import collections
import json
import sys
from collections.abc import Iterator
from typing import Any

FREEFORM_KEYS = frozenset({"input_schema", "output_schema", "model_properties", "default"})
MISSING = object()
MAX_COLLECT = 5000


class Diff:
    def __init__(self, where: str, path: str, message: str) -> None:
        self.where, self.path, self.message = where, path, message

    def __str__(self) -> str:
        loc = f"{self.where} {self.path}".rstrip()
        return f"{loc}: {self.message}"


def show(value: Any, limit: int = 110) -> str:
    if value is MISSING:
        return "<missing>"
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def ident(item: Any) -> Any:
    """An identifying key for list elements (for readable list diffs)."""
    if not isinstance(item, dict):
        return None
    for key in ("name", "variable", "model", "provider", "path", "value", "filename"):
        if isinstance(item.get(key), str):
            return f"{key}={item[key]}"
    identity = item.get("identity")
    if isinstance(identity, dict) and isinstance(identity.get("name"), str):
        return f"identity.name={identity['name']}"
    return None


def deep_diff(golden: Any, cand: Any, path: str, freeform: bool) -> Iterator[tuple[str, str]]:
    if is_number(golden) and is_number(cand):
        if golden != cand:
            yield path, f"golden {show(golden)}, candidate {show(cand)}"
        elif isinstance(golden, int) and isinstance(cand, float):
            # N4 is one-way: Go rejects 2.0 for an int field, so int -> float is not forgiven
            yield path, f"golden integer {show(golden)}, candidate float {show(cand)}"
        return
    if type(golden) is not type(cand):
        yield path, f"golden {show(golden)}, candidate {show(cand)}"
        return
    if isinstance(golden, dict):
        missing, unexpected, nested = [], [], []
        for key in list(golden) + [k for k in cand if k not in golden]:
            g, c = golden.get(key, MISSING), cand.get(key, MISSING)
            if not freeform and g in (None, MISSING) and c in (None, MISSING):
                continue  # N3
            if c is MISSING:
                missing.append((key, g))
            elif g is MISSING:
                unexpected.append((key, c))
            else:
                nested.append((key, g, c))
        prefix = f"{path}." if path else ""
        if len(missing) > 3:  # e.g. an unexpanded template: one line, not ten
            yield path, f"{len(missing)} keys missing in candidate: {', '.join(k for k, _ in missing)}"
        else:
            for key, g in missing:
                yield prefix + key, f"missing in candidate (golden {show(g)})"
        if len(unexpected) > 3:
            yield path, f"{len(unexpected)} unexpected keys in candidate: {', '.join(k for k, _ in unexpected)}"
        else:
            for key, c in unexpected:
                yield prefix + key, f"unexpected key in candidate (value {show(c)})"
        for key, g, c in nested:
            yield from deep_diff(g, c, prefix + key, freeform or key in FREEFORM_KEYS)
        return
    if isinstance(golden, list):
        gids, cids = [ident(x) for x in golden], [ident(x) for x in cand]
        usable = (
            None not in gids and None not in cids and len(set(gids)) == len(gids) and len(set(cids)) == len(cids)
        )
        if usable and gids != cids:
            missing = [i for i in gids if i not in cids]
            extra = [i for i in cids if i not in gids]
            parts = []
            if missing:
                parts.append(f"missing {show(missing)}")
            if extra:
                parts.append(f"extra {show(extra)}")
            if not parts:
                parts.append(f"order differs: golden {show(gids)}, candidate {show(cids)}")
            yield path, f"list elements differ ({len(golden)} golden, {len(cand)} candidate): " + "; ".join(parts)
            by_id = dict(zip(cids, cand, strict=True))
            for i, (gid, g) in enumerate(zip(gids, golden, strict=True)):
                if gid in by_id:
                    yield from deep_diff(g, by_id[gid], f"{path}[{i}]", freeform)
            return
        if len(golden) != len(cand):
            yield path, f"list length golden {len(golden)}, candidate {len(cand)}"
        for i, (g, c) in enumerate(zip(golden, cand, strict=False)):
            yield from deep_diff(g, c, f"{path}[{i}]", freeform)
        return
    if golden != cand:
        yield path, f"golden {show(golden)}, candidate {show(cand)}"


# --------------------------------------------------------------------------


class Stream:
    def __init__(self, label: str, raw: bytes) -> None:
        self.label = label
        self.lines: list[bytes] = []
        self.messages: list[dict] = []
        self.errors: list[str] = []
        for n, line in enumerate(raw.split(b"\n"), 1):
            stripped = line.strip()
            if not stripped:
                continue  # N1
            try:
                obj = json.loads(stripped)
            except ValueError as e:
                self.errors.append(f"line {n}: not JSON ({e}): {show(stripped.decode('utf-8', 'replace'))}")
                continue
            if not isinstance(obj, dict) or not isinstance(obj.get("type"), str):
                self.errors.append(f"line {n}: not a {{type, data}} message: {show(obj)}")
                continue
            self.lines.append(stripped)
            self.messages.append(obj)

    def types(self) -> list[str]:
        return [m["type"] for m in self.messages]


def run_length(types: list[str]) -> str:
    out: list[str] = []
    for t in types:
        if out and out[-1].split(" x")[0] == t:
            name, _, count = out[-1].partition(" x")
            out[-1] = f"{name} x{int(count or 1) + 1}"
        else:
            out.append(t)
    return "[" + ", ".join(out) + "]"


def asset_key(msg: dict, counters: dict) -> tuple[str, int]:
    data = msg.get("data")
    name = data.get("filename") if isinstance(data, dict) else None
    name = name if isinstance(name, str) else "<no filename>"
    counters[name] += 1
    return name, counters[name] - 1


def compare(golden: Stream, cand: Stream, lenient_assets: bool, exact: bool) -> tuple[list[Diff], list[str]]:
    diffs: list[Diff] = []
    notes: list[str] = []

    def add(where: str, path: str, message: str) -> None:
        if len(diffs) < MAX_COLLECT:
            diffs.append(Diff(where, path, message))

    for err in cand.errors:
        add("candidate", "", err)

    gtypes, ctypes = golden.types(), cand.types()
    if lenient_assets:
        collapse = lambda ts: [t for i, t in enumerate(ts) if t != "asset_chunk" or i == 0 or ts[i - 1] != "asset_chunk"]  # noqa: E731
        gseq, cseq = collapse(gtypes), collapse(ctypes)
    else:
        gseq, cseq = gtypes, ctypes
    if gseq != cseq:
        first = next((i for i, (g, c) in enumerate(zip(gseq, cseq, strict=False)) if g != c), min(len(gseq), len(cseq)))
        g_at = gseq[first] if first < len(gseq) else "<end of stream>"
        c_at = cseq[first] if first < len(cseq) else "<end of stream>"
        add(
            "message types",
            "",
            f"differ; first at #{first + 1}: golden {g_at}, candidate {c_at}\n"
            f"      golden    {run_length(gtypes)}\n      candidate {run_length(ctypes)}",
        )

    # pair non-asset messages by (type, occurrence)
    def keyed(stream: Stream) -> dict:
        out: dict = {}
        seen: collections.Counter = collections.Counter()
        assets: collections.Counter = collections.Counter()
        for idx, msg in enumerate(stream.messages):
            if msg["type"] == "asset_chunk":
                key = ("asset_chunk", *asset_key(msg, assets))
            else:
                key = (msg["type"], seen[msg["type"]])
                seen[msg["type"]] += 1
            out[key] = (idx, msg)
        return out

    gk, ck = keyed(golden), keyed(cand)

    for key, (gi, gmsg) in gk.items():
        if key[0] == "asset_chunk" and lenient_assets:
            continue
        if key not in ck:
            continue  # reported by the type / asset-order checks
        ci, cmsg = ck[key]
        where = f"#{ci + 1} {key[0]}" + (f" {key[1]}[{key[2]}]" if key[0] == "asset_chunk" else "")
        for path, message in deep_diff(gmsg, cmsg, "", False):
            if key[0] == "asset_chunk" and path == "data.data":
                gd, cd = gmsg["data"]["data"], cmsg["data"].get("data")
                message = f"chunk content differs (golden {len(gd)} base64 chars, candidate {len(cd) if isinstance(cd, str) else show(cd)})"
            add(where, path, message)
        if exact and golden.lines[gi] != cand.lines[ci]:
            add(where, "(text)", "not byte-identical to the golden line (--exact)")

    # assets
    def files(stream: Stream) -> dict[str, bytes]:
        out: dict[str, bytearray] = collections.defaultdict(bytearray)
        for msg in stream.messages:
            if msg["type"] == "asset_chunk" and isinstance(msg.get("data"), dict):
                name = msg["data"].get("filename")
                try:
                    out[str(name)] += base64.b64decode(msg["data"].get("data", ""), validate=True)
                except (ValueError, TypeError) as e:
                    add(f"{stream.label} asset_chunk {name}", "data", f"invalid base64: {e}")
        return {k: bytes(v) for k, v in out.items()}

    gfiles, cfiles = files(golden), files(cand)
    for name in sorted(set(gfiles) | set(cfiles)):
        if name not in cfiles:
            add("assets", name, f"file missing in candidate ({len(gfiles[name])} bytes)")
        elif name not in gfiles:
            add("assets", name, f"unexpected file in candidate ({len(cfiles[name])} bytes)")
        elif gfiles[name] != cfiles[name]:
            g, c = gfiles[name], cfiles[name]
            at = next((i for i, (x, y) in enumerate(zip(g, c, strict=False)) if x != y), min(len(g), len(c)))
            add("assets", name, f"bytes differ: golden {len(g)} bytes, candidate {len(c)} bytes, first difference at byte {at}")
    if not lenient_assets:
        gorder = [k[1:] for k in gk if k[0] == "asset_chunk"]
        corder = [k[1:] for k in ck if k[0] == "asset_chunk"]
        if gorder != corder and set(gorder) == set(corder):
            gnames = list(dict.fromkeys(n for n, _ in gorder))
            cnames = list(dict.fromkeys(n for n, _ in corder))
            add("assets", "", f"chunk order differs: golden files {show(gnames)}, candidate files {show(cnames)}")
        elif gorder != corder and set(gfiles) == set(cfiles):
            add("assets", "", "chunking differs (same files, different chunk count per file)")
    if not golden.messages:
        notes.append("golden has no messages")
    return diffs, notes


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Compare candidate registration JSONL files with golden ones.")
    ap.add_argument("files", nargs="+", metavar="CANDIDATE GOLDEN", help="one or more pairs")
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--key", help="handshake key the candidate was produced with")
    g.add_argument("--ignore-key", action="store_true")
    ap.add_argument("--lenient-assets", action="store_true")
    ap.add_argument("--exact", action="store_true")
    ap.add_argument("--max-diffs", type=int, default=12)
    args = ap.parse_args(argv)
    if len(args.files) % 2:
        ap.error("files come in pairs: CANDIDATE GOLDEN [CANDIDATE GOLDEN ...]")
    pairs = zip(args.files[::2], args.files[1::2], strict=True)
    return max(compare_pair(candidate, golden, args) for candidate, golden in pairs)


def compare_pair(candidate: str, golden_path: str, args: argparse.Namespace) -> int:
    try:
        graw = open(golden_path, "rb").read()  # noqa: SIM115
        craw = sys.stdin.buffer.read() if candidate == "-" else open(candidate, "rb").read()  # noqa: SIM115
    except OSError as e:
        print(f"compare: {e}", file=sys.stderr)
        return 2
    golden, cand = Stream("golden", graw), Stream("candidate", craw)
    if golden.errors or not golden.messages:
        print(f"compare: golden {golden_path} is not a valid registration JSONL: {golden.errors[:3]}", file=sys.stderr)
        return 2

    golden_key = next(
        (m["data"].get("key") for m in golden.messages if m["type"] == "handshake" and isinstance(m.get("data"), dict)),
        None,
    )
    for stream in (golden, cand):
        for i, msg in enumerate(stream.messages):
            if msg["type"] != "handshake" or not isinstance(msg.get("data"), dict):
                continue
            if args.ignore_key and stream is cand and isinstance(msg["data"].get("key"), str):
                msg["data"]["key"] = golden_key  # any string will do (e.g. a masked key)
            elif args.key is not None and stream is golden:
                msg["data"]["key"] = args.key
            else:
                continue
            stream.lines[i] = json.dumps(msg, ensure_ascii=False, separators=(",", ":")).encode()

    diffs, _notes = compare(golden, cand, args.lenient_assets, args.exact)
    if not diffs:
        print(f"OK: {len(cand.messages)} messages equal ({candidate} vs {golden_path})")
        return 0
    more = "+" if len(diffs) >= MAX_COLLECT else ""
    print(f"MISMATCH: {len(diffs)}{more} difference(s) ({candidate} vs {golden_path})")
    for d in diffs[: args.max_diffs]:
        print(f"  - {d}")
    if len(diffs) > args.max_diffs:
        print(f"  … {len(diffs) - args.max_diffs}{more} more (use --max-diffs)")
    return 1


if __name__ == "__main__":
    sys.exit(main())
