#!/bin/bash
# interleaved fresh-process predict: old tree (serial gradient library) vs new tree
PY=/work/main/.venv/bin/python
for r in 1 2 3; do
  for t in old new; do
    d=/work/main; [ $t = old ] && d=/tmp/oldtree
    s=$(date +%s.%N)
    (cd $d && $PY -m inverse predict inverse/pretrained/example.png --samples 10 --json > /tmp/exp/pred_$t.json 2>/tmp/exp/pred_$t.err)
    e=$(date +%s.%N)
    echo "$t run$r $(echo "$e - $s" | bc) s load $(cut -d' ' -f1 /proc/loadavg) render $(python3 -c "import json;print(json.load(open('/tmp/exp/pred_$t.json'))['render'])")"
  done
done
s=$(date +%s.%N); $PY -c "import torch"; e=$(date +%s.%N); echo "import torch $(echo "$e - $s" | bc) s"
