"""makemore part 5's notebook code, kept verbatim-in-spirit as the reference for parity.

These are the lecture's own classes and loop (plain tensors, manual SGD), used only by
tests and the benchmark (scripts/benchmark.py) to check that the harness takes exactly the
notebook's steps. It imports nothing from the package and nothing imports it but tests
and scripts: a yardstick, not a part.
"""

import torch
import torch.nn.functional as F


class Linear:
    def __init__(self, fan_in, fan_out, bias=True):
        self.weight = torch.randn((fan_in, fan_out)) / fan_in**0.5
        self.bias = torch.zeros(fan_out) if bias else None

    def __call__(self, x):
        self.out = x @ self.weight
        if self.bias is not None:
            self.out += self.bias
        return self.out

    def parameters(self):
        return [self.weight] + ([] if self.bias is None else [self.bias])


class BatchNorm1d:
    def __init__(self, dim, eps=1e-5, momentum=0.1, bug=False):
        self.eps = eps
        self.momentum = momentum
        self.training = True
        self.bug = bug
        self.gamma = torch.ones(dim)
        self.beta = torch.zeros(dim)
        self.running_mean = torch.zeros(dim)
        self.running_var = torch.ones(dim)

    def __call__(self, x):
        if self.training:
            dim: int | tuple[int, int]
            if x.ndim == 2 or self.bug:
                dim = 0
            elif x.ndim == 3:
                dim = (0, 1)
            xmean = x.mean(dim, keepdim=True)
            xvar = x.var(dim, keepdim=True)
        else:
            xmean = self.running_mean
            xvar = self.running_var
        xhat = (x - xmean) / torch.sqrt(xvar + self.eps)
        self.out = self.gamma * xhat + self.beta
        if self.training:
            with torch.no_grad():
                self.running_mean = (1 - self.momentum) * self.running_mean + self.momentum * xmean
                self.running_var = (1 - self.momentum) * self.running_var + self.momentum * xvar
        return self.out

    def parameters(self):
        return [self.gamma, self.beta]


class Tanh:
    def __call__(self, x):
        self.out = torch.tanh(x)
        return self.out

    def parameters(self):
        return []


class Embedding:
    def __init__(self, num_embeddings, embedding_dim):
        self.weight = torch.randn((num_embeddings, embedding_dim))

    def __call__(self, IX):
        self.out = self.weight[IX]
        return self.out

    def parameters(self):
        return [self.weight]


class FlattenConsecutive:
    def __init__(self, n):
        self.n = n

    def __call__(self, x):
        B, T, C = x.shape
        x = x.view(B, T // self.n, C * self.n)
        if x.shape[1] == 1:
            x = x.squeeze(1)
        self.out = x
        return self.out

    def parameters(self):
        return []


class Sequential:
    def __init__(self, layers):
        self.layers = layers

    def __call__(self, x):
        for layer in self.layers:
            x = layer(x)
        self.out = x
        return self.out

    def parameters(self):
        return [p for layer in self.layers for p in layer.parameters()]


def notebook_hier(vocab_size, n_embd=24, n_hidden=128, bug=False):
    """The lecture's final model (block_size 8, three levels), seeded as the notebook."""
    torch.manual_seed(42)
    model = Sequential(
        [
            Embedding(vocab_size, n_embd),
            FlattenConsecutive(2),
            Linear(n_embd * 2, n_hidden, bias=False),
            BatchNorm1d(n_hidden, bug=bug),
            Tanh(),
            FlattenConsecutive(2),
            Linear(n_hidden * 2, n_hidden, bias=False),
            BatchNorm1d(n_hidden, bug=bug),
            Tanh(),
            FlattenConsecutive(2),
            Linear(n_hidden * 2, n_hidden, bias=False),
            BatchNorm1d(n_hidden, bug=bug),
            Tanh(),
            Linear(n_hidden, vocab_size),
        ]
    )
    with torch.no_grad():
        model.layers[-1].weight *= 0.1
    return model


def notebook_mlp(vocab_size, block_size, n_embd=10, n_hidden=200):
    """The lecture's starting flat MLP."""
    torch.manual_seed(42)
    model = Sequential(
        [
            Embedding(vocab_size, n_embd),
            FlattenConsecutive(block_size),
            Linear(n_embd * block_size, n_hidden, bias=False),
            BatchNorm1d(n_hidden),
            Tanh(),
            Linear(n_hidden, vocab_size),
        ]
    )
    with torch.no_grad():
        model.layers[-1].weight *= 0.1
    return model


def notebook_train(model, Xtr, Ytr, max_steps, batch_size=32):
    """The notebook's loop, with its 150k-of-200k decay placed at 75% of max_steps."""
    parameters = model.parameters()
    for p in parameters:
        p.requires_grad = True
    lossi = []
    for i in range(max_steps):
        ix = torch.randint(0, Xtr.shape[0], (batch_size,))
        Xb, Yb = Xtr[ix], Ytr[ix]
        logits = model(Xb)
        loss = F.cross_entropy(logits, Yb)
        for p in parameters:
            p.grad = None
        loss.backward()
        lr = 0.1 if i < int(0.75 * max_steps) else 0.01
        for p in parameters:
            p.data += -lr * p.grad
        lossi.append(loss.item())
    return lossi


@torch.no_grad()
def notebook_split_loss(model, X, Y):
    for layer in model.layers:
        layer.training = False
    loss = F.cross_entropy(model(X), Y).item()
    for layer in model.layers:
        layer.training = True
    return loss
