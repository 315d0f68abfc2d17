"""Encoders of every family, and the task models."""

from keras_bert_zoo.models.albert_encoder import AlbertEncoder
from keras_bert_zoo.models.albert_pretrainer import AlbertPretrainer
from keras_bert_zoo.models.bert_classifier import BertClassifier
from keras_bert_zoo.models.bert_encoder import BertEncoder, find_encoder
from keras_bert_zoo.models.bert_preprocessor import BertPreprocessor
from keras_bert_zoo.models.bert_pretrainer import BertPretrainer
from keras_bert_zoo.models.bert_question_answerer import BertQuestionAnswerer
from keras_bert_zoo.models.bert_task_model import BertTaskModel
from keras_bert_zoo.models.pretrained_model import HeadNotInCheckpointError
from keras_bert_zoo.models.pretrainer import Pretrainer
from keras_bert_zoo.models.bert_token_classifier import BertTokenClassifier
from keras_bert_zoo.models.distilbert_encoder import DistilBertEncoder
from keras_bert_zoo.models.electra_encoder import ElectraEncoder
from keras_bert_zoo.models.electra_pretrainer import ElectraPretrainer
from keras_bert_zoo.models.encoder import Encoder
from keras_bert_zoo.models.masked_lm import MaskedLM
from keras_bert_zoo.models.modernbert_encoder import ModernBertEncoder
from keras_bert_zoo.models.roberta_encoder import RobertaEncoder
from keras_bert_zoo.models.xlm_roberta_encoder import XlmRobertaEncoder
from keras_bert_zoo.models.saved_task_model import load_saved_task_model

# The task models take any family's encoder; these are their family-neutral names.
Classifier = BertClassifier
TokenClassifier = BertTokenClassifier
QuestionAnswerer = BertQuestionAnswerer
