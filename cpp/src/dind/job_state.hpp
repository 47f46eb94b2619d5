// Private to layer 6: what a Job holds (job.cpp: its options and workspace; job_run.cpp: one run), and the helpers
// both use.
#pragma once

#include <condition_variable>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>

#include "dind/frames.hpp"
#include "dind/job.hpp"

namespace dind {

struct Job::State {
  JobOptions options;
  Client outer;
  std::string workspace;  // canonical
  std::string name;

  // Per run; `mu` guards what cancel() touches from another thread.
  std::mutex mu;
  std::condition_variable ended;  // notified when a run has removed what it made (cancel(wait))
  bool running = false;
  bool cancelled = false;
  std::string container_id;
  FrameReader* reader = nullptr;

  State(JobOptions o, Client c) : options(std::move(o)), outer(std::move(c)) {}
};

namespace detail {

inline constexpr const char* kLabelJob = "dind.job";  // the job's name, on everything a job makes

// The workspace's mounts in a sidecar: at the same path (and a volume at /tmp for a workspace below /tmp).
void add_workspace_mounts(DaemonOptions& d, const std::string& workspace);
// A given daemon must already mount the workspace at the same path: Error saying how otherwise.
void check_daemon_mounts(Daemon& d, const std::string& workspace);
std::string read_text(const std::string& path);
// The value of PATH in a container's Env (a default PATH when unset).
std::string path_of(const nlohmann::json& env);
// The engine's unix socket path; Error when the engine is not reached over one.
std::string unix_socket_path(const Client& outer);

}  // namespace detail
}  // namespace dind
