"""Chooses among STAR recipe variants on the validation split only (issue #17's rule: the test set never selects).

Usage: /usr/bin/python3 scripts/select_star_lever.py RESULTS_DIR [RESULTS_DIR ...]
Each RESULTS_DIR is a star_results results folder (run records in RESULTS_DIR/runs). For seed 1 of the sample
ResNet it reads only the runs' validation figures (validation_top1, validation_sparsity: the per-epoch validation
images of the 5,000-image split), pairs every STAR point with the same folder's ReLU run, and prints the activations
removed vs ReLU at a validation top-1 loss of 0.5 and 1.0 pp, interpolated along the non-dominated points from
(0 pp, 0 %) as star_results reads its fronts. The rule, fixed before the variants ran: the variant with the most
removed at 0.5 pp is taken to the test set with 3 seeds when it beats the protocol's recipe there.
"""
import glob
import json
import os
import sys


def validation_front(folder, seed=1):
    records = [json.load(open(f)) for f in glob.glob(os.path.join(folder, 'runs', 'resnet__*__seed%d.json' % seed))]
    relu = next(r for r in records if r['method'] == 'relu')
    points = []
    for r in records:
        if r['method'] != 'star':
            continue
        loss = relu['validation_top1'] - r['validation_top1']
        removed = 1.0 - (1.0 - r['validation_sparsity']) / (1.0 - relu['validation_sparsity'])
        points.append((loss, removed, r['point']))
    return relu, sorted(points)


def removed_at(points, target):
    front = [(0.0, 0.0)]
    for loss, removed, _ in points:
        if removed > front[-1][1]:
            front.append((max(loss, front[-1][0]), removed))
    for (l0, r0), (l1, r1) in zip(front, front[1:]):
        if l0 <= target <= l1:
            return r1 if l1 == l0 else r0 + (r1 - r0) * (target - l0) / (l1 - l0)
    return max(r for loss, r in front if loss <= target)


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    for folder in sys.argv[1:]:
        relu, points = validation_front(folder)
        print('%s: ReLU validation top-1 %.2f %%; %s | removed at 0.5 pp %.1f %%, at 1.0 pp %.1f %%' % (
            os.path.basename(folder.rstrip('/')), relu['validation_top1'],
            ', '.join('%s -%.2f pp %.1f %%' % (p, l, 100 * r) for l, r, p in points),
            100 * removed_at(points, 0.5), 100 * removed_at(points, 1.0)))


if __name__ == '__main__':
    main()
