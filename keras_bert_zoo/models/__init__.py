"""BERT encoder and task models."""

from keras_bert_zoo.models.bert_classifier import BertClassifier
from keras_bert_zoo.models.bert_encoder import BertEncoder
from keras_bert_zoo.models.bert_pretrainer import BertPretrainer
from keras_bert_zoo.models.bert_question_answerer import BertQuestionAnswerer
from keras_bert_zoo.models.bert_task_model import BertTaskModel
from keras_bert_zoo.models.bert_token_classifier import BertTokenClassifier
from keras_bert_zoo.models.saved_task_model import TASK_MODELS, load_saved_task_model
