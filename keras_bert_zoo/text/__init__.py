"""In-graph text processing: the tokenizers, their segment packer and vocab files."""

from keras_bert_zoo.text.bert_text_normalizer import BertTextNormalizer
from keras_bert_zoo.text.bert_tokenizer import BertTokenizer
from keras_bert_zoo.text.byte_pair_tokenizer import BytePairTokenizer
from keras_bert_zoo.text.segment_packer import SegmentPacker
from keras_bert_zoo.text.sentence_piece_tokenizer import SentencePieceTokenizer
from keras_bert_zoo.text.tokenizer import Tokenizer
from keras_bert_zoo.text.vocab_files import locate_vocab, read_vocab
