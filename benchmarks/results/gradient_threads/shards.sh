#!/bin/bash
PY=/work/main/.venv/bin/python
N=${N:-1024}
cd /tmp/exp
for r in 1 2; do
  rm -f a.h5 s0.h5 s1.h5 m.h5
  s=$(date +%s.%N); $PY -m dataset_gen --n $N --out a.h5 --quiet --overwrite > /dev/null; e=$(date +%s.%N)
  echo "one process, 2 threads: $(echo "$e - $s" | bc) s -> $(echo "$N / ($e - $s)" | bc -l | cut -c1-6) ex/s"
  s=$(date +%s.%N)
  taskset -c 0 $PY -m dataset_gen --n $N --shard 0/2 --out s0.h5 --quiet --overwrite > /dev/null &
  taskset -c 1 $PY -m dataset_gen --n $N --shard 1/2 --out s1.h5 --quiet --overwrite > /dev/null &
  wait; m=$(date +%s.%N)
  $PY -m dataset_gen merge s0.h5 s1.h5 -o m.h5 > /dev/null; e=$(date +%s.%N)
  echo "two pinned shard processes: $(echo "$m - $s" | bc) s, merge $(echo "$e - $m" | bc) s -> $(echo "$N / ($e - $s)" | bc -l | cut -c1-6) ex/s incl. merge"
  $PY -c "
import h5py, numpy as np
a=h5py.File('a.h5'); m=h5py.File('m.h5')
print('  same rows as one process:', np.array_equal(a['params'][:], m['params'][:]), 'spectrograms equal:', np.array_equal(a['spectrograms'][:64], m['spectrograms'][:64]), 'render_path', m.attrs['render_path'])"
done
