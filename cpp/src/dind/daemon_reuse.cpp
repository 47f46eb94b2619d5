#include "daemon_reuse.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "core/digest.hpp"
#include "dind/archive.hpp"
#include "dind/containers.hpp"
#include "dind/private_dir.hpp"
#include "dind/tar.hpp"

namespace dind::detail {
namespace {

std::string file_text(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

// The client certs were made with the CA that the daemon's server cert names: the daemon's ca.pem (it holds only
// the public half) must be the one beside our key. A mismatch means the directory is another daemon's.
void check_ca(Client& outer, Daemon& d) {
  if (!d.tls()) return;
  ArchiveDownload got = Archive(outer).get(d.id(), "/certs/server/ca.pem");
  const std::string tar = got.body.read_all(1 << 20);
  const auto theirs = tar_read_file(pull_from_memory(tar), "ca.pem", 1 << 20, "the CA of " + d.name());
  const std::string ours = file_text(d.cert_path() + "/ca.pem");
  if (!theirs || *theirs != ours)
    throw TlsError("its CA (/certs/server/ca.pem) is not the one in " + d.cert_path() +
                   "/ca.pem: those client certs are another daemon's");
}

// Whether `dir` is in this user's reuse directory: a daemon whose certs lived there and are gone cannot be used by
// anyone, so it may be removed.
bool in_our_reuse_dir(const std::string& dir) {
  namespace fs = std::filesystem;
  try {
    return !dir.empty() && fs::path(dir).parent_path() == fs::path(user_state_dir("reuse"));
  } catch (const Error&) {
    return false;
  }
}

}  // namespace

std::string reuse_hash(const DaemonOptions& o, const ReachPlan& plan, const nlohmann::json& body) {
  const nlohmann::json shape = {{"body", body},
                                {"reach", to_string(plan.kind)},
                                {"dial_host", plan.dial_host},
                                {"network", plan.network},
                                {"tls_sans", o.tls_sans}};
  return sha256_hex(shape.dump(), "the options of reused daemon " + o.reuse).substr(0, 16);
}

std::optional<Daemon> find_reusable(Client& outer, const DaemonOptions& o, const std::string& hash, std::string& note) {
  Containers containers(outer);
  nlohmann::json found = containers.list(true, {{"label", {std::string(kLabelReuse) + "=" + o.reuse}}});
  std::sort(found.begin(), found.end(), [](const nlohmann::json& a, const nlohmann::json& b) {
    return a.value("Created", std::int64_t{0}) > b.value("Created", std::int64_t{0});
  });
  std::string notes;
  const auto say = [&](const std::string& n) { notes += (notes.empty() ? "" : "; ") + n; };
  for (const auto& c : found) {
    const nlohmann::json labels = c.value("Labels", nlohmann::json::object());
    if (labels.value(kLabelReuseHash, "") != hash) continue;  // started with other options: not this one
    const std::string id = c.value("Id", "");
    const std::string name = labels.value(kLabelName, id.substr(0, 12));
    const std::string state = c.value("State", "");
    if (state != "running") {
      say("daemon " + name + " was " + state + " (removed)");
      try {
        remove_daemon(outer, id);
      } catch (const Error&) {
        // another run removes it meanwhile
      }
      continue;
    }
    try {
      Daemon d = Daemon::attach(id, outer);
      check_ca(outer, d);
      ClientConfig probe = d.client().config();
      probe.timeout = probe.connect_timeout = std::chrono::milliseconds(3000);
      Client(std::move(probe)).ping();
      note = notes;
      return d;
    } catch (const Error& e) {
      const std::string dir = labels.value(kLabelDir, "");
      const bool unusable = dynamic_cast<const TlsError*>(&e) && in_our_reuse_dir(dir) &&
                            !std::filesystem::exists(labels.value(kLabelCertPath, dir) + "/key.pem");
      say("daemon " + name + " did not serve (" + e.what() + ")" + (unusable ? " (its certs are gone: removed)" : ""));
      if (unusable) {
        try {
          remove_daemon(outer, id);
        } catch (const Error&) {
        }
      }
    }
  }
  note = notes;
  return std::nullopt;
}

}  // namespace dind::detail
