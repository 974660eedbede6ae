"""Build the bundled `digits` demo for convexlens.

Data: scikit-learn's bundled handwritten digits (1797 images, 8x8 pixels,
10 classes); nothing is downloaded. A stratified subset of 60 images per digit
(600 rows) is the demo set; all other rows train the networks.

Model: a small ReLU MLP body 64 -> 48 -> 48 -> 32 -> 32. (With tanh the
fine-tuned layer 2 came out marginally more convex than layer 4; with ReLU the
fine-tuned graph convexity rises with depth, as in Tetkova et al. 2025. With
four other seeds it also rose with depth, with layer 4 highest in three of
them; in the fourth, layer 3 beat layer 4 by 0.35 points.)
  * Pretrained: the body is the encoder of a denoising autoencoder trained
    WITHOUT digit labels (masking noise on the pixels, mirrored decoder,
    squared reconstruction error). The decoder is discarded.
  * Fine-tuned: the same body, initialised from the pretrained weights, plus a
    new linear 10-way head, trained with softmax cross-entropy on the
    training rows' labels; all layers are updated.

Outputs (all in this directory): hidden-layer activations of the 600 demo
rows for both bodies (float32 .npy), the fine-tuned head (PyTorch layout
out x in), labels, predictions, an Embedding Projector style metadata.tsv,
and manifest.json.

Deterministic: fixed seeds, single-threaded BLAS, float64 training; re-running
rewrites byte-identical files.

Run from the repository root:
    .venv/bin/python www/demo/make_digits_demo.py
"""

import os

# Single-threaded BLAS so floating-point reductions happen in a fixed order.
for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
           "BLIS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_v] = "1"

import json  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402

OUT = Path(__file__).resolve().parent
SEED = 20250101
PER_CLASS = 60
WIDTHS = [64, 48, 48, 32, 32]  # input + 4 hidden layers
N_CLASSES = 10

PRETRAIN_EPOCHS = 300
PRETRAIN_LR = 2e-3
MASK_P = 0.25  # fraction of pixels zeroed by the denoising corruption
FINETUNE_EPOCHS = 150
FINETUNE_LR = 1e-3
BATCH = 64
ACT = "relu"  # hidden activation ("tanh" also supported; see docstring)


# ---------------------------------------------------------------- data ----
def split_rows(y, rng):
    """Stratified demo subset: PER_CLASS rows of each digit, sorted by index."""
    demo = []
    for c in range(N_CLASSES):
        idx = np.flatnonzero(y == c)
        demo.append(np.sort(rng.choice(idx, size=PER_CLASS, replace=False)))
    demo = np.sort(np.concatenate(demo))
    train = np.setdiff1d(np.arange(len(y)), demo)
    return demo, train


# ------------------------------------------------------------ network ----
def init_layers(sizes, rng):
    """Glorot-uniform weights (in x out) and zero biases."""
    params = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        lim = np.sqrt(6.0 / (a + b))
        params.append([rng.uniform(-lim, lim, size=(a, b)), np.zeros(b)])
    return params


def forward(params, x, acts):
    """acts[i] in {'relu', 'tanh', 'sigmoid', 'linear'}; returns every layer's output."""
    hs = [x]
    h = x
    for (w, b), a in zip(params, acts):
        z = h @ w + b
        if a == "tanh":
            h = np.tanh(z)
        elif a == "relu":
            h = np.maximum(z, 0.0)
        elif a == "sigmoid":
            h = 1.0 / (1.0 + np.exp(-z))
        else:
            h = z
        hs.append(h)
    return hs


def backward(params, acts, hs, dz_out):
    """Gradients given dLoss/dz of the last layer (pre-activation)."""
    grads = [None] * len(params)
    dz = dz_out
    for i in range(len(params) - 1, -1, -1):
        w, _ = params[i]
        grads[i] = [hs[i].T @ dz, dz.sum(axis=0)]
        if i > 0:
            dh = dz @ w.T
            a = acts[i - 1]
            if a == "tanh":
                dz = dh * (1.0 - hs[i] ** 2)
            elif a == "relu":
                dz = dh * (hs[i] > 0)
            elif a == "sigmoid":
                dz = dh * hs[i] * (1.0 - hs[i])
            else:
                dz = dh
    return grads


class Adam:
    def __init__(self, params, lr, b1=0.9, b2=0.999, eps=1e-8):
        self.lr, self.b1, self.b2, self.eps, self.t = lr, b1, b2, eps, 0
        self.m = [[np.zeros_like(p) for p in layer] for layer in params]
        self.v = [[np.zeros_like(p) for p in layer] for layer in params]

    def step(self, params, grads):
        self.t += 1
        c1 = 1.0 - self.b1 ** self.t
        c2 = 1.0 - self.b2 ** self.t
        for layer, glayer, mlayer, vlayer in zip(params, grads, self.m, self.v):
            for j in range(len(layer)):
                g = glayer[j]
                mlayer[j] = self.b1 * mlayer[j] + (1.0 - self.b1) * g
                vlayer[j] = self.b2 * vlayer[j] + (1.0 - self.b2) * g * g
                layer[j] -= self.lr * (mlayer[j] / c1) / (np.sqrt(vlayer[j] / c2) + self.eps)


# ----------------------------------------------------------- training ----
def pretrain(x, rng):
    """Denoising autoencoder, no labels. Returns the 4-layer encoder."""
    enc_sizes = WIDTHS
    dec_sizes = WIDTHS[::-1]
    params = init_layers(enc_sizes, rng) + init_layers(dec_sizes, rng)
    n_enc = len(enc_sizes) - 1
    acts = [ACT] * n_enc + [ACT] * (len(dec_sizes) - 2) + ["sigmoid"]
    opt = Adam(params, PRETRAIN_LR)
    n = len(x)
    for _ in range(PRETRAIN_EPOCHS):
        order = rng.permutation(n)
        for s in range(0, n, BATCH):
            bi = order[s:s + BATCH]
            xb = x[bi]
            noisy = xb * (rng.random(xb.shape) >= MASK_P)
            hs = forward(params, noisy, acts)
            out = hs[-1]
            # mean over rows of the summed squared error, through the sigmoid
            dz = 2.0 * (out - xb) * out * (1.0 - out) / len(bi)
            opt.step(params, backward(params, acts, hs, dz))
    return [[w.copy(), b.copy()] for w, b in params[:n_enc]]


def finetune(body, x, y, rng):
    """Body (copied) + new linear head, softmax cross-entropy, all layers."""
    params = [[w.copy(), b.copy()] for w, b in body]
    head = init_layers([WIDTHS[-1], N_CLASSES], rng)
    params = params + head
    acts = [ACT] * len(body) + ["linear"]
    opt = Adam(params, FINETUNE_LR)
    onehot = np.eye(N_CLASSES)[y]
    n = len(x)
    for _ in range(FINETUNE_EPOCHS):
        order = rng.permutation(n)
        for s in range(0, n, BATCH):
            bi = order[s:s + BATCH]
            hs = forward(params, x[bi], acts)
            z = hs[-1] - hs[-1].max(axis=1, keepdims=True)
            p = np.exp(z)
            p /= p.sum(axis=1, keepdims=True)
            dz = (p - onehot[bi]) / len(bi)
            opt.step(params, backward(params, acts, hs, dz))
    return params[:len(body)], params[-1]


def hidden(body, x):
    return forward(body, x, [ACT] * len(body))[1:]


# --------------------------------------------------------------- main ----
def main():
    rng = np.random.default_rng(SEED)
    digits = load_digits()
    x = digits.data.astype(np.float64) / 16.0  # pixels 0..16 -> [0, 1]
    y = digits.target.astype(np.int64)
    demo, train = split_rows(y, rng)

    body_pre = pretrain(x[train], rng)
    body_ft, (head_w, head_b) = finetune(body_pre, x[train], y[train], rng)

    h_pre_demo = hidden(body_pre, x[demo])
    h_ft_demo = hidden(body_ft, x[demo])
    logits = h_ft_demo[-1] @ head_w + head_b
    pred = logits.argmax(axis=1).astype(np.int64)
    acc_ft = float((pred == y[demo]).mean())

    # Linear probe on the pretrained (label-free) last hidden layer.
    probe = LogisticRegression(C=10.0, max_iter=5000)
    probe.fit(hidden(body_pre, x[train])[-1], y[train])
    acc_probe = float(probe.score(h_pre_demo[-1], y[demo]))

    layers = []
    for i in range(len(body_pre)):
        pre_name = f"pretrained_layer{i + 1}.npy"
        ft_name = f"finetuned_layer{i + 1}.npy"
        np.save(OUT / pre_name, h_pre_demo[i].astype(np.float32))
        np.save(OUT / ft_name, h_ft_demo[i].astype(np.float32))
        layers.append({"name": f"layer {i + 1}", "pretrained": pre_name,
                       "finetuned": ft_name})
    # PyTorch nn.Linear layout: weight is (out, in).
    np.save(OUT / "finetuned_head_W.npy", np.ascontiguousarray(head_w.T).astype(np.float32))
    np.save(OUT / "finetuned_head_b.npy", head_b.astype(np.float32))
    np.save(OUT / "labels.npy", y[demo])
    np.save(OUT / "predictions_finetuned.npy", pred)

    with open(OUT / "metadata.tsv", "w", encoding="utf-8", newline="\n") as f:
        f.write("label\tsplit\tindex\n")
        for i in demo:
            f.write(f"{y[i]}\tdemo\t{i}\n")

    manifest = {
        "id": "digits",
        "title": "Handwritten digits (scikit-learn), small MLP, pretrained vs fine-tuned",
        "description": (
            "600 small 8x8 images of handwritten digits (60 of each digit 0-9) "
            "passed through a four-layer neural network twice: once after "
            "pretraining without any digit labels, and once after fine-tuning "
            "it to recognise the digits. Compare how well each digit forms its "
            "own connected, convex region in every layer."
        ),
        "rows": int(len(demo)),
        "labels": "metadata.tsv",
        "label_column": "label",
        "layers": layers,
        "head": {"w": "finetuned_head_W.npy", "b": "finetuned_head_b.npy",
                 "layer": f"layer {len(body_pre)}"},
        "predictions": "predictions_finetuned.npy",
        "accuracy": {"finetuned_test": round(acc_ft, 4),
                     "pretrained_linear_probe_test": round(acc_probe, 4)},
        "made_by": "www/demo/make_digits_demo.py",
    }
    with open(OUT / "manifest.json", "w", encoding="utf-8", newline="\n") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    print(f"fine-tuned test accuracy {acc_ft:.4f}; "
          f"pretrained linear probe {acc_probe:.4f}; "
          f"train rows {len(train)}, demo rows {len(demo)}")


if __name__ == "__main__":
    main()
