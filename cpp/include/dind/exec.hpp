// Exec: run a command in a running container (POST /containers/{id}/exec, POST /exec/{id}/start hijacked,
// GET /exec/{id}/json, POST /exec/{id}/resize). The exit code is read from the exec's inspect after its output
// ended, so it is known for streamed runs too.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dind/client.hpp"
#include "dind/frames.hpp"

namespace dind {

struct ExecConfig {
  std::vector<std::string> cmd;
  std::vector<std::string> env;  // "KEY=value"
  std::string user;
  std::string workdir;
  bool attach_stdin = false;
  bool attach_stdout = true;
  bool attach_stderr = true;
  bool tty = false;
  bool privileged = false;
  std::optional<std::string> detach_keys;

  nlohmann::json to_json() const;  // the body of POST /containers/{id}/exec
};

struct ExecResult {
  std::int64_t exit_code = -1;
  std::string out;  // stdout (with a TTY: all output)
  std::string err;
};

class Exec {
 public:
  explicit Exec(Client client) : client_(std::move(client)) {}

  // Creates the exec; returns its id.
  std::string create(std::string_view container, const ExecConfig& config);
  // GET /exec/{id}/json.
  nlohmann::json inspect(std::string_view exec_id);
  // The exit code once the process ended; nullopt while it runs. After the output of start() ended the engine
  // has it set already; `wait` bounds a short poll for the moment the two race.
  std::optional<std::int64_t> exit_code(std::string_view exec_id, Clock::duration wait = std::chrono::seconds(5));
  void resize(std::string_view exec_id, int height, int width);
  // Starts attached: the output (and stdin, if the exec attached it) as a hijacked FrameReader. `tty` is the
  // exec's Tty; unknown → taken from the head (API >= 1.42) or the exec's inspect.
  FrameReader start(std::string_view exec_id, std::optional<bool> tty = std::nullopt,
                    std::optional<Clock::duration> idle_timeout = std::nullopt);
  // Starts detached (the output is discarded by the engine).
  void start_detached(std::string_view exec_id, bool tty = false);

  // create + start + optional stdin (written, then half-closed) + all output + exit code.
  ExecResult run(std::string_view container, ExecConfig config,
                 const std::optional<std::string>& stdin_data = std::nullopt);

 private:
  Client client_;
};

}  // namespace dind
