#!/usr/bin/python3
# vat_peer.py: takerum/vat's semi-supervised MNIST recipe (train_mnist_semisup.py with
# --cost_type=VAT_finite_diff --epsilon=0.3 --layer_sizes=784-1200-1200-10), written in PyTorch
# from that code's description, as an independent peer of snm's `vat` row of mnist-semi.yaml:
# Linear-BN-ReLU x 2 and Linear-BN (BN with scale and shift, eps 1e-6, batch statistics in
# training), weights N(0, 1/fan_in), 100 labelled images (10 a class) in one batch and 250
# unlabelled a step, CE + KL(p(x_u) || p(x_u + r_adv)) with one power iteration of radius xi,
# Adam lr 0.002 times 0.9 after each epoch of 500 steps; the probes and the perturbed pass use
# batch statistics without moving the running ones; before each evaluation the statistics are
# re-estimated over the unlabelled set, 250 rows at a time (takerum's finetuning).  The split is
# snm's shape (the last 10 000 of a permutation of the 60 000 training images for validation),
# not snm's draw.  It is a diagnostic, not part of any test: it tells an snm problem from one of
# the recipe (README, issue 18), in float32 or float64.
#
# usage: bench/vat_peer.py DATA_DIR f32|f64 XI EPSILON EPOCHS SEED [PER_CLASS [tpami]]
#   (DATA_DIR holds the four MNIST IDX files, as `snm fetch mnist` leaves them in data/mnist;
#   PER_CLASS labelled images a class, 10 by default: 100 labels; `tpami`: the network of the
#   later VAT paper's MNIST runs as takerum/vat#3 describes it -- 784-1200-600-300-150-10, Gaussian
#   noise of std 0.5 added to every hidden layer's output (after its ReLU) in every training-mode
#   pass, none in evaluation nor in the statistics' re-estimation; that paper's epsilon is 5.0)
# prints one line an epoch: the last step's loss and cross-entropy and the validation error.
import sys
import time

import numpy as np
import torch

if len(sys.argv) not in (7, 8, 9) or (len(sys.argv) == 9 and sys.argv[8] != "tpami"):
    sys.exit("usage: vat_peer.py DATA_DIR f32|f64 XI EPSILON EPOCHS SEED [PER_CLASS [tpami]]")
data, kind = sys.argv[1], sys.argv[2]
dtype = {"f32": torch.float32, "f64": torch.float64}[kind]
xi, eps = float(sys.argv[3]), float(sys.argv[4])
epochs, seed = int(sys.argv[5]), int(sys.argv[6])
per_class = int(sys.argv[7]) if len(sys.argv) >= 8 else 10
tpami = len(sys.argv) == 9
torch.set_num_threads(1)
torch.manual_seed(seed)
rng = np.random.RandomState(seed)


def idx(name, offset):
    with open(f"{data}/{name}", "rb") as f:
        return np.frombuffer(f.read(), np.uint8, offset=offset)


X = idx("train-images-idx3-ubyte", 16).reshape(-1, 784).astype(np.float64) / 255.0
Y = idx("train-labels-idx1-ubyte", 8).astype(np.int64)
perm = rng.permutation(len(X))
X, Y = X[perm], Y[perm]
Xv, Yv, X, Y = X[50000:], Y[50000:], X[:50000], Y[:50000]
lab = np.concatenate([np.where(Y == c)[0][:per_class] for c in range(10)])
Xu = X[np.setdiff1d(np.arange(len(X)), lab)]
Xl, Yl = X[lab], Y[lab]
Xl, Xu, Xv = (torch.tensor(a, dtype=dtype) for a in (Xl, Xu, Xv))
Yl, Yv = torch.tensor(Yl), torch.tensor(Yv)


class BN(torch.nn.Module):
    def __init__(self, n):
        super().__init__()
        self.g = torch.nn.Parameter(torch.ones(n, dtype=dtype))
        self.b = torch.nn.Parameter(torch.zeros(n, dtype=dtype))
        self.rm, self.rv = torch.zeros(n, dtype=dtype), torch.ones(n, dtype=dtype)

    def forward(self, x, mode):
        """mode: 'train' (moves the running statistics by 0.1), 'hold', 'eval', or a weight w in
        (0, 1] (the re-estimation: r = (1 - w) r + w batch)."""
        if mode == "eval":
            m, v = self.rm, self.rv
        else:
            m = x.mean(0)
            v = ((x - m) ** 2).mean(0)
            if mode != "hold":
                w = 0.1 if mode == "train" else mode
                with torch.no_grad():
                    self.rm = (1 - w) * self.rm + w * m
                    self.rv = (1 - w) * self.rv + w * v * x.shape[0] / (x.shape[0] - 1)
        return self.g * (x - m) / torch.sqrt(1e-6 + v) + self.b


class Net(torch.nn.Module):
    def __init__(self, sizes=(784, 1200, 1200, 10), noise=0.0):
        super().__init__()
        self.noise = noise
        self.W, self.B = torch.nn.ParameterList(), torch.nn.ParameterList()
        self.bn = torch.nn.ModuleList()
        for a, b in zip(sizes[:-1], sizes[1:]):
            self.W.append(torch.nn.Parameter(torch.tensor(rng.normal(0, np.sqrt(1.0 / a), (a, b)), dtype=dtype)))
            self.B.append(torch.nn.Parameter(torch.zeros(b, dtype=dtype)))
            self.bn.append(BN(b))

    def forward(self, x, mode):
        for i, (w, b, bn) in enumerate(zip(self.W, self.B, self.bn)):
            x = bn(x @ w + b, mode)
            if i + 1 < len(self.W):
                x = torch.relu(x)
                if self.noise > 0 and mode in ("train", "hold"):
                    x = x + self.noise * torch.randn_like(x)
        return x


def unit(d):
    d = d / (1e-20 + d.abs().max(1, keepdim=True)[0])
    return d / torch.sqrt(1e-6 + (d ** 2).sum(1, keepdim=True))


def kl(p_logit, q_logit):
    p = torch.softmax(p_logit, 1)
    return (p * (torch.log_softmax(p_logit, 1) - torch.log_softmax(q_logit, 1))).sum(1).mean()


net = Net((784, 1200, 600, 300, 150, 10), 0.5) if tpami else Net()
opt = torch.optim.Adam(net.parameters(), lr=0.002)
nl, nu = len(Xl), len(Xu)
for epoch in range(epochs):
    t0 = time.time()
    pl, pu = torch.randperm(nl), torch.randperm(nu)
    li = ui = 0
    for step in range(500):
        xl, yl = Xl[pl[li * 100:(li + 1) * 100]], Yl[pl[li * 100:(li + 1) * 100]]
        xu = Xu[pu[ui * 250:(ui + 1) * 250]]
        li = 0 if li >= nl // 100 - 1 else li + 1
        ui = 0 if ui >= nu // 250 - 1 else ui + 1
        ce = torch.nn.functional.cross_entropy(net(xl, "train"), yl)
        with torch.no_grad():
            yu = net(xu, "hold")
        d = (xi * unit(torch.randn_like(xu))).requires_grad_(True)
        g, = torch.autograd.grad(kl(yu, net(xu + d, "hold")), d)
        loss = ce + kl(yu, net(xu + eps * unit(g), "hold"))
        opt.zero_grad()
        loss.backward()
        opt.step()
    for group in opt.param_groups:
        group["lr"] *= 0.9
    with torch.no_grad():
        for i in range(nu // 250):
            net(Xu[i * 250:(i + 1) * 250], 1.0 / (i + 1))
        err = 100.0 * (net(Xv, "eval").argmax(1) != Yv).double().mean().item()
    print(f"{kind}{' tpami' if tpami else ''} xi {xi:g} epsilon {eps:g} epoch {epoch + 1} loss {loss.item():.4f} "
          f"ce {ce.item():.4f} valid {err:.2f}% {time.time() - t0:.0f} s", flush=True)
