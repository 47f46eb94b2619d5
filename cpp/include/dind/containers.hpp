// Layer 5: the containers endpoint group (/containers), without the streaming calls (attach, follow-logs, exec,
// archive live elsewhere). JSON in and out, as the Engine API gives it.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "dind/client.hpp"
#include "dind/streams.hpp"

namespace dind {

class Containers {
 public:
  // What logs_all() collects.
  struct Output {
    std::string out;
    std::string err;
  };

  // A wait registered with the engine (the 200 head has arrived), whose result is read later. Lets run() register a
  // `next-exit` wait before start, so a quick exit can't be missed.
  class PendingWait {
   public:
    PendingWait(BodyReader reader, std::string what) : reader_(std::move(reader)), what_(std::move(what)) {}
    // Blocks (no total timeout) until the engine reports: {"StatusCode": n, "Error": {...} or null}.
    nlohmann::json result();
    // Gives up on the wait from any thread; result() then throws StreamError.
    void close() noexcept { reader_.close(); }

   private:
    BodyReader reader_;
    std::string what_;
  };

  explicit Containers(Client client) : client_(std::move(client)) {}

  // GET /containers/json → an array. `filters` in docker-py's shape ({"label": "a=b", "status": ["exited"]});
  // limit < 0: no limit.
  nlohmann::json list(bool all = false, const nlohmann::json& filters = nullptr, int limit = -1, bool size = false);
  // GET /containers/{id}/json; NotFound if absent.
  nlohmann::json inspect(const std::string& id, bool size = false);
  // POST /containers/create → {"Id": ..., "Warnings": [...]}. A taken name gives Conflict, a missing image NotFound.
  nlohmann::json create(const nlohmann::json& config, const std::string& name = {}, const std::string& platform = {});
  // POST /containers/{id}/start. Returns false if it was already running (304, not an error).
  bool start(const std::string& id);
  // POST /containers/{id}/stop?t=. The call may take t seconds (default: the container's StopTimeout, else 10) plus
  // the client's timeout. Returns false if it was already stopped (304).
  bool stop(const std::string& id, std::optional<int> timeout = std::nullopt);
  // POST /containers/{id}/kill; empty signal: the engine's default (SIGKILL).
  void kill(const std::string& id, const std::string& signal = {});
  // POST /containers/{id}/restart?t=, with stop()'s timeout rule.
  void restart(const std::string& id, std::optional<int> timeout = std::nullopt);
  void pause(const std::string& id);
  void unpause(const std::string& id);
  // DELETE /containers/{id}; v: also its anonymous volumes; link: remove the link named `id`, not a container.
  void remove(const std::string& id, bool force = false, bool v = false, bool link = false);
  // POST /containers/{id}/wait?condition= (not-running, next-exit, removed): blocks with no total timeout.
  nlohmann::json wait(const std::string& id, const std::string& condition = {});
  // The same, returning once the engine has registered the wait.
  PendingWait begin_wait(const std::string& id, const std::string& condition = {});
  // GET /containers/{id}/top?ps_args= → {"Titles": [...], "Processes": [[...]]}.
  nlohmann::json top(const std::string& id, const std::string& ps_args = {});
  // GET /containers/{id}/changes: [{"Path", "Kind": 0 modified | 1 added | 2 deleted}] (null → []).
  nlohmann::json changes(const std::string& id);
  // POST /containers/{id}/resize?h=&w=: the TTY's size.
  void resize(const std::string& id, int height, int width);
  // GET /containers/{id}/stats?stream=0: one sample (ContainerStreams::stats_once, bounded by the client's timeout
  // plus the engine's wait for a second sample). one_shot skips that wait.
  nlohmann::json stats(const std::string& id, bool one_shot = false);
  // POST /containers/{id}/rename?name=.
  void rename(const std::string& id, const std::string& name);
  // POST /containers/{id}/update (Resources fields, RestartPolicy) → {"Warnings": [...]}.
  nlohmann::json update(const std::string& id, const nlohmann::json& config);
  // POST /containers/prune → {"ContainersDeleted": [...], "SpaceReclaimed": n}.
  nlohmann::json prune(const nlohmann::json& filters = nullptr);
  // The logs of ContainerStreams::logs() (dind/streams.hpp) read to their end, with no total timeout (the output may
  // be large): stdout and stderr into their own strings, or with demux=false everything into `out`, in the order it
  // came.
  Output logs_all(const std::string& id, const LogsOptions& options = {}, bool demux = true);

  const Client& client() const noexcept { return client_; }

 private:
  Client client_;
};

}  // namespace dind
