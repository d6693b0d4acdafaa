"""The names under which a training logs its metrics in the run store, and the sets of them
that readers (the training page, the progress table) ask for."""

from __future__ import annotations

# per step
TRAIN_LOSS = "train_loss"  # nats/token, the model's cross-entropy
OBJECTIVE = "objective"  # what was minimised: the loss, or the TSU free energy
GRAD_NORM = "grad_norm"  # before clipping
STEP_SECONDS = "step_seconds"
TEMPERATURE = "temperature"  # TSU only
KL_PER_TOKEN = "kl_per_token"  # TSU only, nats/token
WEIGHT_ENTROPY = "weight_entropy"  # TSU only, nats
# per evaluation
VAL_LOSS = "val_loss"
VAL_LOSS_MEAN_WEIGHTS = "val_loss_mean_weights"  # TSU only
ECE = "ece"
PREDICTIVE_ENTROPY = "predictive_entropy"
MUTUAL_INFORMATION = "mutual_information"  # TSU only
KL_TOTAL = "kl_total"  # TSU only, nats
FLAGGED_FRACTION = "flagged_fraction"  # runs with predictive samples: tokens flagged for review


def aurc(ranking: str) -> str:
    """The name of the area under the risk-coverage curve when ranking by `ranking`."""
    return f"aurc_{ranking}"


def attention_entropy(layer: int) -> str:
    """The name of layer `layer`'s mean attention entropy (nats), logged per evaluation."""
    return f"attention_entropy_l{layer}"


# What the training page draws (plus attention_entropy of each layer) and its progress table.
DRAWN = (
    TRAIN_LOSS,
    VAL_LOSS,
    VAL_LOSS_MEAN_WEIGHTS,
    STEP_SECONDS,
    WEIGHT_ENTROPY,
    KL_PER_TOKEN,
    TEMPERATURE,
)
PROGRESS = (TRAIN_LOSS, VAL_LOSS, STEP_SECONDS)
