"""DBSCAN with scikit-learn on the points cluster_bench wrote, for bench/cluster.sh.

Usage: cluster_sklearn.py POINTS.csv [EPS_M] [MIN_SAMPLES]
Times the fit only (kd_tree, one thread) and prints key=value lines.
"""

import sys
import time

import numpy as np
from sklearn.cluster import DBSCAN


def main() -> None:
    path = sys.argv[1]
    eps = float(sys.argv[2]) if len(sys.argv) > 2 else 500.0
    min_samples = int(sys.argv[3]) if len(sys.argv) > 3 else 2
    points = np.loadtxt(path, delimiter=",", skiprows=1)
    model = DBSCAN(eps=eps, min_samples=min_samples, algorithm="kd_tree", n_jobs=1)
    start = time.perf_counter()
    model.fit(points)
    elapsed = time.perf_counter() - start
    labels = model.labels_
    clusters = int(labels.max()) + 1 if labels.size else 0
    noise = int((labels < 0).sum())
    print(f"sklearn_s={elapsed:.4f} sklearn_clusters={clusters} sklearn_noise={noise}")


if __name__ == "__main__":
    main()
