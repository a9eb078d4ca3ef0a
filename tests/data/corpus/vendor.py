#!/usr/bin/env python3
"""Copy a licence-clean subset of the shared development corpus into tests/data/corpus.

Run from the repository root: python3 tests/data/corpus/vendor.py ../shared/corpus
Only MIT / Apache-2.0 / CC cases are taken (never the research-only loghub
syslog cases). Per kind: up to 8 cases of at most 64 KiB, spread over sizes,
chosen deterministically (sorted by id). Licences and attributions are copied
alongside.
"""
import json
import os
import shutil
import sys

src = sys.argv[1] if len(sys.argv) > 1 else "../shared/corpus"
dst = os.path.join(os.path.dirname(os.path.abspath(__file__)))
index = json.load(open(os.path.join(src, "index.json")))
cases = index["cases"] if isinstance(index, dict) else index
by_kind = {}
for c in cases:
    path = os.path.join(src, c["path"])
    case = json.load(open(path))
    lic = (case.get("license") or "").lower()
    if case["kind"] == "syslog" or "research" in lic or not lic:
        continue
    if len(case["content"].encode()) > 64 * 1024:
        continue
    by_kind.setdefault(case["kind"], []).append((len(case["content"]), case["id"], c["path"]))
kept = 0
for kind, items in sorted(by_kind.items()):
    items.sort()
    n = len(items)
    picks = sorted({items[int(i * (n - 1) / 7)] for i in range(8)}) if n > 8 else items
    os.makedirs(os.path.join(dst, "cases", kind), exist_ok=True)
    for _, cid, rel in picks:
        shutil.copy(os.path.join(src, rel), os.path.join(dst, "cases", kind, os.path.basename(rel)))
        kept += 1
os.makedirs(os.path.join(dst, "licenses"), exist_ok=True)
for f in os.listdir(os.path.join(src, "licenses")):
    if "loghub" in f:
        continue
    shutil.copy(os.path.join(src, "licenses", f), os.path.join(dst, "licenses", f))
print(f"vendored {kept} cases")
