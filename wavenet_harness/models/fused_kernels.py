"""The fast path's kernels (models/fused.py): the hand-written forward and backward of the
lecture's hier/mlp models as pure tensor functions, no autograd inside, so torch.compile
can fuse them (compile=true). Each equals the lecture-exact path up to float rounding.
It knows nothing of modules, training or files.
"""

from __future__ import annotations

import torch

# --- the hand-written forward and backward: pure tensor functions, no autograd inside ---
#
# The lecture's batchnorm divides by sqrt(unbiased var + eps); torch's native batchnorm
# op divides by sqrt(biased var + eps). With n rows, unbiased = biased * n/(n-1), so
#   (z - mean) / sqrt(var_unbiased + eps) = sqrt((n-1)/n) * (z - mean) / sqrt(var_biased + eps*(n-1)/n)
# and the lecture's batchnorm is the native op with gain gamma*sqrt((n-1)/n) and eps*(n-1)/n.
# Its running statistics use the unbiased variance and momentum exactly as the lecture's.
# One native op (and one for its backward) replaces ~10 small ones per level.


def fused_forward(
    idx,
    emb,
    weights,
    gammas,
    betas,
    running_means,
    running_vars,
    w_out,
    b_out,
    groups: tuple[int, ...],
    eps: float,
    momentum: float,
):
    """Training-mode forward; updates the running statistics in place; returns logits and what backward needs."""
    B, T = idx.shape
    x = emb[idx].reshape(B * T // groups[0], groups[0] * emb.shape[1])
    saved = []
    for level, w in enumerate(weights):
        z = x @ w
        n = z.shape[0]
        gain = gammas[level] * ((n - 1) / n) ** 0.5
        y, mean, invstd = torch.native_batch_norm(
            z, gain, betas[level], running_means[level], running_vars[level], True, momentum, eps * (n - 1) / n
        )
        out = torch.tanh(y)
        saved.append((x, z, gain, mean, invstd, out))
        nxt = groups[level + 1] if level + 1 < len(groups) else 1
        x = out.reshape(-1, nxt * out.shape[1])
    logits = torch.addmm(b_out, x, w_out)
    return logits, (x, saved)


def fused_backward(dlogits, idx, emb, weights, w_out, saved, eps: float):
    """Gradients for (emb, weights, gammas, betas, w_out, b_out) given dloss/dlogits."""
    last, levels = saved
    d_w_out = last.t() @ dlogits
    d_b_out = dlogits.sum(0)
    dx = dlogits @ w_out.t()
    d_weights, d_gammas, d_betas = [], [], []
    for level in range(len(weights) - 1, -1, -1):
        x, z, gain, mean, invstd, out = levels[level]
        n = z.shape[0]
        dy = torch.ops.aten.tanh_backward(dx.reshape(out.shape), out)
        dz, d_gain, d_beta = torch.ops.aten.native_batch_norm_backward(
            dy, z, gain, None, None, mean, invstd, True, eps * (n - 1) / n, [True, True, True]
        )
        d_weights.append(x.t() @ dz)
        d_gammas.append(d_gain * ((n - 1) / n) ** 0.5)
        d_betas.append(d_beta)
        dx = dz @ weights[level].t()
    d_emb = torch.zeros_like(emb).index_add_(0, idx.reshape(-1), dx.reshape(-1, emb.shape[1]))
    return d_emb, d_weights[::-1], d_gammas[::-1], d_betas[::-1], d_w_out, d_b_out


def fused_loss_and_grads(
    idx,
    targets,
    emb,
    weights,
    gammas,
    betas,
    running_means,
    running_vars,
    w_out,
    b_out,
    groups: tuple[int, ...],
    eps: float,
    momentum: float,
):
    """A whole training step's math without autograd: the mean cross-entropy and every gradient.

    The loss and its gradient are the ops autograd runs for F.cross_entropy (log_softmax,
    nll_loss and their backwards), so the numbers are those of the autograd path.
    Gradients come back flat, in the order of FastSequential._params.
    """
    logits, saved = fused_forward(
        idx, emb, weights, gammas, betas, running_means, running_vars, w_out, b_out, groups, eps, momentum
    )
    logp = torch._log_softmax(logits, 1, False)
    loss, total_weight = torch.ops.aten.nll_loss_forward(logp, targets, None, 1, -100)
    dlogp = torch.ops.aten.nll_loss_backward(torch.ones_like(loss), logp, targets, None, 1, -100, total_weight)
    dlogits = torch._log_softmax_backward_data(dlogp, logp, 1, logp.dtype)
    d_emb, d_w, d_g, d_b, d_w_out, d_b_out = fused_backward(dlogits, idx, emb, weights, w_out, saved, eps)
    grads = [d_emb]
    for triple in zip(d_w, d_g, d_b, strict=True):
        grads.extend(triple)
    return loss, [*grads, d_w_out, d_b_out]


def fused_sgd_step(
    lr, params, idx, targets, running_means, running_vars, groups: tuple[int, ...], eps: float, momentum: float
):
    """Forward, loss, backward and the SGD update `p -= lr * grad` in one function.

    `lr` is a 0-d tensor so that a compiled step does not recompile when the schedule
    changes it.
    """
    n = len(groups)
    loss, grads = fused_loss_and_grads(
        idx,
        targets,
        params[0],
        params[1 : 3 * n + 1 : 3],
        params[2 : 3 * n + 1 : 3],
        params[3 : 3 * n + 1 : 3],
        running_means,
        running_vars,
        params[-2],
        params[-1],
        groups,
        eps,
        momentum,
    )
    torch._foreach_sub_(params, torch._foreach_mul(grads, lr))
    return loss
