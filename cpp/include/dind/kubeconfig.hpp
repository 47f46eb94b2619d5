// Layer 1: where a Kubernetes API server is and how to talk to it, found the way kubectl finds it (client-go's
// loading rules), for the Kubernetes backend (dind/kube.hpp):
//   1. an explicit kubeconfig path (kubectl --kubeconfig): that one file, which must exist;
//   2. else KUBECONFIG, a ':'-separated list of files, merged: clusters, users and contexts by name, the first file
//      that defines a name winning (whole entries, never field by field); current-context from the first file that
//      sets it; files that do not exist are skipped. When KUBECONFIG is set, ~/.kube/config is not read;
//   3. else $HOME/.kube/config;
//   4. when none of those is a file: the pod's service account (in-cluster config), if KUBERNETES_SERVICE_HOST and
//      KUBERNETES_SERVICE_PORT are set and /var/run/secrets/kubernetes.io/serviceaccount/token exists (ca.crt and
//      namespace beside it). DIND_KUBE_SA_DIR names another directory in its place: a test hook.
// Relative paths in a kubeconfig (certificate-authority, client-certificate, client-key, tokenFile) are relative to
// the directory of the file that defined them. Every file named is read now.
//
//   dind::KubeTarget t = dind::load_kube_target();                   // what kubectl would use
//   dind::KubeTarget ci = dind::load_kube_target({"", "kind-ci"});  // another context of the same files
//
// Every failure throws dind::Error (TlsError for TLS material) naming what was looked for and the file(s); no
// message holds a token, a password or key material.
#pragma once

#include <string>

#include "dind/errors.hpp"
#include "dind/tls.hpp"

namespace dind {

// What one context resolves to.
struct KubeTarget {
  std::string server;  // the cluster's server as written, without a trailing slash: https://HOST:PORT, https://[v6]:P
  std::string context, cluster, user;  // their names, for messages
  std::string namespace_;              // the context's namespace, else "default" (in-cluster: the namespace file)
  // The CA from certificate-authority(-data), verified unless insecure-skip-tls-verify (then no CA is read); the
  // client pair from client-certificate(-data) and client-key(-data); server_name from tls-server-name. The -data
  // fields win over the file fields. The sources name the field, the user or cluster, and the file.
  TlsConfig tls;
  std::string token;               // the user's token, else the contents of its tokenFile (trimmed); never in a message
  std::string username, password;  // basic auth, when the user gives it
  std::string
      source;  // the kubeconfig file(s) the context, cluster and user came from, or "in-cluster service account"
};

struct KubeconfigRequest {
  std::string path;     // a kubeconfig file; empty: KUBECONFIG, ~/.kube/config, in-cluster (above)
  std::string context;  // empty: the current-context
};

// Loads the kubeconfig (or the in-cluster config) and resolves one context. Throws dind::Error when no kubeconfig is
// found (saying where it looked), a file cannot be read or is not valid YAML (file, line and column), the context
// does not exist (listing those that do) or none is chosen, its cluster or user is missing, a user authenticates by
// exec or auth-provider (not supported yet), or more than one way (token, basic auth); TlsError when a certificate
// or key file cannot be read, a -data field is not base64, or an https server would be verified against no CA
// (dind never uses the system's CA store).
KubeTarget load_kube_target(const KubeconfigRequest& request = {});

}  // namespace dind
