#!/usr/bin/env bash
# The H100 measurements in BENCH.md, as run through the device tool from the repository root with
# `.whl` (diffusers, peft, huggingface_hub, importlib_metadata, lazy-importer wheels) carried and
# diffusers' examples/dreambooth/train_dreambooth_lora_sdxl.py copied to trainer/.bench/ (not committed).
#   bash trainer/bench/run_h100.sh ours      # step modes, then the trainer end to end (1000 steps, batch 1)
#   bash trainer/bench/run_h100.sh compare   # diffusers' example at batch 1 and 4, more modes, batch 4 end to end
#   bash trainer/bench/run_h100.sh equiv     # the CUDA-graph step against the eager one, same seed
#   bash trainer/bench/run_h100.sh memory    # peak memory of the whole process at batch 1 (nvidia-smi)
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD/trainer PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"; cd trainer
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv,noheader
python3 -c "import torch,transformers,diffusers,peft;print('torch',torch.__version__,'transformers',transformers.__version__,'diffusers',diffusers.__version__,'peft',peft.__version__)"
[ -d /tmp/b/sdxl ] || python3 bench/gpu_bench.py build /tmp/b 2>&1 | grep -E "built|parameters"
example() {  # batch steps
  python3 bench/gpu_bench.py example .bench/train_dreambooth_lora_sdxl.py --pretrained_model_name_or_path /tmp/b/sdxl \
    --instance_data_dir /tmp/b/images --instance_prompt "KMPLZ, a drawing" --output_dir /tmp/ex$1 --resolution 1024 \
    --train_batch_size $1 --rank 32 --learning_rate 1e-4 --lr_scheduler constant --lr_warmup_steps 0 --max_train_steps $2 \
    --checkpointing_steps 100000 --mixed_precision bf16 --seed 0 --allow_tf32 --report_to tensorboard > "$OUT/example$1.log" 2>&1
  tr '\r' '\n' < "$OUT/example$1.log" | grep -E "^Steps: +100%" | tail -1
  grep -E "^EXAMPLE|Error" "$OUT/example$1.log" | tail -3
}
case "$1" in
  ours)
    python3 bench/gpu_bench.py modes /tmp/b eager:1,cuda_graph:1,eager:4,cuda_graph:4 2>&1 | tee "$OUT/modes.log" | grep -E "MODE|Error|LoRA"
    python3 bench/gpu_bench.py e2e /tmp/b 1000 1 2>&1 | tee "$OUT/e2e1.log" | grep -E "CKPT|E2E|step mode|ready|trained|Error|images" ;;
  compare)
    example 1 100
    example 4 40
    OUT=$OUT python3 bench/gpu_bench.py modes /tmp/b cuda_graph:1:nofused,eager:1:gc,eager:4:gc 2>&1 | tee "$OUT/modes2.log" | grep -E "MODE|Error"
    python3 bench/gpu_bench.py e2e /tmp/b 200 4 2>&1 | tee "$OUT/e2e4.log" | grep -E "CKPT|E2E|step mode|trained|Error"
    timeout 240 python3 bench/gpu_bench.py modes /tmp/b compile:1 2>&1 | tee "$OUT/compile.log" | grep -E "MODE|Error" ;;
  memory)  # what the whole process holds on the card at batch 1 (allocator reserve and CUDA context included)
    nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 100 > "$OUT/smi.log" & SMI=$!
    python3 bench/gpu_bench.py e2e /tmp/b 400 1 2>&1 | tee "$OUT/e2e-memory.log" | grep -E "E2E|trained|Error"
    kill $SMI; echo "nvidia-smi peak MiB: $(sort -n "$OUT/smi.log" | tail -1) (idle $(sort -n "$OUT/smi.log" | head -1))" ;;
  equiv)
    python3 bench/gpu_bench.py equiv /tmp/b 30 2>&1 | tee "$OUT/equiv.log" | grep -E "EQUIV|Error|step mode" ;;
esac
