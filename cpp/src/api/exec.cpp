#include "dind/exec.hpp"

#include <thread>

#include "api/request_json.hpp"
#include "api/routes.hpp"

namespace dind {

nlohmann::json ExecConfig::to_json() const {
  nlohmann::json j = {{"AttachStdin", attach_stdin},   {"AttachStdout", attach_stdout},
                      {"AttachStderr", attach_stderr}, {"Tty", tty},
                      {"Privileged", privileged},      {"Cmd", cmd}};
  if (!env.empty()) j["Env"] = env;
  if (!user.empty()) j["User"] = user;
  if (!workdir.empty()) j["WorkingDir"] = workdir;
  if (detach_keys) j["DetachKeys"] = *detach_keys;
  return j;
}

std::string Exec::create(std::string_view container, const ExecConfig& config) {
  if (config.cmd.empty())
    throw Error("exec in container " + std::string(container) + " on " + client_.host() + ": empty command");
  const std::string path = detail::container_path(container, "/exec");
  const nlohmann::json j = detail::request_json(client_, "POST", path, {}, Body::json(config.to_json()));
  if (!j.is_object() || !j.contains("Id") || !j["Id"].is_string())
    throw Error("POST " + path + " on " + client_.host() + " returned no exec Id: " + j.dump().substr(0, 200));
  return j["Id"].get<std::string>();
}

nlohmann::json Exec::inspect(std::string_view exec_id) {
  return detail::request_json(client_, "GET", detail::exec_path(exec_id, "/json"));
}

std::optional<std::int64_t> Exec::exit_code(std::string_view exec_id, Clock::duration wait) {
  const auto deadline = deadline_after(wait);
  auto pause = std::chrono::milliseconds(5);
  for (;;) {
    nlohmann::json j;
    try {
      j = inspect(exec_id);
    } catch (...) {
      rethrow_doing("looking up the exit code of exec " + std::string(exec_id).substr(0, 12));
    }
    const bool running = j.value("Running", false);
    const auto code = j.find("ExitCode");
    if (!running && code != j.end() && code->is_number_integer()) return code->get<std::int64_t>();
    if (Clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(100));
  }
}

void Exec::resize(std::string_view exec_id, int height, int width) {
  client_.request("POST", detail::exec_path(exec_id, "/resize"),
                  {{"h", std::to_string(height)}, {"w", std::to_string(width)}});
}

FrameReader Exec::start(std::string_view exec_id, std::optional<bool> tty,
                        std::optional<Clock::duration> idle_timeout) {
  const std::string path = detail::exec_path(exec_id, "/start");
  if (!tty && compare_api_versions(client_.api_version(), "1.42") < 0) {
    const auto j = inspect(exec_id);
    tty = j.contains("ProcessConfig") && j["ProcessConfig"].value("tty", false);
  }
  // The engine wants Tty in the start body to match the exec's (it decides the framing on it).
  nlohmann::json body = {{"Detach", false}, {"Tty", tty.value_or(false)}};
  UpgradedStream up = client_.upgrade("POST", path, {}, Body::json(body));
  up.set_idle_timeout(idle_timeout);
  StreamFormat f = tty.value_or(false) ? StreamFormat::raw : StreamFormat::multiplexed;
  if (auto h = format_from_head(up.headers(), client_.api_version(), up.status() == 101)) f = *h;
  return FrameReader(std::move(up), f,
                     "output of exec " + std::string(exec_id) + " (POST " + path + " on " + client_.host() + ")");
}

void Exec::start_detached(std::string_view exec_id, bool tty) {
  client_.request("POST", detail::exec_path(exec_id, "/start"), {}, Body::json({{"Detach", true}, {"Tty", tty}}));
}

ExecResult Exec::run(std::string_view container, ExecConfig config, const std::optional<std::string>& stdin_data) {
  if (stdin_data) config.attach_stdin = true;
  const std::string id = create(container, config);
  FrameReader out = start(id, config.tty);
  if (stdin_data) {
    // Small inputs fit the socket buffer; a big one would need a writer thread while we read, which is what
    // the Python layer does. Either way the half-close tells the process its input ended.
    if (!stdin_data->empty()) out.write(*stdin_data);
    out.close_write();
  }
  ExecResult r;
  auto [o, e] = out.read_all_split();
  r.out = std::move(o);
  r.err = std::move(e);
  r.exit_code = exit_code(id).value_or(-1);
  return r;
}

}  // namespace dind
