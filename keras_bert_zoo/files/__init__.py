"""File I/O every level shares: atomic writes with the umask's permissions, input globs, output path checks,
reading texts."""

from keras_bert_zoo.files.atomic_files import (make_staging_dir, write_bytes_atomic, write_directory_atomically,
                                               write_json_atomic, write_text_atomic)
from keras_bert_zoo.files.globs import expand_globs
from keras_bert_zoo.files.output_paths import check_output_dir, check_output_file
from keras_bert_zoo.files.text_files import read_texts
