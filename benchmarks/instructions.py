"""Count the work of N training batches: neurolab vs the hand-written NumPy reference, under callgrind.

Wall-clock time on a drifting virtual machine cannot resolve a few percent; instruction and
cache-miss counts are repeatable. Each command trains one side of ``train_speed.py`` (its
``numpy`` and ``neurolab`` workers, the same reference MLP) for one epoch on the first N
batches of 128 images; subtract a run with N = 0 (start-up, imports, loading MNIST) from a run
with N = 40 to get the work of 40 batches::

    for side in numpy neurolab; do for n in 0 40; do
      OPENBLAS_NUM_THREADS=1 NEUROLAB_DATA=../shared/data/mnist valgrind --tool=callgrind \\
        --cache-sim=yes --callgrind-out-file=cg.$side.$n .venv/bin/python benchmarks/instructions.py $side $n
    done; done
    callgrind_annotate cg.numpy.40 | grep "PROGRAM TOTALS"    # Ir Dr Dw I1mr D1mr D1mw ILmr DLmr DLmw
"""

import sys

import train_speed

WORKERS = {"numpy": train_speed.worker_numpy, "neurolab": train_speed.worker_neurolab}


def main(argv=None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 2 or argv[0] not in WORKERS or not argv[1].isdigit():
        raise SystemExit("usage: instructions.py numpy|neurolab BATCHES")
    side, count = argv[0], int(argv[1]) * train_speed.BATCH
    (images, labels), (test_images, test_labels) = train_speed.load_data()
    if count:  # the test set is cut to one image: its scoring is not the work measured
        data = ((images[:count], labels[:count]), (test_images[:1], test_labels[:1]))
        WORKERS[side](data, epochs=1, seed=0)


if __name__ == "__main__":
    main()
