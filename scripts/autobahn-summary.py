#!/usr/bin/env python3
"""Print one line per Autobahn case, `ID BEHAVIOR CLOSE-BEHAVIOR`, sorted by id.

usage: autobahn-summary.py REPORT_DIR AGENT

The output is checked in (crates/ws-frame/autobahn/*.txt) and CI diffs a fresh
run against it, so any case that changes verdict fails the build.
"""
import json
import os
import re
import sys


def key(cid):
    return [int(x) if x.isdigit() else x for x in re.split(r"[.]", cid)]


def main():
    report_dir, agent = sys.argv[1], sys.argv[2]
    with open(os.path.join(report_dir, "index.json")) as f:
        cases = json.load(f).get(agent, {})
    for cid in sorted(cases, key=key):
        c = cases[cid]
        print(cid, c.get("behavior", "?"), c.get("behaviorClose", "?"))
    return 0 if cases else 1


if __name__ == "__main__":
    sys.exit(main())
