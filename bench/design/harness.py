"""Runs SQL variants batch by batch in one psql session each and reports the backend's CPU
(utime+stime from /proc/PID/stat, clock ticks) per event. Usage: harness.py URL variant..."""
import subprocess, sys, os, re
URL = sys.argv[1]
HZ = os.sysconf('SC_CLK_TCK')
def run(script):
    p = subprocess.run(['psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-At', '-d', URL], input=script,
                       capture_output=True, text=True)
    if p.returncode: print(p.stderr); raise SystemExit(1)
    return p.stdout
def measured(setup, per_batch, batches=20, events=50000):
    s = setup + "\nSELECT pg_backend_pid() AS pid \\gset\n\\setenv PID :pid\n"
    for b in range(batches):
        s += "\\! awk '{print \"T\", $14+$15}' /proc/$PID/stat\n"
        s += per_batch.replace('{b}', str(b)) + "\n"
        s += "\\! awk '{print \"T\", $14+$15}' /proc/$PID/stat\n"
    out = run(s)
    t = [int(l.split()[1]) for l in out.splitlines() if l.startswith('T ')]
    ticks = [t[i+1]-t[i] for i in range(0, len(t), 2)]
    return ticks
VARIANTS = {}
def variant(name): 
    def f(fn): VARIANTS[name] = fn; return fn
    return f
exec(open(os.path.join(os.path.dirname(__file__), 'variants.py')).read())
for name in sys.argv[2:]:
    setup, per_batch = VARIANTS[name]()
    ticks = measured(setup, per_batch)
    total = sum(ticks) / HZ
    print(f"{name:28s} cpu {total:6.2f} s for 1M events = {total:5.2f} us/event; first5 {ticks[:5]} last5 {ticks[-5:]}", flush=True)
