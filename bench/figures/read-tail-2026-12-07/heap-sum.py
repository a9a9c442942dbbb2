# python3 heap-sum.py PROFILE PUTS: bytes allocated per put by function (self, and inclusive of callees), from a V8 sampling heap profile that counts collected objects too
import json, sys, collections
p = json.load(open(sys.argv[1]))
puts = float(sys.argv[2]) if len(sys.argv) > 2 else 1
selfsz = collections.Counter(); incl = collections.Counter()
def walk(n, stack):
    cf = n["callFrame"]; name = f'{cf["functionName"] or "(anon)"} {cf["url"].split("/")[-1]}:{cf["lineNumber"]+1}'
    s = n["selfSize"]; selfsz[name] += s
    tot = s
    for c in n.get("children", []): tot += walk(c, stack + [name])
    if name not in stack: incl[name] += tot
    return tot
total = walk(p["head"], [])
print(f"total sampled {total/1e6:.1f} MB, {total/puts/1024:.1f} KB per put")
print("top self:")
for k, v in selfsz.most_common(30): print(f"  {v/puts:8.0f} B/put  {k}")
print("top inclusive:")
for k, v in incl.most_common(40): print(f"  {v/puts:8.0f} B/put  {k}")
