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
// the tensorflow error code; "inputs" = u32 n_inputs, each: bytes key, bytes serialized TensorProto:
//   load reply: u32 status, bytes message, then if OK: u32 n_signatures, each: bytes name,
//               u32 n_inputs, each bytes key, u32 n_outputs, each bytes key. On failure the
//               program exits 1 after this message.
//   request:    u32 kind, bytes signature, then by kind:
//     0 (run), 1 (traced run: RunOptions FULL_TRACE): inputs.
//       reply: u32 status, bytes message, u64 Session::Run nanoseconds, u32 n_outputs, each:
//              bytes key, bytes serialized TensorProto (all outputs, in sorted key order; numbers
//              in tensor_content, strings in string_val), then bytes serialized StepStats (the
//              RunMetadata's per-node timings; empty unless traced).
//     2 (load): u32 clients, u64 deadline nanoseconds, u32 n_requests, each: inputs. `clients`
//       threads call Session::Run concurrently on the one session, as TF Serving's RPC threads do,
//       each taking the next request until all are answered or the deadline has passed.
//       reply: u32 status, bytes message (the first failure), u64 wall nanoseconds, u32 n_answered,
//              each: u64 Session::Run nanoseconds, in the order the requests finished.
// A bad request answers with its status and no results, and the loop goes on until EOF on stdin.
#include <dlfcn.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "tensorflow/cc/saved_model/loader.h"
#include "tensorflow/core/framework/tensor.h"
#include "tensorflow/core/framework/step_stats.pb.h"
#include "tensorflow/core/framework/tensor.pb.h"
#include "tensorflow/core/protobuf/config.pb.h"
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

uint64_t ReadU64() {
  const uint64_t low = ReadU32();
  return low | (static_cast<uint64_t>(ReadU32()) << 32);
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

enum RequestKind : uint32_t { kRun = 0, kTracedRun = 1, kLoad = 2 };

// One signature call as read off the wire: (key, serialized TensorProto) pairs.
using SerializedInputs = std::vector<std::pair<std::string, std::string>>;

SerializedInputs ReadInputs() {
  SerializedInputs inputs;
  const uint32_t n_inputs = ReadU32();
  for (uint32_t i = 0; i < n_inputs; ++i) {
    std::string key = ReadBytes();
    inputs.emplace_back(std::move(key), ReadBytes());
  }
  return inputs;
}

// A signature call made ready for Session::Run: parsed feeds and the output tensor names.
struct Call {
  std::vector<std::pair<std::string, tensorflow::Tensor>> feeds;
  std::vector<std::string> fetches;
};

const Signature* FindSignature(const std::string& name, const Signatures& signatures, absl::Status* status) {
  const auto found = signatures.find(name);
  if (found != signatures.end()) return &found->second;
  *status = absl::FailedPreconditionError(absl::StrCat("Serving signature key \"", name, "\" not found."));
  return nullptr;
}

// Checks the inputs against the signature as TF Serving's Predict does (same codes) and parses
// the tensors.
absl::Status Prepare(const SerializedInputs& inputs, const Signature& signature, Call* call) {
  std::set<std::string> fed_keys;
  for (const auto& [key, serialized] : inputs) {
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
    call->feeds.emplace_back(input->second, std::move(tensor));
  }
  if (fed_keys.size() != signature.inputs.size()) {
    return absl::InvalidArgumentError(absl::StrCat("input size does not match signature: got {",
                                                   absl::StrJoin(fed_keys, ", "), "}, signature wants {",
                                                   JoinKeys(signature.inputs), "}"));
  }
  for (const auto& [key, tensor_name] : signature.outputs) call->fetches.push_back(tensor_name);
  return absl::OkStatus();
}

// Session::Run of one call, timed; `metadata` non-null asks for a full trace into it.
absl::Status TimedRun(tensorflow::Session* session, const Call& call, std::vector<tensorflow::Tensor>* fetched,
                      uint64_t* run_nanoseconds, tensorflow::RunMetadata* metadata = nullptr) {
  tensorflow::RunOptions run_options;
  if (metadata != nullptr) run_options.set_trace_level(tensorflow::RunOptions::FULL_TRACE);
  const auto start = std::chrono::steady_clock::now();
  absl::Status status = session->Run(run_options, call.feeds, call.fetches, {}, fetched, metadata);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  *run_nanoseconds = std::chrono::duration_cast<std::chrono::nanoseconds>(elapsed).count();
  return status;
}

// Runs one call (kinds run and traced run) and serializes its outputs and, when traced, its step stats.
absl::Status Answer(const SerializedInputs& inputs, const Signature& signature, bool traced,
                    tensorflow::Session* session, uint64_t* run_nanoseconds,
                    std::vector<std::pair<std::string, std::string>>* outputs, std::string* step_stats) {
  Call call;
  if (auto status = Prepare(inputs, signature, &call); !status.ok()) return status;
  std::vector<tensorflow::Tensor> fetched;
  tensorflow::RunMetadata metadata;
  absl::Status status = TimedRun(session, call, &fetched, run_nanoseconds, traced ? &metadata : nullptr);
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
  if (traced) metadata.step_stats().SerializeToString(step_stats);
  return absl::OkStatus();
}

// Concurrent load (kind load): `clients` threads share the prepared calls, each running the next
// one until none is left or the deadline has passed. Returns the first failure, if any.
absl::Status Load(const std::vector<Call>& calls, uint32_t clients, uint64_t deadline_nanoseconds,
                  tensorflow::Session* session, uint64_t* wall_nanoseconds, std::vector<uint64_t>* latencies) {
  const auto start = std::chrono::steady_clock::now();
  const auto deadline = start + std::chrono::nanoseconds(deadline_nanoseconds);
  std::atomic<size_t> next{0};
  std::mutex mutex;  // guards latencies and failure
  absl::Status failure;
  std::vector<std::thread> threads;
  for (uint32_t c = 0; c < clients; ++c) {
    threads.emplace_back([&] {
      for (size_t i = next++; i < calls.size() && std::chrono::steady_clock::now() < deadline; i = next++) {
        std::vector<tensorflow::Tensor> fetched;
        uint64_t nanoseconds = 0;
        absl::Status status = TimedRun(session, calls[i], &fetched, &nanoseconds);
        std::lock_guard<std::mutex> lock(mutex);
        if (!status.ok()) {
          if (failure.ok()) failure = status;
          return;
        }
        latencies->push_back(nanoseconds);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  *wall_nanoseconds =
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start).count();
  return failure;
}

// Reads the rest of a load request, prepares its calls, runs them and builds the reply.
Message AnswerLoad(const Signature* signature, absl::Status status, tensorflow::Session* session) {
  const uint32_t clients = ReadU32();
  const uint64_t deadline_nanoseconds = ReadU64();
  const uint32_t n_requests = ReadU32();
  std::vector<Call> calls(n_requests);
  // Every request is read even after a failure, so the framing holds.
  for (uint32_t i = 0; i < n_requests; ++i) {
    const SerializedInputs inputs = ReadInputs();
    if (status.ok()) status = Prepare(inputs, *signature, &calls[i]);
  }
  if (status.ok() && clients == 0) status = absl::InvalidArgumentError("a load wants at least one client");
  uint64_t wall_nanoseconds = 0;
  std::vector<uint64_t> latencies;
  if (status.ok()) status = Load(calls, clients, deadline_nanoseconds, session, &wall_nanoseconds, &latencies);
  Message reply;
  reply.Status(status);
  reply.U64(wall_nanoseconds);
  reply.U32(status.ok() ? latencies.size() : 0);
  if (status.ok()) {
    for (uint64_t nanoseconds : latencies) reply.U64(nanoseconds);
  }
  return reply;
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
    const uint32_t kind = ReadU32();
    const std::string name = ReadBytes();
    status = absl::OkStatus();
    const Signature* signature = FindSignature(name, signatures, &status);
    if (kind == kLoad) {
      AnswerLoad(signature, status, bundle.session.get()).Send(protocol_out);
      continue;
    }
    if (kind != kRun && kind != kTracedRun) {
      std::cerr << "serving_session: unknown request kind " << kind << ", the framing is lost\n";
      return 1;
    }
    const SerializedInputs inputs = ReadInputs();
    uint64_t run_nanoseconds = 0;
    std::vector<std::pair<std::string, std::string>> outputs;
    std::string step_stats;
    if (status.ok()) {
      status = Answer(inputs, *signature, kind == kTracedRun, bundle.session.get(), &run_nanoseconds, &outputs,
                      &step_stats);
    }
    Message reply;
    reply.Status(status);
    reply.U64(run_nanoseconds);
    reply.U32(outputs.size());
    for (const auto& [key, serialized] : outputs) {
      reply.Bytes(key);
      reply.Bytes(serialized);
    }
    reply.Bytes(step_stats);
    reply.Send(protocol_out);
  }
  return 0;
}
