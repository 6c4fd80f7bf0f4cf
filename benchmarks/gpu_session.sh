#!/usr/bin/env bash
# The GPU measurements committed in benchmarks/results/, as run on the lent H200 (device tool),
# from the repository root, with the wheels of benchmarks/gpu_wheels.txt carried in .whl/:
#
#   bash benchmarks/gpu_session.sh calibrate grading             # one call (~9 minutes)
#   bash benchmarks/gpu_session.sh grading-none corpus bench     # another (~9 minutes)
#
# Each stage writes its logs and results under $OUT (the device tool brings them back) and has its
# own time limit, so that one stage running long cannot take the others' results with it.
set -uo pipefail
OUT=${OUT:-/tmp/gpu-out}
mkdir -p "$OUT"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv,noheader > "$OUT/gpu.txt" 2>&1

# The device tool brings back at most 8 files: each stage's log stays in /tmp/gpu-logs, and its
# exit status, time and last lines go into $OUT/stages.txt.
mkdir -p /tmp/gpu-logs
stage() {  # stage NAME SECONDS COMMAND...: run it, keep its output, note its exit status
    local name=$1 limit=$2
    shift 2
    local t0=$SECONDS status
    timeout "$limit" "$@" > "/tmp/gpu-logs/$name.log" 2>&1
    status=$?
    { echo "== $name: exit $status in $((SECONDS - t0)) s"; tail -n 25 "/tmp/gpu-logs/$name.log"; } >> "$OUT/stages.txt"
    echo "$name: exit $status in $((SECONDS - t0)) s"
}

for what in "$@"; do
    case $what in
    calibrate)  # >= 30 races per speed test, for the reference and every variant (thresholds.py)
        stage calibrate 400 python3 benchmarks/calibrate_speed.py --races 30 --max-seconds 360 \
            --out "$OUT/calibration.json" ;;
    grading)  # grading time of a complete submission (alice), all six at once, with and without isolation
        python3 -m instructor.samples /tmp/submitted --students alice > /dev/null
        stage grade-j6 150 python3 -m autograder grade /tmp/submitted/alice/workshop3/*.ipynb -j 6 \
            --json "$OUT/grade-alice-j6.json" ;;
    calibrate-resume)  # a calibration cut short by the call's limit: time the races it lacks
        stage calibrate 330 python3 benchmarks/calibrate_speed.py --races 30 --max-seconds 280 \
            --resume benchmarks/results/speed-calibration-h200.json --out "$OUT/calibration.json" ;;
    grading-single)  # one notebook at a time: the slowest two with the jail, one without
        python3 -m instructor.samples /tmp/submitted --students alice > /dev/null
        for stem in 05_heat_equation_jax 06_deep_learning_jax; do
            stage "grade-$stem" 100 python3 -m autograder grade "/tmp/submitted/alice/workshop3/$stem.ipynb" \
                --json "$OUT/grade-alice-$stem.json"
        done
        stage grade-05-none 100 python3 -m autograder grade /tmp/submitted/alice/workshop3/05_heat_equation_jax.ipynb \
            --isolation none --json "$OUT/grade-alice-05-none.json" ;;
    stubs)  # right structure, wrong values: 0 points on the GPU too
        stage stubs 120 python3 -m pytest tests/test_corpus.py -k stub -n 8 -q -p no:cacheprovider ;;
    grading-none)  # the same without the jail
        python3 -m instructor.samples /tmp/submitted --students alice > /dev/null
        stage grade-j6-none 150 python3 -m autograder grade /tmp/submitted/alice/workshop3/*.ipynb -j 6 \
            --isolation none --json "$OUT/grade-alice-j6-none.json" ;;
    corpus)  # the corpus of wrong, slow and hostile notebooks, and the real-code cases, on the GPU
        stage corpus 300 python3 -m pytest tests/test_corpus.py tests/test_real_code.py -n 6 -q \
            -p no:cacheprovider --junitxml "$OUT/corpus.xml" ;;
    bench)  # the references against the other ways of writing them, torch.compile, CuPy, Pallas
        stage bench-references 300 python3 benchmarks/bench_references.py --sizes 2048 4096 8192 \
            --repeats 7 --golden-repeats 2 --loop-steps 200 --calls 30 --json "$OUT/references.json"
        stage bench-pallas 150 python3 benchmarks/bench_pallas_heat.py --isolate --sizes 2048 4096 8192 \
            --variants mosaic_smem --steps 1 4 8 --budget-s 120 --json "$OUT/pallas.json" ;;
    *) echo "unknown stage $what" >&2; exit 2 ;;
    esac
done
