# wisp local coldstart (python): imports a function's handler module the way wisp's bootstrap
# does, under `python -X importtime`. What was imported before the marker line on stderr is the
# interpreter's own start-up; what follows is the handler's INIT.
import os
import sys
import time

task_root, handler = sys.argv[1], sys.argv[2]
layers = [p for p in sys.argv[3:] if p]
version = "%d.%d" % sys.version_info[:2]
paths = [task_root]
for layer in layers:
    paths.append(os.path.join(layer, "python", "lib", "python" + version, "site-packages"))
    paths.append(os.path.join(layer, "python"))
sys.path[0:1] = paths
module = handler.rsplit(".", 1)[0].replace("/", ".")
sys.stderr.write("wisp-coldstart-marker\n")
sys.stderr.flush()
start = time.perf_counter()
error = ""
try:
    __import__(module)
except BaseException as e:  # the user's module may raise anything, even SystemExit
    error = "%s: %s" % (type(e).__name__, e)
elapsed = (time.perf_counter() - start) * 1000
sys.stderr.write("wisp-coldstart-end\n")


def quote(text):
    # Not the json module: importing it here would hide its cost from a handler that does.
    out = []
    for c in text:
        out.append(c if c >= " " and c not in '"\\' else "\\u%04x" % ord(c))
    return '"' + "".join(out) + '"'


stdlib = sorted(getattr(sys, "stdlib_module_names", ()))
sys.stdout.write('{"loadMs": %.3f, "error": %s, "stdlib": [%s]}\n'
                 % (elapsed, quote(error), ", ".join(quote(n) for n in stdlib)))
