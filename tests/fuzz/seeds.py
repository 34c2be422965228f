# tests/fuzz/seeds.py — builds the seed corpora tests/fuzz/corpus/* from fixtures/: every case.json,
# plan file and expected ledger (under 60 kB), up to 40 record lines a kind, and number texts.
# Run from the top of the repository; the seeds are committed. Crash inputs are added by hand.
import json, glob, os, hashlib
root='tests/fuzz/corpus'
def put(t, data):
    h=hashlib.sha1(data).hexdigest()[:16]
    with open(f'{root}/{t}/seed-{h}','wb') as f: f.write(data)
perkind={}
for cs in sorted(glob.glob('fixtures/*/case.json')):
    d=os.path.dirname(cs)
    raw=open(cs,'rb').read()
    put('case', raw)
    c=json.loads(raw)
    for s in c['steps']:
        if 'ingest' in s:
            for f in s['files']:
                for line in open(os.path.join(d,f),'rb'):
                    line=line.strip()
                    if line: perkind.setdefault(s['ingest'],[]).append(line)
        if 'plan' in s:
            for f in ([s['plan']] if isinstance(s['plan'],str) else s['plan']):
                put('plan', open(os.path.join(d,f),'rb').read())
    for e in sorted(glob.glob(d+'/expected/*.json')):
        data=open(e,'rb').read()
        if len(data) < 60000: put('verify', data)
for k,lines in perkind.items():
    seen=set(); n=0
    for l in lines:
        # one seed per distinct set of keys, up to 40 a kind
        try: key=tuple(sorted(json.loads(l).keys()))
        except Exception: key=l
        if key in seen and n >= 12: continue
        seen.add(key); n+=1
        if n > 40: break
        put('record', k.encode()+b'\n'+l)
for t in ['0','-0','0.1','10.50','-12.345','1e3','1E-2','123456789012345','1234567890123456',
          '0.005','0.015','-0.005','999999999999999e3','1e999999','00','1.','.5','-','1e','0.000000000000000001']:
    put('decimal', t.encode())
