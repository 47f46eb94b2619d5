// Private to layer 6: what a dind container looks like (its create body, certs) and what must hold before it is
// made (the options, its image). Used by daemon_start.cpp, daemon_reach.cpp and job.cpp.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "dind/certs.hpp"
#include "dind/daemon.hpp"
#include "dind/reach.hpp"

namespace dind::detail {

// The daemon's port inside the container: "2376/tcp" with TLS, "2375/tcp" without.
std::string daemon_port(bool tls);

// Options that cannot all hold: refused before anything is created.
void check_options(const DaemonOptions& o);

// `image` is on the engine afterwards (pulled as `pull` says); returns its inspect. `role` names it in errors
// ("dind image", "job image").
// `auth` (optional) gives the pull's X-Registry-Auth; called only when a pull happens.
nlohmann::json ensure_image(Client& outer, const std::string& image, PullPolicy pull, const std::string& role,
                            const std::function<std::optional<nlohmann::json>()>& auth = {});

// The body of POST /containers/create. With `hold_for_certs` the image's entrypoint waits (a shell loop) until
// certs_tar(..., true) has been put into the container: the network reach learns the address the cert must name only
// once the container runs.
nlohmann::json create_body(const DaemonOptions& o, const ReachPlan& plan,
                           const std::map<std::string, std::string>& labels, const std::string& name,
                           const nlohmann::json& image, bool hold_for_certs, bool source_env_file = false);

// The server cert's names and addresses: the container's name and aliases, the host a published port is dialled at,
// `address` (the network reach's), and the extra SANs asked for.
CertOptions cert_options(const DaemonOptions& o, const std::string& name, const ReachPlan& plan,
                         const std::string& address = {});
// The tar of certs/server/{ca,cert,key}.pem for PUT /containers/{id}/archive at "/"; with `release`, the marker that
// lets a held entrypoint go comes last.
std::string certs_tar(const CertBundle& bundle, bool release);

// The host port the engine published for `port` on `ip` (or on all addresses), from an inspect; 0 if none.
std::uint16_t published_port(const nlohmann::json& inspect, const std::string& port, const std::string& ip);

// Why a start failed, in words that match the cause: a taken port, a missing network, a refused privileged run.
std::string start_failure_hint(const std::string& engine_message, const DaemonOptions& o, const ReachPlan& plan);

}  // namespace dind::detail
