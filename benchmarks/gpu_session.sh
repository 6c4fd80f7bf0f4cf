#!/usr/bin/env bash
# The GPU measurements committed in benchmarks/results/, as run on the lent H200 (device tool),
# from the repository root, with the wheels of benchmarks/gpu_wheels.txt carried in .whl/:
#
#   bash benchmarks/gpu_session.sh calibrate grading             # one call (~9 minutes)
#   bash benchmarks/gpu_session.sh grading-none corpus bench     # another (~9 minutes)
#
# Each stage writes its logs and results under /tmp/gpu-results and has its own time limit, so
# that one stage running long cannot take the others' results with it. The device tool brings
# back at most 8 files from $OUT: there go gpu.txt, stages.txt (each stage's exit status, time and
# last lines) and results.tgz (every stage's log and JSON), packed again after each stage.
set -uo pipefail
OUT=${OUT:-/tmp/gpu-out}
RES=/tmp/gpu-results
mkdir -p "$OUT" "$RES/logs"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv,noheader > "$OUT/gpu.txt" 2>&1

stage() {  # stage NAME SECONDS COMMAND...: run it, keep its output, note its exit status
    local name=$1 limit=$2
    shift 2
    local t0=$SECONDS status
    timeout "$limit" "$@" > "$RES/logs/$name.log" 2>&1
    status=$?
    { echo "== $name: exit $status in $((SECONDS - t0)) s"; tail -n 25 "$RES/logs/$name.log"; } >> "$OUT/stages.txt"
    echo "$name: exit $status in $((SECONDS - t0)) s"
    tar czf "$OUT/results.tgz" -C "$RES" .
}
samples() {  # the complete sample submission (alice) in /tmp/submitted, written once per session
    [ -d /tmp/submitted/alice ] || python3 -m instructor.samples /tmp/submitted --students alice > /dev/null
}
ALICE=/tmp/submitted/alice/workshop3
others() {  # two other sample students, partial (bob) and hostile (mallory), in /tmp/others, once per session
    [ -d /tmp/others/bob ] || python3 -m instructor.samples /tmp/others --students bob mallory > /dev/null
}
grade_alone() {  # grade_alone SECONDS STEM SUFFIX [GRADE OPTIONS...]: alice's STEM alone, stage grade-STEM-SUFFIX
    local limit=$1 stem=$2 suffix=$3
    shift 3
    samples
    stage "grade-$stem$suffix" "$limit" python3 -m autograder grade "$ALICE/$stem.ipynb" "$@" \
        --json "$RES/grade-alice-$stem$suffix.json"
}

for what in "$@"; do
    case $what in
    calibrate)  # >= 30 races per speed test, for the reference and every variant (thresholds.py)
        stage calibrate 400 python3 benchmarks/calibrate_speed.py --races 30 --max-seconds 360 \
            --out "$RES/calibration.json" ;;
    grading)  # grading time of a complete submission (alice), all six at once, with and without isolation
        samples
        stage grade-j6 120 python3 -m autograder grade "$ALICE"/*.ipynb -j 6 \
            --json "$RES/grade-alice-j6.json" ;;
    calibrate-resume)  # a calibration cut short by the call's limit: time the races it lacks
        stage calibrate 330 python3 benchmarks/calibrate_speed.py --races 30 --max-seconds 280 \
            --resume benchmarks/results/speed-calibration-h200.json --out "$RES/calibration.json" ;;
    grading-single)  # one notebook at a time, in the jail; 05 and 06 also without it
        for stem in 01_jax_intro 02_jax_jit 03_jax_grad 04_jax_vmap 05_heat_equation_jax 06_deep_learning_jax; do
            grade_alone 100 "$stem" ""
        done
        for stem in 05_heat_equation_jax 06_deep_learning_jax; do
            grade_alone 100 "$stem" -none --isolation none
        done ;;
    grading-02-06)  # the two slowest of grading-single again, after a change to them
        for stem in 02_jax_jit 06_deep_learning_jax; do
            grade_alone 80 "$stem" ""
        done ;;
    grading-autotune0)  # 06 with XLA's GPU autotuning off in the kernels: what compilation costs
        XLA_FLAGS=--xla_gpu_autotune_level=0 grade_alone 100 06_deep_learning_jax -autotune0 ;;
    grading-cublas)  # 04 and 06 with XLA's Triton GEMMs and autotuning off in the kernels
        for stem in 04_jax_vmap 06_deep_learning_jax; do
            XLA_FLAGS="--xla_gpu_enable_triton_gemm=false --xla_gpu_autotune_level=0" grade_alone 80 "$stem" -cublas
        done ;;
    bench-unroll)  # longer unrolls of the reference loop, and the compiled HLO of every step form
        stage bench-unroll 200 python3 benchmarks/bench_references.py --sizes 2048 4096 8192 \
            --repeats 7 --golden-repeats 1 --loop-steps 200 --skip-single --skip-mlp \
            --loops "scan unroll 8 (static n)" "unroll 32 (static" "fully unrolled" shipped \
            --hlo "$RES/heat-hlo.txt" --json "$RES/references-unroll.json" ;;
    calibrate-gemm)  # the two speed tests with matrix multiplies, with the kernels' default XLA_FLAGS
        # (autograder/sandbox/notebook_run.py: GRADING_XLA_FLAGS, Triton GEMMs and autotuning off)
        stage calibrate-gemm 250 python3 benchmarks/calibrate_speed.py --races 30 --max-seconds 220 \
            --tests batched_predict_speed_vs_python_loop train_step_speed_vs_reference --out "$RES/calibration-gemm.json" ;;
    grading-06)  # 06 alone, the slowest notebook to grade
        grade_alone 80 06_deep_learning_jax "" ;;
    bench-once-r)  # the reference's loop with alpha*dt/dx**2 computed once, against the scan form
        stage bench-once-r 70 python3 benchmarks/bench_references.py --sizes 2048 4096 8192 \
            --repeats 5 --golden-repeats 1 --loop-steps 200 --skip-single --skip-mlp \
            --loops "computed once" "scan unroll 8 (static n)" shipped --json "$RES/references-once-r.json" ;;
    calibrate-gelu24)  # gelu's race on 2**24 entries (64 MiB, past the L2) instead of 2**22
        cp autograder/thresholds.py /tmp/thresholds.py.kept
        sed -i 's/^GELU_SPEED_SIZE = 1 << 22$/GELU_SPEED_SIZE = 1 << 24/' autograder/thresholds.py
        grep -q '^GELU_SPEED_SIZE = 1 << 24$' autograder/thresholds.py || { echo "sed missed" >> "$OUT/stages.txt"; exit 3; }
        stage calibrate-gelu24 130 python3 benchmarks/calibrate_speed.py --tests gelu_jit_speed_vs_eager \
            --races 30 --max-seconds 100 --out "$RES/calibration-gelu24.json"
        cp /tmp/thresholds.py.kept autograder/thresholds.py ;;
    real-code)  # the real-code corpus alone
        stage real-code 200 python3 -m pytest tests/test_real_code.py -n 8 -q -p no:cacheprovider \
            --junitxml "$RES/real-code.xml" ;;
    bench-heat)  # the heat loop's forms at the three sizes: the reference, two steps per kernel,
        # torch.compile and CuPy; then Pallas at the three sizes
        stage bench-heat 240 python3 benchmarks/bench_references.py --sizes 2048 4096 8192 \
            --repeats 7 --golden-repeats 1 --loop-steps 200 --skip-single --skip-mlp \
            --loops "scan unroll 8 (static n)" "two steps" shipped --json "$RES/references-heat.json"
        stage bench-pallas 150 python3 benchmarks/bench_pallas_heat.py --isolate --sizes 2048 4096 8192 \
            --variants mosaic_smem --steps 1 4 8 --budget-s 120 --json "$RES/pallas.json" ;;
    stubs)  # right structure, wrong values: 0 points on the GPU too
        stage stubs 120 python3 -m pytest tests/test_corpus.py -k stub -n 8 -q -p no:cacheprovider ;;
    grading-none)  # the same without the jail
        samples
        stage grade-j6-none 150 python3 -m autograder grade "$ALICE"/*.ipynb -j 6 \
            --isolation none --json "$RES/grade-alice-j6-none.json" ;;
    corpus)  # the corpus of wrong, slow and hostile notebooks, and the real-code cases, on the GPU
        stage corpus 300 python3 -m pytest tests/test_corpus.py tests/test_real_code.py -n 6 -q \
            -p no:cacheprovider --junitxml "$RES/corpus.xml" ;;
    corpus-only)  # the corpus of wrong, slow and hostile notebooks alone (real-code: stage real-code)
        stage corpus 270 python3 -m pytest tests/test_corpus.py -n 8 -q -p no:cacheprovider \
            --durations 0 --junitxml "$RES/corpus.xml" ;;
    bench)  # the references against the other ways of writing them, torch.compile, CuPy, Pallas
        stage bench-references 300 python3 benchmarks/bench_references.py --sizes 2048 4096 8192 \
            --repeats 7 --golden-repeats 2 --loop-steps 200 --calls 30 --json "$RES/references.json"
        stage bench-pallas 150 python3 benchmarks/bench_pallas_heat.py --isolate --sizes 2048 4096 8192 \
            --variants mosaic_smem --steps 1 4 8 --budget-s 120 --json "$RES/pallas.json" ;;
    grading-cache)  # --compile-cache: the warm-up (six references at once), then alice warm one at a
        # time and all six at once, then two other students (their own code compiles: misses)
        samples
        CACHE=/tmp/xla-cache
        stage grade-cache-warmup 240 python3 -m autograder grade "$ALICE"/*.ipynb -j 6 --compile-cache "$CACHE" \
            --json "$RES/grade-alice-j6-cache-first.json"
        for stem in 01_jax_intro 02_jax_jit 03_jax_grad 04_jax_vmap 05_heat_equation_jax 06_deep_learning_jax; do
            grade_alone 60 "$stem" -cache --compile-cache "$CACHE"
        done
        stage grade-j6-cache 120 python3 -m autograder grade "$ALICE"/*.ipynb -j 6 --compile-cache "$CACHE" \
            --json "$RES/grade-alice-j6-cache.json"
        others
        stage grade-others-cache 200 python3 -m autograder grade /tmp/others/*/workshop3/*.ipynb -j 6 \
            --compile-cache "$CACHE" --json "$RES/grade-others-j6-cache.json"
        du -sh "$CACHE" > "$RES/cache-size.txt" 2>&1 ;;
    cache-check)  # the two other students without the cache (their scores must not move), and the
        # cache's own tests on the GPU
        others
        stage grade-others-plain 200 python3 -m autograder grade /tmp/others/*/workshop3/*.ipynb -j 6 \
            --json "$RES/grade-others-j6-plain.json"
        stage cache-tests 200 python3 -m pytest tests/test_cli.py tests/test_isolation.py tests/test_sandbox.py \
            -k compile_cache -q -p no:cacheprovider ;;
    bench-forms)  # two more ways of writing the step (1-D shifts; interior slices padded back), at the small sizes
        stage bench-forms 150 python3 benchmarks/bench_references.py --sizes 2048 4096 \
            --repeats 7 --golden-repeats 1 --loop-steps 200 --skip-single --skip-mlp \
            --loops "flat 1-D" "interior slices" "pad + where, r traced, scan unroll 8" shipped \
            --json "$RES/references-forms.json" ;;
    bench-ceiling)  # each size's one-pass ceiling, and what separates the reference from the fastest scan
        stage bench-ceiling 260 python3 benchmarks/bench_references.py --sizes 2048 4096 8192 \
            --repeats 7 --golden-repeats 1 --loop-steps 200 --skip-single --skip-mlp \
            --loops "scan unroll 8 (static n)" "unroll 32 (static" "r traced" constants shipped \
            --json "$RES/references-ceiling.json" ;;
    *) echo "unknown stage $what" >&2; exit 2 ;;
    esac
done
