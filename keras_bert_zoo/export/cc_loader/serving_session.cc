// Serves one SavedModel the way TF Serving does -- TensorFlow's C++ LoadSavedModel with the
// "serve" tag, then Session::Run on a signature's tensor names -- and answers many requests over
// stdin/stdout, so the model loads once and a caller can time Session::Run alone.
//
// usage: serving_session EXPORT_DIR [--intra_op_threads N] [--inter_op_threads N] --ops LIB.so...
//   The thread counts go to SessionOptions (0 = TF's default), as TF Serving's
//   --tensorflow_intra_op_parallelism / --tensorflow_inter_op_parallelism do. The --ops libraries
//   (tf-text's kernels, which TF Serving links statically) are dlopen'ed before the load.
//
// Protocol, integers little-endian, "bytes" = u32 length + raw bytes; status is 0 for OK, else
// the tensorflow error code:
//   load reply: u32 status, bytes message, then if OK: u32 n_signatures, each: bytes name,
//               u32 n_inputs, each bytes key, u32 n_outputs, each bytes key. On failure the
//               program exits 1 after this message.
//   request:    bytes signature, u32 n_inputs, each: bytes key, bytes serialized TensorProto.
//   reply:      u32 status, bytes message, u64 Session::Run nanoseconds, u32 n_outputs, each:
//               bytes key, bytes serialized TensorProto (all outputs, in sorted key order;
//               numbers in tensor_content, strings in string_val).
// A bad request answers with its status and 0 outputs, and the loop goes on until EOF on stdin.
#include <dlfcn.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "tensorflow/cc/saved_model/loader.h"
#include "tensorflow/core/framework/tensor.h"
#include "tensorflow/core/framework/tensor.pb.h"
#include "tensorflow/core/public/session.h"

namespace {

// Signature name -> its input and output keys, each mapped to the graph's tensor name. std::map
// keeps the keys sorted, which fixes the order of the listing and of each reply's outputs.
struct Signature {
  std::map<std::string, std::string> inputs;
  std::map<std::string, std::string> outputs;
};
using Signatures = std::map<std::string, Signature>;

struct Options {
  std::string export_dir;
  int intra_op_threads = 0;
  int inter_op_threads = 0;
  std::vector<std::string> op_libraries;
};

// One framed message, built in memory and written with a single fwrite + fflush.
class Message {
 public:
  void U32(uint32_t v) {
    for (int i = 0; i < 4; ++i) buffer_.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  }
  void U64(uint64_t v) {
    for (int i = 0; i < 8; ++i) buffer_.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  }
  void Bytes(const std::string& s) {
    U32(static_cast<uint32_t>(s.size()));
    buffer_ += s;
  }
  void Status(const absl::Status& status) {
    U32(static_cast<uint32_t>(status.code()));
    Bytes(std::string(status.message()));
  }
  void Send(FILE* out) const {
    // A reader that went away leaves nothing to answer.
    if (std::fwrite(buffer_.data(), 1, buffer_.size(), out) != buffer_.size() || std::fflush(out) != 0) {
      std::cerr << "serving_session: stdout closed, exiting\n";
      std::exit(1);
    }
  }

 private:
  std::string buffer_;
};

// Reads exactly n bytes of a request; EOF inside a request means the framing is lost.
void ReadExact(char* dst, size_t n) {
  if (std::fread(dst, 1, n, stdin) != n) {
    std::cerr << "serving_session: stdin ended inside a request\n";
    std::exit(1);
  }
}

uint32_t ReadU32() {
  unsigned char b[4];
  ReadExact(reinterpret_cast<char*>(b), 4);
  return b[0] | (b[1] << 8) | (b[2] << 16) | (static_cast<uint32_t>(b[3]) << 24);
}

std::string ReadBytes() {
  std::string s(ReadU32(), '\0');
  if (!s.empty()) ReadExact(s.data(), s.size());
  return s;
}

bool AtEof() {
  const int c = std::fgetc(stdin);
  if (c == EOF) return true;
  std::ungetc(c, stdin);
  return false;
}

absl::Status ParseThreads(const std::string& flag, const char* value, int* threads) {
  try {
    size_t used = 0;
    *threads = std::stoi(value, &used);
    if (used == std::string(value).size() && *threads >= 0) return absl::OkStatus();
  } catch (const std::exception&) {
  }
  return absl::InvalidArgumentError(absl::StrCat(flag, " wants a non-negative integer, got '", value, "'"));
}

absl::Status ParseArgs(int argc, char** argv, Options* options) {
  const char* usage =
      "usage: serving_session EXPORT_DIR [--intra_op_threads N] [--inter_op_threads N] --ops LIB.so...";
  if (argc < 2) return absl::InvalidArgumentError(usage);
  options->export_dir = argv[1];
  for (int i = 2; i < argc; ++i) {
    const std::string arg = argv[i];
    if ((arg == "--intra_op_threads" || arg == "--inter_op_threads") && i + 1 < argc) {
      int* threads = arg == "--intra_op_threads" ? &options->intra_op_threads : &options->inter_op_threads;
      if (auto status = ParseThreads(arg, argv[++i], threads); !status.ok()) return status;
    } else if (arg == "--ops") {
      while (i + 1 < argc && std::string(argv[i + 1]).rfind("--", 0) != 0) options->op_libraries.push_back(argv[++i]);
    } else {
      return absl::InvalidArgumentError(absl::StrCat("unexpected argument '", arg, "'; ", usage));
    }
  }
  return absl::OkStatus();
}

absl::Status LoadOpLibraries(const std::vector<std::string>& paths) {
  for (const auto& path : paths) {
    // RTLD_GLOBAL: the kernels register themselves with TF's global op registry.
    if (!dlopen(path.c_str(), RTLD_NOW | RTLD_GLOBAL)) {
      return absl::NotFoundError(absl::StrCat("dlopen ", path, ": ", dlerror()));
    }
  }
  return absl::OkStatus();
}

Signatures ListSignatures(const tensorflow::MetaGraphDef& meta_graph) {
  Signatures signatures;
  for (const auto& [name, def] : meta_graph.signature_def()) {
    Signature& signature = signatures[name];
    for (const auto& [key, info] : def.inputs()) signature.inputs[key] = info.name();
    for (const auto& [key, info] : def.outputs()) signature.outputs[key] = info.name();
  }
  return signatures;
}

std::string JoinKeys(const std::map<std::string, std::string>& keyed) {
  std::vector<std::string> keys;
  for (const auto& [key, unused] : keyed) keys.push_back(key);
  return absl::StrJoin(keys, ", ");
}

// One request as read off the wire: (key, serialized TensorProto) pairs for a signature.
struct Request {
  std::string signature;
  std::vector<std::pair<std::string, std::string>> inputs;
};

Request ReadRequest() {
  Request request;
  request.signature = ReadBytes();
  const uint32_t n_inputs = ReadU32();
  for (uint32_t i = 0; i < n_inputs; ++i) {
    std::string key = ReadBytes();
    request.inputs.emplace_back(std::move(key), ReadBytes());
  }
  return request;
}

// Checks the request against the signature as TF Serving's Predict does (same codes), parses
// the tensors, runs the session and serializes the outputs.
absl::Status Answer(const Request& request, const Signatures& signatures, tensorflow::Session* session,
                    uint64_t* run_nanoseconds, std::vector<std::pair<std::string, std::string>>* outputs) {
  const auto found = signatures.find(request.signature);
  if (found == signatures.end()) {
    return absl::FailedPreconditionError(absl::StrCat("Serving signature key \"", request.signature, "\" not found."));
  }
  const Signature& signature = found->second;
  std::vector<std::pair<std::string, tensorflow::Tensor>> feeds;
  std::set<std::string> fed_keys;
  for (const auto& [key, serialized] : request.inputs) {
    const auto input = signature.inputs.find(key);
    if (input == signature.inputs.end()) {
      return absl::InvalidArgumentError(absl::StrCat("input tensor alias not found in signature: ", key,
                                                     ". Inputs expected to be in the set {",
                                                     JoinKeys(signature.inputs), "}."));
    }
    if (!fed_keys.insert(key).second) return absl::InvalidArgumentError(absl::StrCat("input ", key, " given twice"));
    tensorflow::TensorProto proto;
    tensorflow::Tensor tensor;
    if (!proto.ParseFromString(serialized) || !tensor.FromProto(proto)) {
      return absl::InvalidArgumentError(absl::StrCat("input ", key, ": not a valid serialized TensorProto"));
    }
    feeds.emplace_back(input->second, std::move(tensor));
  }
  if (fed_keys.size() != signature.inputs.size()) {
    return absl::InvalidArgumentError(absl::StrCat("input size does not match signature: got {",
                                                   absl::StrJoin(fed_keys, ", "), "}, signature wants {",
                                                   JoinKeys(signature.inputs), "}"));
  }
  std::vector<std::string> fetches;
  for (const auto& [key, tensor_name] : signature.outputs) fetches.push_back(tensor_name);
  std::vector<tensorflow::Tensor> fetched;
  const auto start = std::chrono::steady_clock::now();
  absl::Status status = session->Run(feeds, fetches, {}, &fetched);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  *run_nanoseconds = std::chrono::duration_cast<std::chrono::nanoseconds>(elapsed).count();
  if (!status.ok()) return status;
  size_t i = 0;
  for (const auto& [key, unused] : signature.outputs) {
    const tensorflow::Tensor& tensor = fetched[i++];
    tensorflow::TensorProto proto;
    // Numbers as raw tensor_content; strings in string_val, TF Serving's default encoding and the
    // only one Python's tf.make_ndarray decodes (it cannot read length-prefixed string content).
    if (tensor.dtype() == tensorflow::DT_STRING) {
      tensor.AsProtoField(&proto);
    } else {
      tensor.AsProtoTensorContent(&proto);
    }
    std::string serialized;
    // Protobuf refuses messages of 2 GiB and more.
    if (!proto.SerializeToString(&serialized)) {
      outputs->clear();
      return absl::ResourceExhaustedError(absl::StrCat("output ", key, " is too large to serialize"));
    }
    outputs->emplace_back(key, std::move(serialized));
  }
  return absl::OkStatus();
}

}  // namespace

int main(int argc, char** argv) {
  // The protocol owns the original stdout; fd 1 now points at stderr so that anything TF or an
  // op library prints lands among the diagnostics instead of inside a frame.
  FILE* protocol_out = fdopen(dup(STDOUT_FILENO), "wb");
  if (protocol_out == nullptr || dup2(STDERR_FILENO, STDOUT_FILENO) < 0) {
    std::perror("serving_session: cannot set up stdout");
    return 1;
  }

  Options options;
  tensorflow::SavedModelBundle bundle;
  absl::Status status = ParseArgs(argc, argv, &options);
  if (status.ok()) status = LoadOpLibraries(options.op_libraries);
  if (status.ok()) {
    tensorflow::SessionOptions session_options;
    session_options.config.set_intra_op_parallelism_threads(options.intra_op_threads);
    session_options.config.set_inter_op_parallelism_threads(options.inter_op_threads);
    status = tensorflow::LoadSavedModel(session_options, tensorflow::RunOptions(), options.export_dir, {"serve"},
                                        &bundle);
  }
  Message loaded;
  loaded.Status(status);
  if (!status.ok()) {
    std::cerr << "serving_session: " << status << "\n";
    loaded.Send(protocol_out);
    return 1;
  }
  const Signatures signatures = ListSignatures(bundle.meta_graph_def);
  loaded.U32(signatures.size());
  for (const auto& [name, signature] : signatures) {
    loaded.Bytes(name);
    loaded.U32(signature.inputs.size());
    for (const auto& [key, unused] : signature.inputs) loaded.Bytes(key);
    loaded.U32(signature.outputs.size());
    for (const auto& [key, unused] : signature.outputs) loaded.Bytes(key);
  }
  loaded.Send(protocol_out);

  while (!AtEof()) {
    const Request request = ReadRequest();
    uint64_t run_nanoseconds = 0;
    std::vector<std::pair<std::string, std::string>> outputs;
    status = Answer(request, signatures, bundle.session.get(), &run_nanoseconds, &outputs);
    Message reply;
    reply.Status(status);
    reply.U64(run_nanoseconds);
    reply.U32(outputs.size());
    for (const auto& [key, serialized] : outputs) {
      reply.Bytes(key);
      reply.Bytes(serialized);
    }
    reply.Send(protocol_out);
  }
  return 0;
}
