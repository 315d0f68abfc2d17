"""The BERT encoder: embeddings, transformer layers and pooler."""

import contextlib

import keras
from keras import ops

from keras_bert_zoo.config import BertConfig
from keras_bert_zoo.layers import BertEmbeddings, BertPooler, BertTransformerBlock
from keras_bert_zoo.layers.checkpoint_slice import CheckpointSlice, prefixed
from keras_bert_zoo.layers.float32_bias_grad_dense import Float32BiasGradDense
from keras_bert_zoo.layers.packed_sequences import packed_position_ids
from keras_bert_zoo.layers.padding_free import remove_padding, token_layout
from keras_bert_zoo.models.pretrained_model import PretrainedModel

INPUT_NAMES = ("input_word_ids", "input_mask", "input_type_ids")


def encoder_inputs():
    """Fresh symbolic int32 [B, T] inputs named as the encoder expects."""
    return {name: keras.Input(shape=(None,), dtype="int32", name=name) for name in INPUT_NAMES}


@keras.saving.register_keras_serializable(package="keras_bert_zoo")
class BertEncoder(PretrainedModel, keras.Model):
    """BERT's transformer encoder.

    Takes a dict of int32 [B, T] tensors `input_word_ids`, `input_mask` (1 for
    real tokens) and `input_type_ids`, and returns a dict with
    `sequence_output` [B, T, H], `pooled_output` [B, H] (where the family has
    a pooler) and `encoder_outputs` (a list with each layer's [B, T, H] output).
    `transformer_layers` lists the layers in the order they run; where the
    family shares weights across depth (ALBERT), entries repeat a block, and
    `transformer_blocks` lists the distinct ones.

    `input_mask` may also number several sequences packed into one row (1, 2,
    ..., 0 for padding): each is then encoded as if alone in its row, its
    positions counted from 0 (`layers.packed_sequences`); token-level
    fine-tuning packs batches so to skip the padding.

    Args:
        config: A `BertConfig` (or its dict form).
        dtype: Optional Keras dtype policy, such as "mixed_bfloat16".
        shared_embeddings: Another encoder's `BertEmbeddings` to use as this
            one's (ELECTRA's generator shares its discriminator's); it is
            theirs to save, so `checkpoint_slices` still names it.
        **kwargs: Passed to `keras.Model` (name, trainable).
    """

    task = "encoder"
    config_class = BertConfig
    _skips_padding = False  # see `skipping_padding`

    def __init__(self, config, dtype=None, shared_embeddings=None, **kwargs):
        config = self.checked_config(config)
        self.config = config  # Read by `embed` while the graph is built.
        self.embeddings = shared_embeddings if shared_embeddings is not None else BertEmbeddings(
            vocab_size=config.vocab_size,
            hidden_size=config.embedding_size,
            max_position_embeddings=config.position_table_size,
            type_vocab_size=config.type_vocab_size,
            dropout=config.dropout,
            layer_norm_eps=config.layer_norm_eps,
            initializer_range=config.initializer_range,
            dtype=dtype,
            name="embeddings",
        )
        # Narrower embeddings (ELECTRA's, ALBERT's) are projected to the layers' width.
        self.embedding_projection = Float32BiasGradDense(
            config.hidden_size, kernel_initializer=keras.initializers.TruncatedNormal(stddev=config.initializer_range),
            dtype=dtype, name="embedding_projection") if config.projects_embeddings else None
        blocks = [
            BertTransformerBlock(
                hidden_size=config.hidden_size,
                num_heads=config.num_heads,
                intermediate_size=config.intermediate_size,
                hidden_act=config.hidden_act,
                dropout=config.dropout,
                attention_dropout=config.attention_dropout,
                layer_norm_eps=config.layer_norm_eps,
                initializer_range=config.initializer_range,
                attention_output_dropout=config.attention_output_dropout,
                dtype=dtype,
                name=f"transformer_layer_{i}",
            )
            for i in range(len(set(config.layer_blocks)))
        ]
        # One entry per layer run; layers that share weights (ALBERT's) share the block.
        self.transformer_layers = [blocks[i] for i in config.layer_blocks]
        self.pooler = (BertPooler(config.hidden_size, config.initializer_range, dtype=dtype, name="pooler")
                       if config.has_pooler else None)

        inputs = encoder_inputs()
        x = self.embed(inputs)
        layer_outputs = []
        for layer in self.transformer_layers:
            x = layer(x, inputs["input_mask"])
            layer_outputs.append(x)
        outputs = {"sequence_output": x, "encoder_outputs": layer_outputs}
        if self.pooler is not None:
            outputs["pooled_output"] = self.pooler(x)
        super().__init__(inputs=inputs, outputs=outputs, dtype=dtype, **kwargs)

    def call(self, inputs, training=None, mask=None, output_positions=None):
        """The encoder's outputs; with `output_positions`, only those the heads read.

        Past its keys and values, the last layer then runs only for [CLS] and
        `output_positions` (as `output_range` does in Model Garden's encoder):
        the results equal those rows of the full outputs, and the last layer
        costs a fraction as much. Task models pass it through this call, so an
        encoder subclass that changes `call` is honoured by every task.

        Args:
            inputs: The encoder's input dict.
            training: Whether dropout is active.
            mask: Unused; Keras passes it to functional models.
            output_positions: Optional integer positions [B, P] (P may be 0).

        Returns:
            The full output dict or, given `output_positions`, a dict with
            `pooled_output` [B, H] and `sequence_output` [B, P, H].
        """
        if output_positions is None:
            return super().call(inputs, training=training, mask=mask)
        x = self.embed(inputs, training=training)
        layout = None
        if self._skips_padding and not training:
            layout = token_layout(inputs["input_mask"])
            x = remove_padding(x, layout)
        *lower_layers, last_layer = self.transformer_layers
        for layer in lower_layers:
            x = layer(x, inputs["input_mask"], training=training, layout=layout)
        cls_row = ops.zeros_like(inputs["input_mask"][:, :1])  # For the pooler.
        rows = ops.concatenate([cls_row, ops.cast(output_positions, "int32")], axis=1)
        x = last_layer(x, inputs["input_mask"], output_positions=rows, training=training, layout=layout)
        if self.pooler is None:
            return {"sequence_output": x[:, 1:]}
        return {"pooled_output": self.pooler(x), "sequence_output": x[:, 1:]}

    @contextlib.contextmanager
    def skipping_padding(self):
        """Within it, inference calls with `output_positions` skip the padding (`layers.padding_free`).

        Their layers then run on the real tokens alone, with the same results; exports trace their
        signatures so. The token count is known only at run time, so this is for graphs that run
        as traced (TF Serving's), not XLA-compiled ones. A family that overrides `call`
        (ModernBERT) runs as it always does.
        """
        self._skips_padding = True
        try:
            yield
        finally:
            self._skips_padding = False

    @classmethod
    def checked_config(cls, config):
        """`config` (or its dict form) as this family's config class; TypeError for another family's."""
        if isinstance(config, dict):
            config = cls.config_class.from_dict(config)
        if not isinstance(config, cls.config_class):
            raise TypeError(f"{cls.__name__} takes a {cls.config_class.__name__}, got a "
                            f"{type(config).__name__}; kbz.Encoder builds any family's encoder.")
        return config

    def head_transform(self, name):
        """The layer the family's heads put before their output layer (ModernBERT's), or None (BERT's have none)."""
        return None

    def embed(self, inputs, training=None):
        """The embeddings [B, T, H] of the input dict, projected to the layers' width where narrower."""
        # A family without token types (RoBERTa) adds its table's first row to every token.
        type_ids = inputs["input_type_ids"] if self.config.reads_token_types else ops.zeros_like(
            inputs["input_word_ids"])
        position_ids = packed_position_ids(inputs["input_mask"], self.config.padding_position_id)
        x = self.embeddings(inputs["input_word_ids"], type_ids, training=training, position_ids=position_ids)
        return x if self.embedding_projection is None else self.embedding_projection(x)

    def compute_output_spec(self, inputs, training=None, mask=None, output_positions=None):
        if output_positions is None:
            return super().compute_output_spec(inputs, training=training, mask=mask)
        # Declared, not traced: the functional graph's spec knows no `output_positions`, and
        # tracing `call` fails on JAX's unknown dimensions.
        batch, rows, hidden = inputs["input_word_ids"].shape[0], output_positions.shape[1], self.config.hidden_size
        spec = {"sequence_output": keras.KerasTensor((batch, rows, hidden), dtype=self.compute_dtype)}
        if self.pooler is not None:
            spec["pooled_output"] = keras.KerasTensor((batch, hidden), dtype=self.compute_dtype)
        return spec

    @classmethod
    def build_from_config(cls, config, dtype=None, **kwargs):
        """The encoder of `config`'s family: this class, or the family's when `config` is another's."""
        return encoder_class_for(config, cls)(config, dtype=dtype, **kwargs)

    @property
    def transformer_blocks(self):
        """The distinct transformer blocks by index (`config.layer_blocks`): the layers, unless they share weights."""
        first_run = {}
        for layer, block in zip(self.transformer_layers, self.config.layer_blocks):
            first_run.setdefault(block, layer)
        return [first_run[block] for block in sorted(first_run)]

    def checkpoint_slices(self):
        slices = prefixed("bert/embeddings/", self.embeddings.checkpoint_slices())
        if self.embedding_projection is not None:
            slices["bert/embeddings_project/kernel"] = CheckpointSlice(self.embedding_projection.kernel)
            slices["bert/embeddings_project/bias"] = CheckpointSlice(self.embedding_projection.bias)
        for i, block in enumerate(self.transformer_blocks):
            slices.update(prefixed(self.config.block_scope(i), block.checkpoint_slices()))
        if self.pooler is not None:
            slices.update(prefixed("bert/pooler/", self.pooler.checkpoint_slices()))
        return slices

    def get_config(self):
        return {
            "config": self.config.to_dict(),
            "name": self.name,
            "trainable": self.trainable,
            "dtype": keras.dtype_policies.serialize(self.dtype_policy),
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["dtype"] = keras.dtype_policies.deserialize(config.get("dtype"))
        return cls(**config)


def encoder_class_for(config, requested=None):
    """The encoder class of `config`'s family; `requested` itself if it is (a subclass of) that class."""
    from keras_bert_zoo.config import architecture_registry

    family_class = architecture_registry.for_config(config).resolved("encoder_class")
    if requested is not None and issubclass(requested, family_class):
        return requested
    return family_class


def find_encoder(model):
    """The `BertEncoder` a model is built on: the model itself, its `.encoder`, or a nested layer.

    Users' own task models (subclassed or functional) need not expose
    `.encoder`; the first `BertEncoder` among their layers, breadth first, is it.

    Raises:
        ValueError: If the model holds no `BertEncoder`.
    """
    pending = [model]
    while pending:
        layer = pending.pop(0)
        if isinstance(layer, BertEncoder):
            return layer
        # A user model may call the encoder's layers directly, so the encoder itself is no layer of theirs.
        pending.extend([getattr(layer, "encoder", None), *getattr(layer, "layers", [])])
        pending = [candidate for candidate in pending if candidate is not None]
    raise ValueError(f"{type(model).__name__} holds no kbz.BertEncoder.")
