#!/usr/bin/python3
"""Include cycles in src/ (issue 20: "no include cycle left"), from the
#include "..." lines alone. Three graphs, each must have none:

* files: a header that ends up including itself;
* modules, x.c with its x.h: x.c includes y.h and y.c includes x.h (as
  linux/devices.c and linux/rootfs.c once did). A part's internal header
  without a .c of its own (spec/decode.h, cgroup/backend.h,
  launch/launch-int.h) is no module: it declares what its siblings define;
* parts, src/<part>/ and src/cmd/<program>/: no two include each other,
  and a part includes only the parts after it in the Makefile's PARTS
  (the link order every program relies on).

Prints each cycle and exits 1 when there is one. Usage:
scripts/include-cycles.py [SRC_DIR]  (default: src)
"""

import os
import re
import sys
from collections import defaultdict

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def read_sources(src):
    files = {}
    for d, _, names in os.walk(src):
        for n in names:
            if n.endswith((".c", ".h")):
                path = os.path.join(d, n)
                with open(path, errors="replace") as f:
                    files[os.path.relpath(path, src)] = f.read()
    return files


def include_edges(files):
    """file -> the files of src/ it includes (-iquote src, or its own folder)."""
    edges = defaultdict(set)
    for path, text in files.items():
        for name in INCLUDE.findall(text):
            for cand in (os.path.normpath(os.path.join(os.path.dirname(path), name)),
                         os.path.normpath(name)):
                if cand in files:
                    edges[path].add(cand)
                    break
    return edges


def cycles(graph):
    """The strongly connected components of more than one node (or a node
    with an edge to itself), each sorted: Tarjan's, iteratively."""
    index, low, on, stack, found = {}, {}, set(), [], []
    counter = 0
    for root in list(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.get(root, ()))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on.add(root)
        while work:
            node, it = work[-1]
            nxt = next(it, None)
            if nxt is not None:
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on.add(nxt)
                    work.append((nxt, iter(sorted(graph.get(nxt, ())))))
                elif nxt in on:
                    low[node] = min(low[node], index[nxt])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == node:
                        break
                if len(comp) > 1 or node in graph.get(node, ()):
                    found.append(sorted(comp))
    return found


def module_graph(files, edges):
    stem = lambda p: os.path.splitext(p)[0]
    modules = ({stem(p) for p in files if p.endswith(".c")} &
               {stem(p) for p in files if p.endswith(".h")})
    graph = defaultdict(set)
    for m in modules:
        for inc in edges.get(m + ".c", ()):
            if inc.endswith(".h") and stem(inc) in modules and stem(inc) != m:
                graph[m].add(stem(inc))
    return graph


def part_of(path):
    parts = path.split(os.sep)
    return os.sep.join(parts[:2]) if parts[0] == "cmd" else parts[0]


def part_graph(edges):
    graph = defaultdict(set)
    for a, incs in edges.items():
        for b in incs:
            if part_of(a) != part_of(b):
                graph[part_of(a)].add(part_of(b))
    return graph


def parts_order(makefile):
    """The Makefile's PARTS, in order ([] when it has none)."""
    try:
        with open(makefile) as f:
            m = re.search(r"^PARTS\s*:=\s*(.*)$", f.read(), re.M)
    except OSError:
        return []
    return m.group(1).split() if m else []


def out_of_order(graph, order):
    """(a, b): part a includes part b, which PARTS lists before a."""
    rank = {p: i for i, p in enumerate(order)}
    return sorted((a, b) for a, bs in graph.items() for b in bs
                  if a in rank and b in rank and rank[b] < rank[a])


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else "src"
    files = read_sources(src)
    edges = include_edges(files)
    parts = part_graph(edges)
    found = [("files", c) for c in cycles(edges)]
    found += [("modules", c) for c in cycles(module_graph(files, edges))]
    found += [("parts", c) for c in cycles(parts)]
    for kind, comp in found:
        print(f"include cycle among {kind}: {' <-> '.join(comp)}", file=sys.stderr)
    order = parts_order(os.path.join(os.path.dirname(os.path.abspath(src)), "Makefile"))
    wrong = out_of_order(parts, order)
    for a, b in wrong:
        print(f"part {a} includes {b}, which PARTS (Makefile) lists before it",
              file=sys.stderr)
    return 1 if found or wrong else 0


if __name__ == "__main__":
    sys.exit(main())
