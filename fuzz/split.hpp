// Shared by the fuzz targets: an input is [flags][cut count][cut offsets...][payload]. The payload is what a
// parser sees; the cuts say where the transport broke it into reads, so every target sees streams arrive in pieces.
// Each piece is copied into its own exactly-sized heap block and freed right after it was fed: a parser that reads
// past a piece, or keeps a view into an earlier one, is caught by AddressSanitizer.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <string>
#include <string_view>
#include <typeinfo>
#include <vector>

#include "dind/errors.hpp"

namespace dind::fuzz {

struct SplitInput {
  std::uint8_t flags = 0;           // target-specific options
  std::string_view payload;         // the bytes the parser sees
  std::vector<std::size_t> bounds;  // piece ends, ascending, the last one payload.size()
};

// Byte 0: flags. Byte 1: number of cuts (mod 32). Then two bytes (little endian) per cut, taken modulo the payload
// size. An input too short for its header is all payload, unsplit.
inline SplitInput split_input(const std::uint8_t* data, std::size_t size) {
  SplitInput in;
  if (size < 2) {
    in.payload = std::string_view(reinterpret_cast<const char*>(data), size);
    in.bounds.push_back(size);
    return in;
  }
  in.flags = data[0];
  std::size_t cuts = data[1] % 32;
  std::size_t head = 2 + 2 * cuts;
  if (head > size) {
    cuts = (size - 2) / 2;
    head = 2 + 2 * cuts;
  }
  in.payload = std::string_view(reinterpret_cast<const char*>(data) + head, size - head);
  const std::size_t n = in.payload.size();
  for (std::size_t i = 0; i < cuts && n > 1; ++i) {
    const std::size_t v = data[2 + 2 * i] | (std::size_t{data[3 + 2 * i]} << 8);
    in.bounds.push_back(1 + v % (n - 1));  // inside the payload: never an empty piece
  }
  in.bounds.push_back(n);
  std::sort(in.bounds.begin(), in.bounds.end());
  in.bounds.erase(std::unique(in.bounds.begin(), in.bounds.end()), in.bounds.end());
  return in;
}

// Calls f(const char*, size_t) once per piece, each in its own heap block that is freed afterwards.
template <class F>
void for_each_piece(const SplitInput& in, F&& f) {
  std::size_t start = 0;
  for (std::size_t end : in.bounds) {
    const std::size_t len = end - start;
    auto block = std::make_unique<char[]>(len ? len : 1);
    std::copy(in.payload.data() + start, in.payload.data() + end, block.get());
    f(static_cast<const char*>(block.get()), len);
    start = end;
  }
}

// Pieces in separate blocks, for targets that pull bytes (a fake socket).
inline std::vector<std::vector<char>> pieces(const SplitInput& in) {
  std::vector<std::vector<char>> out;
  std::size_t start = 0;
  for (std::size_t end : in.bounds) {
    if (end > start) out.emplace_back(in.payload.data() + start, in.payload.data() + end);
    start = end;
  }
  return out;
}

// A finding: print why and abort, so libFuzzer keeps the input.
[[noreturn]] inline void broken(const std::string& what, const std::string& detail = {}) {
  std::fprintf(stderr, "FUZZ INVARIANT BROKEN: %s%s%s\n", what.c_str(), detail.empty() ? "" : ": ", detail.c_str());
  std::abort();
}

// Outcome of a parse: no error, or the kind and message of the dind::Error it threw. Anything else is a finding.
struct Outcome {
  std::string kind;  // empty: success
  std::string message;
  bool operator==(const Outcome& o) const { return kind == o.kind && message == o.message; }
};

template <class F>
Outcome outcome_of(F&& f) {
  try {
    f();
    return {};
  } catch (const Error& e) {
    return {typeid(e).name(), e.what()};
  } catch (const std::exception& e) {
    broken("an exception that is not a dind::Error escaped", std::string(typeid(e).name()) + ": " + e.what());
  }
}

}  // namespace dind::fuzz
