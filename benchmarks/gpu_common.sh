# Sourced by the prepared lent-GPU scripts (benchmarks/gpu_session.sh, benchmarks/gpu_mask_session.sh): what every
# lease does first. Expects PY (python), START (the script's start, `date +%s`) and a writable /tmp.
#   gpu_prepare    install the wheels carried in .whl/ (git-ignored: what the device image lacks, e.g. soundfile,
#                  cffi and pycparser for Python 3.12) into /tmp/site, on PYTHONPATH; write /tmp/gpu_meta/machine.txt
#   elapsed        seconds since START
export PYTHONUNBUFFERED=1
elapsed() { echo $(( $(date +%s) - START )); }
gpu_prepare() {
  mkdir -p /tmp/gpu_meta
  if ls .whl/*.whl >/dev/null 2>&1; then
    $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
      && export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
  fi
  { date; uptime; nproc; nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
    $PY -c "import torch; print('torch', torch.__version__, torch.cuda.get_device_name() if torch.cuda.is_available() \
else 'no CUDA device')"; } > /tmp/gpu_meta/machine.txt 2>&1
  cat /tmp/gpu_meta/machine.txt
}
