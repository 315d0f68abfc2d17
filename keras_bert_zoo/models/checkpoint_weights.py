"""Moving weights between Keras variables and Google-named checkpoint arrays."""

import collections

import numpy as np


def checkpoint_values(slices):
    """Arrays of the model's variables under checkpoint names.

    Args:
        slices: Dict of name -> CheckpointSlice, from `model.checkpoint_slices()`.
    """
    values = {}
    for name, part in slices.items():
        array = np.asarray(part.variable.numpy(), dtype=np.float32)
        values[name] = np.split(array, part.count, axis=-1)[part.index] if part.count > 1 else array
    return values


def assign_checkpoint_values(slices, weights, source, required=True):
    """Assigns `weights` (name -> array) to the variables in `slices`.

    Args:
        slices: Dict of name -> CheckpointSlice to fill.
        weights: Dict of name -> np.ndarray read from a checkpoint.
        source: The checkpoint's location, for error messages.
        required: If False and none of the names are in `weights`, nothing is
            assigned and False is returned (a head the checkpoint lacks).

    Returns:
        Whether the variables were assigned.

    Raises:
        ValueError: A name is missing, or a shape differs; the message names the
            variable, the expected shape and the found shape.
    """
    missing = sorted(name for name in slices if name not in weights)
    if missing and not required and len(missing) == len(slices):
        return False
    if missing:
        shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        raise ValueError(f"Checkpoint {source} lacks variable(s) the model needs: {shown}.")
    parts = collections.defaultdict(dict)
    for name, part in slices.items():
        value = weights[name]
        if tuple(value.shape) != part.shape:
            raise ValueError(
                f"Checkpoint variable {name!r} in {source} has shape {tuple(value.shape)}, "
                f"but the model expects {part.shape}.")
        parts[id(part.variable)][part.index] = (part.variable, value)
    for pieces in parts.values():
        variable = pieces[0][0]
        arrays = [pieces[index][1] for index in sorted(pieces)]
        value = arrays[0] if len(arrays) == 1 else np.concatenate(arrays, axis=-1)
        variable.assign(value.astype(variable.dtype))
    return True
