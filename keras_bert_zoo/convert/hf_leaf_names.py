"""The last part of our weight names for an HF key's leaf ("weight" or "bias")."""


def leaf_name(stem, leaf):
    """(Our name of the HF `leaf` under our `stem`, whether to transpose it).

    Embedding tables are named by their stem alone; LayerNorm's weight and
    bias are gamma and beta; a dense layer's weight is our kernel, transposed
    (torch keeps [out, in]).
    """
    if stem.endswith("_embeddings"):
        return stem, False
    if stem.endswith("LayerNorm"):
        return f"{stem}/{'gamma' if leaf == 'weight' else 'beta'}", False
    return f"{stem}/{'kernel' if leaf == 'weight' else 'bias'}", leaf == "weight"
